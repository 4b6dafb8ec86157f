/**
 * TS 24.229 §5.1.1.3 (RFC 3680 §3): after registering, the UE subscribes to the reg event package of its
 * public user identity, so that it learns of network-initiated de-registration and re-authentication.
 */
import type { Observed, Requirement, RequirementContextView } from '../model.js';
import { met, notApplicable, notMet } from './outcome.js';

function isRegSubscribe(o: Observed): boolean {
  if (o.direction !== 'from-ue' || o.message.kind !== 'request' || o.message.method !== 'SUBSCRIBE') return false;
  const event = o.message.headers.get('Event');
  return event !== undefined && event.split(';')[0]!.trim().toLowerCase() === 'reg';
}

const firstRegistration = (ctx: RequirementContextView) => ctx.registrations()[0];

export const regEventSubscription: Requirement = {
  id: 'reg-event-subscription',
  clause: 'TS 24.229 §5.1.1.3, RFC 3680 §3',
  title: 'After registering, the UE subscribes to its reg event (SUBSCRIBE, Event: reg)',
  appliesWhen: 'the core accepted a registration of the UE',
  appliesTo: (ctx) => firstRegistration(ctx) !== undefined,
  evaluate(ctx) {
    const reg = firstRegistration(ctx)!;
    const sub = ctx.messages.find((o) => o.seq > reg.response.seq && isRegSubscribe(o));
    if (sub) {
      return met(`${ctx.describe(sub)} ${((sub.time - reg.response.time) / 1000).toFixed(3)} s after ${ctx.describe(reg.response)}; ${ctx.headerLine(sub, 'Event')}`);
    }
    const waited = ctx.now - reg.response.time;
    if (waited < ctx.options.graceMs) {
      return notApplicable(`registered ${waited} ms ago (${ctx.describe(reg.response)}); a SUBSCRIBE may still come`);
    }
    return notMet(
      `no SUBSCRIBE with Event: reg in the ${(waited / 1000).toFixed(1)} s after ${ctx.describe(reg.response)}`,
      `After the 200 (OK) to REGISTER, send SUBSCRIBE ${ctx.impu ?? '<IMPU>'} with Event: reg, Expires: 600000, along the Service-Route.`,
    );
  },
};
