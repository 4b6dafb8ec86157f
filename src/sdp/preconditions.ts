import type { Media } from './description.js';

/**
 * QoS preconditions (RFC 3312 §5) as TS 24.229 §6.1.2 has a UE use them: the offer states that no
 * resources are reserved yet at either end and that local (and, optionally, remote) sendrecv QoS is wanted.
 *
 * RFC 3312 §5.1 syntax:
 *   current-status   = "a=curr:" precondition-type SP status-type SP direction-tag
 *   desired-status   = "a=des:"  precondition-type SP strength-tag SP status-type SP direction-tag
 *   confirm-status   = "a=conf:" precondition-type SP status-type SP direction-tag
 *   precondition-type = "qos"; status-type = "e2e" / "local" / "remote";
 *   strength-tag = "mandatory" / "optional" / "none" / "failure" / "unknown";
 *   direction-tag = "none" / "send" / "recv" / "sendrecv"
 */
export type StatusType = 'e2e' | 'local' | 'remote';
export type StrengthTag = 'mandatory' | 'optional' | 'none' | 'failure' | 'unknown';
export type DirectionTag = 'none' | 'send' | 'recv' | 'sendrecv';

export interface CurrentStatus {
  kind: 'curr' | 'conf';
  statusType: StatusType;
  direction: DirectionTag;
}

export interface DesiredStatus {
  kind: 'des';
  strength: StrengthTag;
  statusType: StatusType;
  direction: DirectionTag;
}

export interface Preconditions {
  current: CurrentStatus[];
  desired: DesiredStatus[];
  confirm: CurrentStatus[];
}

const STATUS = new Set(['e2e', 'local', 'remote']);
const STRENGTH = new Set(['mandatory', 'optional', 'none', 'failure', 'unknown']);
const DIRECTION = new Set(['none', 'send', 'recv', 'sendrecv']);

/** The attribute values (without "a=") an offerer puts on each audio m-line (TS 24.229 §6.1.2, RFC 3312 §5). */
export function offerPreconditionLines(): string[] {
  return ['curr:qos local none', 'curr:qos remote none', 'des:qos mandatory local sendrecv', 'des:qos optional remote sendrecv'];
}

/**
 * The answerer's lines (RFC 3312 §5.1.1 and §6): its "remote" is the offerer's "local", so the offerer's
 * mandatory local becomes mandatory remote here; strengths are never lowered; and, as in the TS 24.228
 * flows, it asks to be told (a=conf) when the offerer's resources are up.
 */
export function answerPreconditionLines(offered: Preconditions): string[] {
  const offererLocal = offered.desired.find((d) => d.statusType === 'local');
  const offererRemote = offered.desired.find((d) => d.statusType === 'remote');
  const remoteStrength = stronger(offererLocal?.strength ?? 'optional', 'mandatory');
  const localStrength = stronger(offererRemote?.strength ?? 'optional', 'mandatory');
  return [
    'curr:qos local none',
    'curr:qos remote none',
    `des:qos ${localStrength} local sendrecv`,
    `des:qos ${remoteStrength} remote sendrecv`,
    'conf:qos remote sendrecv',
  ];
}

const STRENGTH_ORDER: StrengthTag[] = ['none', 'optional', 'mandatory'];
function stronger(a: StrengthTag, b: StrengthTag): StrengthTag {
  return STRENGTH_ORDER.indexOf(a) >= STRENGTH_ORDER.indexOf(b) ? a : b;
}

/** The precondition attributes of one media description, or undefined when it has none. */
export function readPreconditions(m: Media): Preconditions | undefined {
  const out: Preconditions = { current: [], desired: [], confirm: [] };
  let any = false;
  for (const line of m.invalid ?? []) {
    // sdp-transform keeps unknown attribute lines as they came, but turns a numeric one ("a=12") into a number.
    const value = String(line.value);
    const colon = value.indexOf(':');
    if (colon < 0) continue;
    const name = value.slice(0, colon);
    if (name !== 'curr' && name !== 'des' && name !== 'conf') continue;
    const f = value.slice(colon + 1).trim().split(/\s+/);
    // Only "qos" is defined (RFC 3312 §5.1); other precondition types are ignored, not rejected.
    if (f[0] !== 'qos') continue;
    if (name === 'des') {
      if (f.length !== 4 || !STRENGTH.has(f[1]!) || !STATUS.has(f[2]!) || !DIRECTION.has(f[3]!)) continue;
      out.desired.push({ kind: 'des', strength: f[1] as StrengthTag, statusType: f[2] as StatusType, direction: f[3] as DirectionTag });
    } else {
      if (f.length !== 3 || !STATUS.has(f[1]!) || !DIRECTION.has(f[2]!)) continue;
      const s: CurrentStatus = { kind: name, statusType: f[1] as StatusType, direction: f[2] as DirectionTag };
      (name === 'curr' ? out.current : out.confirm).push(s);
    }
    any = true;
  }
  return any ? out : undefined;
}
