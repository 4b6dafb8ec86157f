/**
 * RFC 3325 §9.1 and TS 24.229 §5.1.2A.1.1: P-Asserted-Identity is written by the trust domain (the P-CSCF,
 * TS 24.229 §5.2.6.3.1), never by a UE; a UE states the identity it wants in P-Preferred-Identity.
 */
import type { Requirement } from '../model.js';
import { met, notMet } from './outcome.js';

export const noAssertedIdentity: Requirement = {
  id: 'no-asserted-identity',
  clause: 'RFC 3325 §9.1, TS 24.229 §5.1.2A.1.1',
  title: 'The UE sends no P-Asserted-Identity (it uses P-Preferred-Identity)',
  appliesWhen: 'the UE sent a request',
  appliesTo: (ctx) => ctx.messages.some((o) => o.direction === 'from-ue' && o.message.kind === 'request'),
  evaluate(ctx) {
    const requests = ctx.messages.filter((o) => o.direction === 'from-ue' && o.message.kind === 'request');
    const bad = requests.find((o) => o.message.headers.has('P-Asserted-Identity'));
    if (bad) {
      return notMet(
        `${ctx.describe(bad)}: ${ctx.headerLine(bad, 'P-Asserted-Identity')}`,
        'Remove P-Asserted-Identity; put the wanted identity in P-Preferred-Identity and let the P-CSCF assert it.',
      );
    }
    return met(`${requests.length} request(s), none with P-Asserted-Identity`);
  },
};
