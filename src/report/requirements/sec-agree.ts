/**
 * TS 24.229 §5.1.1.2.1 and TS 33.203 §7.1, §7.2 (RFC 3329 §2.3.1): a UE using IMS AKA offers its IPsec
 * parameters in Security-Client (mechanism ipsec-3gpp with alg, spi-c, spi-s, port-c, port-s) and asks for
 * sec-agree in Require and Proxy-Require, so that the P-CSCF sets up the security associations that protect
 * everything after the challenge.
 */
import { ipsecParams, parseSecurityMechanisms } from '../../sip/headers/security.js';
import type { Requirement } from '../model.js';
import { met, notMet } from './outcome.js';

function hasTag(values: string[], tag: string): boolean {
  return values.some((v) => v.trim().toLowerCase() === tag);
}

export const secAgree: Requirement = {
  id: 'sec-agree',
  clause: 'TS 24.229 §5.1.1.2.1, TS 33.203 §7, RFC 3329 §2.3.1',
  title: 'With IMS AKA, the initial REGISTER offers Security-Client: ipsec-3gpp and requires sec-agree',
  appliesWhen: 'the UE registered with IMS AKA (AKAv1-MD5 or AKAv2-MD5)',
  appliesTo: (ctx) => ctx.registers().length > 0 && ctx.usesAka(),
  evaluate(ctx) {
    const first = ctx.registers()[0]!;
    const h = first.message.headers;
    const where = ctx.describe(first);
    const problems: string[] = [];
    const values = h.getAll('Security-Client');
    if (values.length === 0) problems.push('no Security-Client header');
    else {
      try {
        const ipsec = parseSecurityMechanisms(values).filter((m) => m.mechanism.toLowerCase() === 'ipsec-3gpp');
        if (ipsec.length === 0) problems.push(`Security-Client offers no ipsec-3gpp (${ctx.headerLine(first, 'Security-Client')})`);
        for (const m of ipsec) {
          const p = ipsecParams(m);
          const lacking = (['alg', 'spiC', 'spiS', 'portC', 'portS'] as const).filter((k) => p[k] === undefined);
          if (lacking.length) problems.push(`ipsec-3gpp without ${lacking.map((k) => k.replace(/([CS])$/, (x) => `-${x.toLowerCase()}`)).join(', ')}`);
        }
      } catch (e) {
        problems.push(`unreadable Security-Client (${(e as Error).message})`);
      }
    }
    if (!hasTag(h.list('Require'), 'sec-agree')) problems.push(`no Require: sec-agree (${ctx.headerLine(first, 'Require')})`);
    if (!hasTag(h.list('Proxy-Require'), 'sec-agree')) problems.push(`no Proxy-Require: sec-agree (${ctx.headerLine(first, 'Proxy-Require')})`);
    if (problems.length) {
      return notMet(
        `${where}: ${problems.join('; ')}`,
        'Send Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;spi-c=…;spi-s=…;port-c=…;port-s=… with Require: sec-agree and Proxy-Require: sec-agree in the initial REGISTER.',
      );
    }
    return met(`${where}: ${ctx.headerLine(first, 'Security-Client')}; Require and Proxy-Require carry sec-agree`);
  },
};
