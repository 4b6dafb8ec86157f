/**
 * Recomputes every AKAv1-MD5 answer SIPp sent (from its -trace_msg log) with imslab's own Milenage and
 * digest code, to tell SIPp's mistakes from the core's: SIPp 3.6.1 keeps RES in a C string, so a RES with a
 * zero octet is cut there and the digest it sends is computed over the shorter password. Every answer must be
 * either right (RFC 3310 §3.3: the password is RES itself) or exactly that truncation.
 */
import { computeOpc, Milenage } from '../../../src/aka/milenage.js';
import { parseAuthHeader } from '../../../src/sip/auth/credentials.js';
import { computeDigestResponse, decodeAkaNonce, type Qop } from '../../../src/sip/auth/digest.js';
import type { SippUser } from '../../../interop/sipp/make-users.js';

export interface AkaAudit {
  /** Answers whose response is right for the full RES. */
  correct: number;
  /** Answers computed over RES cut at its first zero octet (SIPp's quirk): the core must refuse them. */
  cutAtZero: number;
  /** Answers that are neither: a bug on one side or the other, with the line that shows it. */
  unexplained: string[];
}

export function auditAkaAnswers(messageLog: string, users: readonly SippUser[]): AkaAudit {
  const byImpi = new Map(users.map((u) => [u.impi, u]));
  const keys = new Map<string, Milenage>();
  const audit: AkaAudit = { correct: 0, cutAtZero: 0, unexplained: [] };
  const seen = new Set<string>();
  for (const line of messageLog.split(/\r?\n/)) {
    if (!line.startsWith('Authorization:') || !line.includes('algorithm=AKAv1-MD5')) continue;
    const p = parseAuthHeader(line.slice('Authorization:'.length)).params;
    const response = p.get('response');
    const impi = p.get('username') ?? '';
    if (!response) continue; // the initial REGISTER's empty credentials
    // One verdict per challenge: whether RES has a zero octet depends on RAND alone. SIPp resends its answer on
    // every retransmitted 401, with a fresh cnonce but the same branch, and the core absorbs those as
    // retransmissions of the first (RFC 3261 §17.2.3).
    const answer = `${impi} ${p.get('nonce')}`;
    if (seen.has(answer)) continue;
    seen.add(answer);
    const user = byImpi.get(impi);
    if (!user?.k || !user.op) {
      audit.unexplained.push(`unknown user ${impi}: ${line}`);
      continue;
    }
    let m = keys.get(impi);
    if (!m) {
      const k = Buffer.from(user.k, 'latin1');
      m = new Milenage(k, computeOpc(k, Buffer.from(user.op, 'latin1')));
      keys.set(impi, m);
    }
    const nonce = p.get('nonce') ?? '';
    const { res } = m.f2345(decodeAkaNonce(nonce).rand);
    const qop = p.get('qop') as Qop | undefined;
    const digest = (password: Buffer) =>
      computeDigestResponse({
        username: impi,
        realm: p.get('realm') ?? '',
        password,
        method: 'REGISTER',
        uri: p.get('uri') ?? '',
        nonce,
        ...(qop ? { qop, nc: p.get('nc') ?? '', cnonce: p.get('cnonce') ?? '', body: '' } : {}),
        algorithm: 'AKAv1-MD5',
      });
    const zero = res.indexOf(0);
    if (digest(res) === response) audit.correct++;
    else if (zero >= 0 && digest(res.subarray(0, zero)) === response) audit.cutAtZero++;
    else audit.unexplained.push(line);
  }
  return audit;
}
