/**
 * TS 24.229 §5.1.1.5.1 with Table 7.7.1 (reg-await-auth): the S-CSCF keeps a challenge only for a limited
 * time, so the UE answers a 401 with the next REGISTER, carrying that nonce, before it lapses.
 */
import { parseCredentials } from '../../sip/headers/auth.js';
import type { ChallengeSeen, Observed, Requirement, RequirementContextView } from '../model.js';
import { met, notApplicable, notMet } from './outcome.js';

function nonceOf(o: Observed): string | undefined {
  const v = o.message.headers.get('Authorization');
  if (v === undefined) return undefined;
  try {
    return parseCredentials(v).nonce;
  } catch {
    return undefined;
  }
}

function answerTo(ctx: RequirementContextView, c: ChallengeSeen): Observed | undefined {
  return ctx.registers().find((r) => r.seq > c.response.seq && (c.nonce === undefined || nonceOf(r) === c.nonce));
}

export const challengeAnsweredInTime: Requirement = {
  id: 'challenge-answered-in-time',
  clause: 'TS 24.229 §5.1.1.5.1, TS 24.229 Table 7.7.1',
  title: 'A 401 challenge is answered within its lifetime (reg-await-auth)',
  appliesWhen: 'the P-CSCF passed a 401 to the UE',
  appliesTo: (ctx) => ctx.challenges().length > 0,
  evaluate(ctx) {
    const life = ctx.options.challengeLifetimeMs;
    const advice = `Answer a 401 with the next REGISTER at once (within ${life / 1000} s), using its nonce; a UE that cannot compute the response (wrong K/OP) shows this too.`;
    let answered = 0;
    const delays: number[] = [];
    for (const c of ctx.challenges()) {
      const a = answerTo(ctx, c);
      if (!a) {
        if (ctx.now - c.response.time > life) {
          return notMet(`${ctx.describe(c.response)} to ${ctx.describe(c.request)} was never answered (${((ctx.now - c.response.time) / 1000).toFixed(1)} s since)`, advice);
        }
        continue;
      }
      const delay = a.time - c.response.time;
      if (delay > life) return notMet(`${ctx.describe(a)} answered ${ctx.describe(c.response)} after ${(delay / 1000).toFixed(3)} s, beyond ${life / 1000} s`, advice);
      answered++;
      delays.push(delay);
    }
    if (answered === 0) return notApplicable(`challenge pending since ${ctx.describe(ctx.challenges()[0]!.response)}`);
    return met(`${answered} challenge(s) answered after ${delays.join(', ')} ms`);
  },
};
