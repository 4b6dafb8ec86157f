/**
 * RFC 3329 §2.3.1 and TS 24.229 §5.1.1.5.1: after a 401 carrying Security-Server, the UE's REGISTERs carry
 * Security-Verify with exactly the Security-Server content it received, so the server can detect a bidding-down
 * attack on the mechanism list.
 */
import { parseSecurityMechanisms, type SecurityMechanism } from '../../sip/headers/security.js';
import type { Requirement } from '../model.js';
import { clip } from '../context.js';
import { met, notMet } from './outcome.js';

/** Mechanisms compared by name and parameters (names case-insensitive, order of parameters irrelevant). */
function sameMechanisms(a: SecurityMechanism[], b: SecurityMechanism[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((m, i) => {
    const n = b[i]!;
    if (m.mechanism.toLowerCase() !== n.mechanism.toLowerCase() || m.params.size !== n.params.size) return false;
    for (const [k, v] of m.params) if (!n.params.has(k) || (n.params.get(k) ?? '').toLowerCase() !== (v ?? '').toLowerCase()) return false;
    return true;
  });
}

export const securityVerify: Requirement = {
  id: 'security-verify',
  clause: 'RFC 3329 §2.3.1, TS 24.229 §5.1.1.5.1',
  title: 'REGISTERs after the challenge carry Security-Verify equal to the Security-Server received',
  appliesWhen: 'the P-CSCF sent a 401 with Security-Server and the UE sent another REGISTER',
  appliesTo: (ctx) => {
    const offer = ctx.challenges().find((c) => c.securityServer.length > 0);
    return offer !== undefined && ctx.registers().some((r) => r.seq > offer.response.seq);
  },
  evaluate(ctx) {
    const offers = ctx.challenges().filter((c) => c.securityServer.length > 0);
    let checked = 0;
    for (const r of ctx.registers()) {
      const offer = offers.filter((c) => c.response.seq < r.seq).pop();
      if (!offer) continue;
      checked++;
      const advice = 'Copy the Security-Server header of the 401 into Security-Verify of every following REGISTER, unchanged.';
      const verify = r.message.headers.getAll('Security-Verify');
      const server = clip(offer.securityServer.join(', '));
      if (verify.length === 0) return notMet(`${ctx.describe(r)}: no Security-Verify header, after Security-Server: ${server}`, advice);
      let equal: boolean;
      try {
        equal = sameMechanisms(parseSecurityMechanisms(verify), parseSecurityMechanisms(offer.securityServer));
      } catch (e) {
        return notMet(`${ctx.describe(r)}: unreadable Security-Verify (${(e as Error).message})`, advice);
      }
      if (!equal) return notMet(`${ctx.describe(r)}: ${ctx.headerLine(r, 'Security-Verify')} differs from Security-Server: ${server}`, advice);
    }
    return met(`${checked} REGISTER(s) after the challenge echoed Security-Server: ${clip(offers[0]!.securityServer.join(', '))}`);
  },
};
