/**
 * TS 24.229 §5.1.2A.1.1 and RFC 3325 §9.2: a P-Preferred-Identity names one of the user's registered public
 * identities, i.e. one of the P-Associated-URI of the 200 (OK) to REGISTER; the P-CSCF replaces any other by a
 * default identity (TS 24.229 §5.2.6.3.1), so the UE does not get the identity it wanted.
 */
import { parseNameAddr } from '../../sip/headers/name-addr.js';
import type { Observed, Registration, Requirement, RequirementContextView } from '../model.js';
import { clip, sameUri } from '../context.js';
import { met, notMet } from './outcome.js';

function withPreferred(ctx: RequirementContextView): Array<{ request: Observed; reg: Registration }> {
  const regs = ctx.registrations().filter((r) => r.associatedUris.length > 0);
  const out: Array<{ request: Observed; reg: Registration }> = [];
  for (const o of ctx.messages) {
    if (o.direction !== 'from-ue' || o.message.kind !== 'request' || !o.message.headers.has('P-Preferred-Identity')) continue;
    const reg = regs.filter((r) => r.response.seq < o.seq).pop();
    if (reg) out.push({ request: o, reg });
  }
  return out;
}

export const preferredIdentity: Requirement = {
  id: 'preferred-identity',
  clause: 'TS 24.229 §5.1.2A.1.1, RFC 3325 §9.2',
  title: 'P-Preferred-Identity is one of the P-Associated-URI received at registration',
  appliesWhen: 'the UE sent P-Preferred-Identity after a 200 (OK) to REGISTER with P-Associated-URI',
  appliesTo: (ctx) => withPreferred(ctx).length > 0,
  evaluate(ctx) {
    const list = withPreferred(ctx);
    for (const { request, reg } of list) {
      for (const v of request.message.headers.list('P-Preferred-Identity')) {
        let uri: string;
        try {
          uri = parseNameAddr(v).uri;
        } catch (e) {
          return notMet(`${ctx.describe(request)}: unreadable P-Preferred-Identity (${(e as Error).message})`, 'Send P-Preferred-Identity as <URI>.');
        }
        if (!reg.associatedUris.some((a) => sameUri(a, uri))) {
          return notMet(
            `${ctx.describe(request)}: P-Preferred-Identity <${clip(uri)}> is not among P-Associated-URI ${clip(reg.associatedUris.map((u) => `<${u}>`).join(', '))}`,
            'Use only a public identity listed in P-Associated-URI of the 200 (OK) to REGISTER, or omit P-Preferred-Identity.',
          );
        }
      }
    }
    return met(`${list.length} request(s) with P-Preferred-Identity, each within P-Associated-URI`);
  },
};
