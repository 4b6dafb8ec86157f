import type { SipRequest } from '../message.js';
import { reasonPhrase } from '../transaction/response.js';

/** Why a request cannot be proxied (§16.3), as the response to send back. */
export interface ValidationFailure {
  status: number;
  reason: string;
  /** Headers the response must carry (Unsupported for 420, §16.3 step 5). */
  headers: Array<[string, string]>;
  /** Why, in plain words, for the trace. */
  why: string;
}

/** Request-URI schemes a proxy in an IMS core handles (§16.3 step 2; tel per TS 24.229 §5.4.3.2). */
const SCHEMES = new Set(['sip', 'sips', 'tel']);

/**
 * RFC 3261 §16.3 request validation, steps 2, 3 and 5 (step 1, syntax, is the codec's; step 4, loops, needs
 * the branch computation and lives in loop.ts; step 6, Proxy-Authorization, belongs to the function logic).
 */
export function validateRequest(request: SipRequest, supported: ReadonlySet<string>): ValidationFailure | undefined {
  // Step 2: URI scheme.
  const colon = request.uri.indexOf(':');
  const scheme = colon > 0 ? request.uri.slice(0, colon).toLowerCase() : '';
  if (!SCHEMES.has(scheme)) return fail(416, `the Request-URI scheme "${scheme}" is not one this proxy routes (§16.3 step 2)`);

  // Step 3: Max-Forwards. Absent is fine (the proxy adds 70, §16.6 step 3); 0 means no further hop.
  const mf = request.headers.get('Max-Forwards');
  if (mf !== undefined) {
    const n = parseMaxForwards(mf);
    if (n === undefined) return { status: 400, reason: 'Bad Max-Forwards', headers: [], why: `Max-Forwards "${mf}" is not a number (§20.22)` };
    if (n === 0) return fail(483, 'Max-Forwards is 0: the request may not take another hop (§16.3 step 3)');
  }

  // Step 5: every option tag in Proxy-Require must be understood, else 420 listing the unknown ones.
  const required = request.headers.list('Proxy-Require');
  const unknown = required.filter((t) => !supported.has(t.toLowerCase()));
  if (unknown.length > 0) {
    return {
      status: 420,
      reason: reasonPhrase(420),
      headers: [['Unsupported', unknown.join(', ')]],
      why: `Proxy-Require names option tags this proxy does not support: ${unknown.join(', ')} (§16.3 step 5)`,
    };
  }
  return undefined;
}

/** Max-Forwards = 1*DIGIT (§20.22); undefined when not a number. */
export function parseMaxForwards(value: string): number | undefined {
  const v = value.trim();
  if (v.length === 0 || v.length > 10) return undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(v);
}

function fail(status: number, why: string): ValidationFailure {
  return { status, reason: reasonPhrase(status), headers: [], why };
}
