/**
 * TS 24.229 §5.1.1.2.1 with RFC 5626 §4.1 and RFC 5627 §4.1: the Contact of a REGISTER carries the UE's
 * instance ID in "+sip.instance" (needed for GRUU and for several registrations of one device), and a UE
 * doing SIP outbound adds "reg-id" to name the flow.
 */
import { parseOptionTags } from '../../sip/headers/p-headers.js';
import type { Requirement } from '../model.js';
import { contactsOf, removesBindings } from '../context.js';
import { met, notMet } from './outcome.js';

export const contactInstance: Requirement = {
  id: 'contact-instance',
  clause: 'TS 24.229 §5.1.1.2.1, RFC 5626 §4.1',
  title: 'Contact of REGISTER carries +sip.instance (and reg-id when using outbound)',
  appliesWhen: 'the UE sent a REGISTER that adds or refreshes a binding',
  appliesTo: (ctx) => ctx.registers().some((r) => !removesBindings(r) && Array.isArray(contactsOf(r))),
  evaluate(ctx) {
    const adding = ctx.registers().filter((r) => !removesBindings(r));
    for (const r of adding) {
      const contacts = contactsOf(r);
      if (contacts instanceof Error) return notMet(`${ctx.describe(r)}: unreadable Contact (${contacts.message})`, 'Send a Contact of RFC 3261 §20.10 syntax.');
      if (!Array.isArray(contacts)) continue;
      let outbound = false;
      try {
        outbound = parseOptionTags(r.message.headers, 'Supported').some((t) => t.toLowerCase() === 'outbound');
      } catch {
        outbound = false;
      }
      for (const c of contacts) {
        const line = ctx.headerLine(r, 'Contact');
        if (c.instance === undefined) {
          return notMet(
            `${ctx.describe(r)}: ${line} — no +sip.instance`,
            'Add ;+sip.instance="<urn:gsma:imei:…>" (or <urn:uuid:…>) to the Contact of every REGISTER.',
          );
        }
        if ((outbound || c.params.has('ob')) && c.regId === undefined) {
          return notMet(`${ctx.describe(r)}: ${line} — outbound in use but no reg-id`, 'Add ;reg-id=1 next to +sip.instance when registering with outbound (RFC 5626 §4.2).');
        }
      }
    }
    return met(`${adding.length} REGISTER(s), each Contact with +sip.instance; first: ${ctx.headerLine(adding[0]!, 'Contact')}`);
  },
};
