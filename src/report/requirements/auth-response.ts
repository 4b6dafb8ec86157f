/**
 * TS 24.229 §5.1.1.5.1 with RFC 3310 §3.2 and TS 33.203 §6.1.1 (AKA), RFC 3261 §22.2 (digest): the UE answers
 * the challenge with a response the S-CSCF accepts. When the core rejected it, the AKA doctor replays the UE's
 * computation with the subscriber's K/OP/AMF to name the configuration mistake.
 */
import { diagnose } from '../../aka/doctor.js';
import { parseChallenge, parseCredentials, type Credentials } from '../../sip/headers/auth.js';
import type { Observed, Requirement, RequirementContextView } from '../model.js';
import { met, notApplicable, notMet } from './outcome.js';

function credentials(o: Observed): Credentials | undefined {
  const v = o.message.headers.get('Authorization');
  if (v === undefined) return undefined;
  try {
    return parseCredentials(v);
  } catch {
    return undefined;
  }
}

/** A REGISTER that answers a challenge: credentials naming a nonce. */
function answers(ctx: RequirementContextView): Array<{ request: Observed; cred: Credentials }> {
  const out: Array<{ request: Observed; cred: Credentials }> = [];
  for (const r of ctx.registers()) {
    const cred = credentials(r);
    if (cred && cred.nonce) out.push({ request: r, cred });
  }
  return out;
}

function doctorSays(ctx: RequirementContextView, cred: Credentials): string {
  const lookup = ctx.options.subscriberOf;
  if (!/^akav/i.test(cred.algorithm ?? '') || !lookup || !cred.username) return '';
  let subscriber;
  try {
    subscriber = lookup(cred.username);
  } catch {
    subscriber = undefined;
  }
  if (!subscriber) return ` (no subscriber record for ${cred.username} to run the AKA doctor with)`;
  const d = diagnose({
    nonce: cred.nonce!,
    authorization: {
      response: cred.response ?? '',
      username: cred.username,
      realm: cred.realm ?? '',
      uri: cred.uri ?? '',
      method: 'REGISTER',
      ...(cred.nc !== undefined ? { nc: cred.nc } : {}),
      ...(cred.cnonce !== undefined ? { cnonce: cred.cnonce } : {}),
      ...(cred.qop !== undefined ? { qop: cred.qop } : {}),
      ...(cred.algorithm !== undefined ? { algorithm: cred.algorithm } : {}),
      ...(cred.auts !== undefined ? { auts: cred.auts } : {}),
    },
    subscriber,
  });
  return ` AKA doctor: ${d.verdict} — ${d.explanation}`;
}

export const authResponse: Requirement = {
  id: 'auth-response',
  clause: 'TS 24.229 §5.1.1.5.1, RFC 3310 §3.2, TS 33.203 §6.1.1',
  title: 'The answer to the authentication challenge is accepted',
  appliesWhen: 'the UE answered a challenge (a REGISTER with a nonce in Authorization) and the core replied',
  appliesTo: (ctx) => answers(ctx).some((a) => ctx.finalResponseTo(a.request) !== undefined),
  evaluate(ctx) {
    let accepted = 0;
    for (const { request, cred } of answers(ctx)) {
      const response = ctx.finalResponseTo(request);
      if (!response || response.message.kind !== 'response') continue;
      const status = response.message.status;
      // AUTS: the UE found the SQN out of range and asks to resynchronise (RFC 3310 §3.4) — correct behaviour.
      if (cred.auts) continue;
      let stale = false;
      if (status === 401) {
        const www = response.message.headers.get('WWW-Authenticate');
        try {
          stale = www !== undefined && parseChallenge(www).stale === true;
        } catch {
          stale = false;
        }
      }
      if ((status === 401 && !stale) || status === 403) {
        const what = cred.response ? `response="${cred.response}"` : 'an empty response (the UE rejected the network: AUTN failed its MAC check)';
        const notes = ctx.coreNotes.length ? ` Core: ${ctx.coreNotes.join(' | ')}.` : '';
        return notMet(
          `${ctx.describe(request)} with ${cred.algorithm ?? 'MD5'} ${what} for nonce "${cred.nonce}" was answered ${response.firstLine}.${notes}`,
          `Check the UE's credentials (K, OP or OPc, AMF; or the digest password) against the HSS: \`imslab aka doctor\`.${doctorSays(ctx, cred)}`,
        );
      }
      if (status >= 200 && status < 300) accepted++;
    }
    if (accepted === 0) return notApplicable('no answer reached a final verdict other than a resynchronisation (auts, RFC 3310 §3.4)');
    return met(`${accepted} challenge answer(s) accepted; the core replied 2xx`);
  },
};
