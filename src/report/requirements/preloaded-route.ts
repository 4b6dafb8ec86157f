/**
 * TS 24.229 §5.1.2A.1.1 and RFC 3608 §6: a request the UE starts outside a dialog carries a preloaded Route of
 * the P-CSCF's URI followed by the Service-Route of the last 200 (OK) to REGISTER, so it reaches the S-CSCF
 * that serves the user (originating services, TS 24.229 §5.4.3.2).
 */
import { parseNameAddr } from '../../sip/headers/name-addr.js';
import type { Observed, Registration, Requirement, RequirementContextView } from '../model.js';
import { clip, sameUri, uriList } from '../context.js';
import { met, notMet } from './outcome.js';

function outOfDialog(o: Observed): boolean {
  if (o.direction !== 'from-ue' || o.message.kind !== 'request') return false;
  const m = o.message.method;
  if (m === 'REGISTER' || m === 'ACK' || m === 'CANCEL') return false;
  const to = o.message.headers.get('To');
  if (to === undefined) return false;
  try {
    return parseNameAddr(to).tag === undefined;
  } catch {
    return false;
  }
}

/** Requests out of a dialog, each with the registration in force when it was sent. */
function checked(ctx: RequirementContextView): Array<{ request: Observed; reg: Registration }> {
  const regs = ctx.registrations().filter((r) => r.serviceRoute.length > 0);
  const out: Array<{ request: Observed; reg: Registration }> = [];
  for (const o of ctx.messages) {
    if (!outOfDialog(o)) continue;
    const reg = regs.filter((r) => r.response.seq < o.seq).pop();
    if (reg) out.push({ request: o, reg });
  }
  return out;
}

/** Route = [P-CSCF URI] Service-Route… (any further entries after it are the UE's own business). */
function followsServiceRoute(route: string[], serviceRoute: string[]): boolean {
  for (const skip of [0, 1]) {
    if (route.length < skip + serviceRoute.length) continue;
    if (serviceRoute.every((s, i) => sameUri(route[skip + i]!, s))) return true;
  }
  return false;
}

export const preloadedRoute: Requirement = {
  id: 'preloaded-route',
  clause: 'TS 24.229 §5.1.2A.1.1, RFC 3608 §6',
  title: 'Requests outside a dialog carry the Service-Route as preloaded Route',
  appliesWhen: 'the UE started a request outside a dialog after a 200 (OK) to REGISTER with Service-Route',
  appliesTo: (ctx) => checked(ctx).length > 0,
  evaluate(ctx) {
    const list = checked(ctx);
    for (const { request, reg } of list) {
      const route = uriList(request, 'Route');
      if (!followsServiceRoute(route, reg.serviceRoute)) {
        return notMet(
          `${ctx.describe(request)}: ${ctx.headerLine(request, 'Route')}; expected Service-Route ${clip(reg.serviceRoute.map((u) => `<${u}>`).join(', '))} from ${ctx.describe(reg.response)}`,
          'Store the Service-Route of the 200 (OK) to REGISTER and send every request outside a dialog with Route: <P-CSCF URI>, <Service-Route entries…>.',
        );
      }
    }
    return met(`${list.length} request(s) outside a dialog, each with the Service-Route ${clip(list[0]!.reg.serviceRoute.join(', '))} preloaded`);
  },
};
