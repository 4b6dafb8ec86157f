/**
 * TS 24.229 §5.1.1.2.1 and RFC 3261 §10.2.1: a REGISTER that binds carries a Contact and asks for an expiry,
 * either in Expires or in the contact's expires parameter (TS 24.229 asks for 600 000 s and lets the registrar
 * shorten it).
 */
import { expiresOf } from '../../sip/headers/p-headers.js';
import type { Requirement } from '../model.js';
import { contactsOf } from '../context.js';
import { met, notMet } from './outcome.js';

export const contactExpires: Requirement = {
  id: 'contact-expires',
  clause: 'TS 24.229 §5.1.1.2.1, RFC 3261 §10.2.1',
  title: 'REGISTER carries a Contact and an expiry (Expires header or expires parameter)',
  appliesWhen: 'the UE sent a REGISTER',
  appliesTo: (ctx) => ctx.registers().length > 0,
  evaluate(ctx) {
    const advice = 'Send a Contact with the UE address and Expires: 600000 (or ;expires=600000 on the Contact).';
    for (const r of ctx.registers()) {
      const contacts = contactsOf(r);
      // A query (no Contact) is legal SIP but binds nothing; only the first REGISTER must bind.
      if (Array.isArray(contacts) && contacts.length === 0) {
        if (r === ctx.registers()[0]) return notMet(`${ctx.describe(r)}: no Contact header`, advice);
        continue;
      }
      if (contacts instanceof Error) return notMet(`${ctx.describe(r)}: unreadable Contact (${contacts.message})`, advice);
      let header: number | undefined;
      try {
        header = expiresOf(r.message.headers);
      } catch (e) {
        return notMet(`${ctx.describe(r)}: ${ctx.headerLine(r, 'Expires')} — ${(e as Error).message}`, advice);
      }
      if (contacts === '*') continue;
      if (header === undefined && contacts.some((c) => c.expires === undefined)) {
        return notMet(`${ctx.describe(r)}: no Expires header and ${ctx.headerLine(r, 'Contact')} has no expires parameter`, advice);
      }
    }
    const first = ctx.registers()[0]!;
    return met(`${ctx.describe(first)}: ${ctx.headerLine(first, 'Contact')}; ${ctx.headerLine(first, 'Expires')}`);
  },
};
