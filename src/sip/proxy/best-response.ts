import type { SipResponse } from '../message.js';

/** 4xx responses that tell the client how to retry, preferred when 4xx is the chosen class (§16.7 step 6). */
const RESUBMISSION_HINTS = [401, 407, 415, 420, 484];

/**
 * Chooses the response to send upstream once every branch has a final response (RFC 3261 §16.7 step 6) and
 * prepares it (step 7):
 * - a 6xx if there is one, else the lowest class; within 4xx, 401/407/415/420/484 first; else the first received;
 * - a 503 becomes 500, since the upstream client would otherwise think this proxy is unavailable;
 * - for a 401/407, the WWW-Authenticate and Proxy-Authenticate values of every 401 and 407 received are
 *   collected into it, so the client can answer every challenge at once.
 * Returns a new response; the stored ones are not changed. Undefined when there is no response at all.
 */
export function chooseBestResponse(responses: readonly SipResponse[]): SipResponse | undefined {
  if (responses.length === 0) return undefined;
  let best: SipResponse | undefined = responses.find((r) => r.status >= 600);
  if (!best) {
    const lowestClass = Math.min(...responses.map((r) => Math.floor(r.status / 100)));
    const inClass = responses.filter((r) => Math.floor(r.status / 100) === lowestClass);
    best = (lowestClass === 4 ? inClass.find((r) => RESUBMISSION_HINTS.includes(r.status)) : undefined) ?? inClass[0]!;
  }
  const out = best.clone();
  if (out.status === 503) {
    out.status = 500;
    out.reason = 'Server Internal Error';
  }
  if (out.status === 401 || out.status === 407) {
    for (const r of responses) {
      if (r === best || (r.status !== 401 && r.status !== 407)) continue;
      for (const name of ['WWW-Authenticate', 'Proxy-Authenticate']) {
        const have = new Set(out.headers.getAll(name));
        for (const v of r.headers.getAll(name)) if (!have.has(v)) out.headers.append(name, v);
      }
    }
  }
  return out;
}
