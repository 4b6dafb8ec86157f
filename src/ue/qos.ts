/**
 * The QoS precondition state a simulated UE reports once its resources are "reserved" (RFC 3312 §5-6, TS 24.229
 * §6.1.2). The lab has no bearer to set up, so reservation is done the moment it is asked for; what remains is
 * the SDP exchange that says so, as a VoLTE handset does it:
 *
 *   INVITE  (offer:  curr local none,     curr remote none,     des mandatory local sendrecv …)
 *   183     (answer: curr local none,     curr remote none,     … conf remote sendrecv)        RFC 3262
 *   UPDATE  (offer:  curr local sendrecv, curr remote none)      the caller's resources are up   RFC 3311
 *   200     (answer: curr local sendrecv, curr remote sendrecv)  both ends met: the callee rings RFC 3312 §6
 *
 * The lines go into SDP the UE wrote itself (one audio m-line), so they are replaced as text.
 */
import { parseSessionDescription, readPreconditions } from '../sdp/index.js';

/** The caller's UPDATE offer: its own resources reserved in both directions, the callee's not known yet. */
export const RESERVED_OFFER_LINES: readonly string[] = [
  'curr:qos local sendrecv',
  'curr:qos remote none',
  'des:qos mandatory local sendrecv',
  'des:qos mandatory remote sendrecv',
];

/** The callee's answer to it: its own reservation (instant) and the caller's, as the offer reported it. */
export const RESERVED_ANSWER_LINES: readonly string[] = [
  'curr:qos local sendrecv',
  'curr:qos remote sendrecv',
  'des:qos mandatory local sendrecv',
  'des:qos mandatory remote sendrecv',
];

const PRECONDITION_ATTRIBUTE = /^a=(curr|des|conf):/;

/** Replaces the a=curr/des/conf lines of a one-stream SDP the UE wrote with `lines` (at the end of the m-section). */
export function withPreconditionLines(sdp: string, lines: readonly string[]): string {
  const kept = sdp.split('\r\n').filter((l) => l.length > 0 && !PRECONDITION_ATTRIBUTE.test(l));
  return `${[...kept, ...lines.map((l) => `a=${l}`)].join('\r\n')}\r\n`;
}

/**
 * RFC 3312 §6: whether the offerer says its own ("local") segment is reserved in both directions. An SDP
 * without precondition lines has nothing to wait for.
 */
export function offererReserved(sdp: string): boolean {
  const session = parseSessionDescription(sdp);
  const audio = session.media.find((m) => m.type === 'audio');
  if (!audio) return false;
  const p = readPreconditions(audio);
  if (!p) return true;
  return p.current.some((c) => c.statusType === 'local' && c.direction === 'sendrecv');
}
