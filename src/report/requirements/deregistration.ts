/**
 * TS 24.229 §5.1.1.6.1 and RFC 3261 §10.2.2: a UE de-registers with a REGISTER whose Expires (or the contact's
 * expires parameter) is 0, on the Call-ID of its registration, naming the contact it registered; "Contact: *"
 * requires Expires: 0 exactly.
 */
import { callId } from '../../sip/headers/call-id.js';
import { expiresOf } from '../../sip/headers/p-headers.js';
import type { Requirement } from '../model.js';
import { contactsOf, removesBindings, sameUri } from '../context.js';
import { met, notMet } from './outcome.js';

export const deregistration: Requirement = {
  id: 'deregistration',
  clause: 'TS 24.229 §5.1.1.6.1, RFC 3261 §10.2.2',
  title: 'De-registration is a REGISTER with expiry 0 on the registration\'s Call-ID and contact',
  appliesWhen: 'the UE sent a REGISTER removing its binding (Expires 0 or Contact *)',
  appliesTo: (ctx) => ctx.registers().some(removesBindings),
  evaluate(ctx) {
    const advice = 'De-register with the Call-ID of the registration, the registered Contact and Expires: 0 (TS 24.229 §5.1.1.6.1).';
    const deregs = ctx.registers().filter(removesBindings);
    for (const d of deregs) {
      const reg = ctx.registrations().filter((r) => r.response.seq < d.seq).pop();
      const contacts = contactsOf(d);
      if (contacts === '*') {
        let e: number | undefined;
        try {
          e = expiresOf(d.message.headers);
        } catch {
          e = undefined;
        }
        if (e !== 0) return notMet(`${ctx.describe(d)}: Contact: * with ${ctx.headerLine(d, 'Expires')} (must be Expires: 0)`, advice);
      }
      if (!reg) continue;
      try {
        if (callId(d.message) !== callId(reg.request.message)) {
          return notMet(`${ctx.describe(d)}: Call-ID "${callId(d.message)}" is not the registration's "${callId(reg.request.message)}" (${ctx.describe(reg.request)})`, advice);
        }
      } catch (e) {
        return notMet(`${ctx.describe(d)}: ${(e as Error).message}`, advice);
      }
      const registered = contactsOf(reg.request);
      if (Array.isArray(contacts) && Array.isArray(registered) && !contacts.some((c) => registered.some((r) => sameUri(r.uri, c.uri)))) {
        return notMet(`${ctx.describe(d)}: ${ctx.headerLine(d, 'Contact')} names no contact of ${ctx.describe(reg.request)}`, advice);
      }
    }
    const last = deregs[deregs.length - 1]!;
    return met(`${ctx.describe(last)}: ${ctx.headerLine(last, 'Contact')}; ${ctx.headerLine(last, 'Expires')}`);
  },
};
