/**
 * A UE's settings (the topology's `ues:` entry as the runner resolves it, contract: UeSettings) checked and
 * turned into what the UE uses: the USIM (TS 31.102 / TS 33.102) with its SQN state, identities, and the
 * registration parameters. Bad settings fail here with the field named, before any socket opens.
 */
import { fromHex } from '../aka/bytes.js';
import { DEFAULT_IND_BITS, splitSqn } from '../aka/sqn.js';
import { Usim } from '../aka/usim.js';
import type { UeSettings } from '../topology/node-spec.js';
import type { TransportProtocol } from '../sip/transport/types.js';
import { isSipUri, isTelUri, parseUri } from '../sip/uri.js';
import type { Random } from '../util/random.js';
import type { CodecName } from '../sdp/codecs.js';
import { DEFAULT_MIN_SE_S, DEFAULT_SESSION_EXPIRES_S, type SessionTimerSettings } from './session-timer.js';
import { DEFAULT_MEDIA_TIMEOUT_MS } from './media-watchdog.js';

export interface UeConfig {
  impi: string;
  impu: string;
  /** The user part for our Contact (the IMPU's user, or a tel number). */
  contactUser: string;
  pcscf: string;
  transport: TransportProtocol;
  secAgree: boolean;
  auth: 'aka' | 'digest';
  usim: Usim | undefined;
  password: string | undefined;
  /** Registration expiry asked for, seconds (TS 24.229 §5.1.1.2.1: the UE proposes, the registrar decides). */
  expires: number;
  /** +sip.instance value without quotes, e.g. `<urn:gsma:imei:35209900-176148-0>` (TS 24.229 §5.1.1.2.1). */
  instance: string;
}

export class UeSettingsError extends Error {
  override readonly name = 'UeSettingsError';
}

export function ueConfig(name: string, raw: Record<string, unknown>, random: Random): UeConfig {
  const s = raw as Partial<UeSettings>;
  const need = (field: keyof UeSettings): string => {
    const v = s[field];
    if (typeof v !== 'string' || v.length === 0) throw new UeSettingsError(`UE ${name}: "${field}" is required`);
    return v;
  };
  const impi = need('impi');
  const impu = need('impu');
  const pcscf = need('pcscf');
  const transport = (s.transport ?? 'udp') as TransportProtocol;
  if (transport !== 'udp' && transport !== 'tcp' && transport !== 'tls') throw new UeSettingsError(`UE ${name}: transport "${String(s.transport)}" is not udp, tcp or tls`);
  const auth = s.auth ?? 'aka';
  if (auth !== 'aka' && auth !== 'digest') throw new UeSettingsError(`UE ${name}: auth "${String(s.auth)}" is not aka or digest`);
  let contactUser: string;
  try {
    const u = parseUri(impu);
    if (isSipUri(u) && u.user) contactUser = u.user;
    else if (isTelUri(u)) contactUser = u.number;
    else throw new Error('no user part');
  } catch (err) {
    throw new UeSettingsError(`UE ${name}: impu "${impu}" is not a sip: URI with a user part or a tel: URI (${(err as Error).message})`);
  }
  const expires = s.expires ?? 600000;
  if (!Number.isInteger(expires) || expires < 0) throw new UeSettingsError(`UE ${name}: expires ${String(s.expires)} is not a number of seconds`);

  let usim: Usim | undefined;
  if (auth === 'aka' || s.k !== undefined) {
    const k = fromHex('k', need('k'), 16);
    const op = s.op ? fromHex('op', s.op, 16) : undefined;
    const opc = s.opc ? fromHex('opc', s.opc, 16) : undefined;
    if (!op && !opc) throw new UeSettingsError(`UE ${name}: AKA needs "op" or "opc"`);
    usim = new Usim({ k, ...(op ? { op } : { opc: opc! }), sqnState: sqnState(s.sqn) });
  }
  if (auth === 'digest' && s.password === undefined) throw new UeSettingsError(`UE ${name}: digest needs "password"`);
  return {
    impi,
    impu,
    contactUser,
    pcscf,
    transport,
    secAgree: s.secAgree ?? false,
    auth,
    usim,
    password: s.password,
    expires,
    instance: instanceOf(s.instanceId, random),
  };
}

/**
 * The card's SEQ_MS array from the configured SQN (12 hex digits): every slot holds the SEQ of that SQN, i.e.
 * the USIM has seen everything up to it (TS 33.102 C.2.2). An HSS whose SQN is this one sends SEQ + 1 next,
 * which is fresh; a card configured ahead of the HSS finds the vector replayed and resynchronises (§6.3.5).
 */
function sqnState(sqn: string | undefined): { indBits: number; seqMs: number[] } | undefined {
  if (sqn === undefined) return undefined;
  const { seq } = splitSqn(fromHex('sqn', sqn.padStart(12, '0'), 6), DEFAULT_IND_BITS);
  return { indBits: DEFAULT_IND_BITS, seqMs: new Array<number>(2 ** DEFAULT_IND_BITS).fill(seq) };
}

/** TS 24.229 §5.1.1.2.1 / TS 23.003 §13.8: an IMEI URN as instance ID; drawn from the UE's Random when not set. */
function instanceOf(configured: string | undefined, random: Random): string {
  if (configured) {
    const bare = configured.replace(/^"|"$/g, '').replace(/^<|>$/g, '');
    return `<${bare}>`;
  }
  let tac = '';
  for (let i = 0; i < 8; i++) tac += String(random.int(10));
  let snr = '';
  for (let i = 0; i < 6; i++) snr += String(random.int(10));
  return `<urn:gsma:imei:${tac}-${snr}-0>`;
}

/** How an incoming call is answered (the topology's `answer` and `answerAfter`, TS 24.229 §5.1.3). */
export interface UeCallSettings {
  answer: 'auto' | 'busy' | 'noanswer';
  answerAfterMs: number;
  /** Whether this UE's own calls ask for QoS preconditions (RFC 3312, TS 24.229 §6.1.2). */
  preconditions: boolean;
  /** The codecs this UE can take in an offer (RFC 3264 §6.1); default all it knows. A narrower set shows 488. */
  codecs?: CodecName[];
  /** SRTP with SDES keys (RFC 3711, RFC 4568): offer RTP/SAVP with a=crypto and accept such offers. */
  srtp: boolean;
  /** RFC 4028 session timers of this UE's calls (`sessionExpires`, `minSe` in seconds; default 1800 and 90). */
  sessionTimer: SessionTimerSettings;
  /** End a call that should bring RTP and brought none for this long (`mediaTimeoutMs`, default 30 s). */
  mediaTimeoutMs: number;
}

const ANSWERABLE: readonly CodecName[] = ['PCMU', 'PCMA', 'AMR-WB', 'opus'];

export function callSettings(name: string, raw: Record<string, unknown>): UeCallSettings {
  const answer = raw['answer'] ?? 'auto';
  if (answer !== 'auto' && answer !== 'busy' && answer !== 'noanswer') {
    throw new UeSettingsError(`UE ${name}: answer "${String(answer)}" is not auto, busy or noanswer`);
  }
  const after = raw['answerAfterMs'] ?? 0;
  if (typeof after !== 'number' || !Number.isFinite(after) || after < 0) {
    throw new UeSettingsError(`UE ${name}: answerAfterMs ${String(after)} is not a number of milliseconds`);
  }
  const preconditions = raw['preconditions'] ?? false;
  if (typeof preconditions !== 'boolean') throw new UeSettingsError(`UE ${name}: preconditions ${String(preconditions)} is not true or false`);
  const srtp = raw['srtp'] ?? false;
  if (typeof srtp !== 'boolean') throw new UeSettingsError(`UE ${name}: srtp ${String(srtp)} is not true or false`);
  const sessionExpiresS = raw['sessionExpires'] ?? DEFAULT_SESSION_EXPIRES_S;
  if (typeof sessionExpiresS !== 'number' || !Number.isInteger(sessionExpiresS) || sessionExpiresS < 1) {
    throw new UeSettingsError(`UE ${name}: sessionExpires ${String(sessionExpiresS)} is not a whole number of seconds above 0 (RFC 4028 §4)`);
  }
  // RFC 4028 §5 puts Min-SE at 90 s or more; a lab UE configured for a shorter interval (tests of a vanished
  // peer) takes that interval as its minimum unless told otherwise, so that its own calls are not refused.
  const minSeS = raw['minSe'] ?? Math.min(DEFAULT_MIN_SE_S, sessionExpiresS);
  if (typeof minSeS !== 'number' || !Number.isInteger(minSeS) || minSeS < 1 || minSeS > sessionExpiresS) {
    throw new UeSettingsError(`UE ${name}: minSe ${String(minSeS)} is not a whole number of seconds between 1 and sessionExpires ${sessionExpiresS} (RFC 4028 §5)`);
  }
  const mediaTimeoutMs = raw['mediaTimeoutMs'] ?? DEFAULT_MEDIA_TIMEOUT_MS;
  if (typeof mediaTimeoutMs !== 'number' || !Number.isFinite(mediaTimeoutMs) || mediaTimeoutMs <= 0) {
    throw new UeSettingsError(`UE ${name}: mediaTimeoutMs ${String(mediaTimeoutMs)} is not a number of milliseconds above 0`);
  }
  const settings: UeCallSettings = { answer, answerAfterMs: after, preconditions, srtp, sessionTimer: { sessionExpiresS, minSeS }, mediaTimeoutMs };
  const codecs = raw['codecs'];
  if (codecs !== undefined) {
    if (!Array.isArray(codecs) || codecs.length === 0) throw new UeSettingsError(`UE ${name}: codecs must be a non-empty list (known: ${ANSWERABLE.join(', ')})`);
    const names: CodecName[] = [];
    for (const c of codecs) {
      const known = ANSWERABLE.find((k) => typeof c === 'string' && k.toLowerCase() === c.toLowerCase());
      if (!known) throw new UeSettingsError(`UE ${name}: codec ${String(c)} is not one a simulated UE can use (known: ${ANSWERABLE.join(', ')})`);
      names.push(known);
    }
    // RFC 4733: DTMF events ride along whatever voice codec is chosen.
    settings.codecs = [...names, 'telephone-event'];
  }
  return settings;
}
