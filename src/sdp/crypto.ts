import type { Random } from '../util/random.js';
import { SRTP_SUITE_NAMES, srtpSuite, type SrtpKeys, type SrtpMasterKey, type SrtpSuiteName } from '../rtp/srtp/suite.js';
import { SdpError } from './errors.js';

/**
 * SDES: SRTP master keys carried in SDP (RFC 4568), the keying a simulated UE uses on RTP/SAVP streams.
 *
 *   a=crypto:<tag> <crypto-suite> inline:<base64(key ‖ salt)>[|<lifetime>][|<MKI>:<length>] [<session-param> …]
 *
 * The offerer lists one line per suite it accepts, each with its own tag and key (§5.1); the answerer picks
 * the first line it supports and answers with the same tag and suite and its own key (§5.1.2, §7.1.2). Each
 * side then sends with its own key and receives with the other's (§6.1). Keys come from the injected Random,
 * so a seeded run gives the same keys every time; `imslab serve` injects a CryptoRandom.
 */

/** RTP/SAVP and RTP/SAVPF: the secure profiles (RFC 3711 §12, RFC 5124) whose streams carry a=crypto. */
export function isSecure(m: { protocol: string }): boolean {
  return m.protocol === 'RTP/SAVP' || m.protocol === 'RTP/SAVPF';
}

export interface SdesKeyParam {
  /** The concatenated master key and master salt, decoded from base64 (§6.1). */
  keySalt: Buffer;
  /** As written, e.g. "2^31" or "1048576" (§6.1: a number of packets). */
  lifetime?: string;
  mki?: { value: number; length: number };
}

export interface CryptoAttribute {
  tag: number;
  suite: string;
  keyParams: SdesKeyParam[];
  sessionParams: string[];
}

const TAG = /^[0-9]{1,9}$/;
const SUITE = /^[A-Za-z0-9_]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const LIFETIME = /^(2\^)?[0-9]{1,20}$/;
const MKI = /^([0-9]{1,10}):([0-9]{1,3})$/;
/** Bounds the work on a hostile line; a real one is under 200 characters. */
const MAX_LINE = 4096;

/** Parses the value of an a=crypto attribute (with or without the leading "crypto:"). Throws SdpError. */
export function parseCryptoAttribute(value: string): CryptoAttribute {
  if (value.length > MAX_LINE) throw new SdpError(`a=crypto longer than ${MAX_LINE} characters`);
  const text = value.startsWith('crypto:') ? value.slice(7) : value;
  // §9.2: crypto-attribute = "crypto:" tag 1*WSP crypto-suite 1*WSP key-params *(1*WSP session-param)
  const fields = text.trim().split(/[ \t]+/);
  if (fields.length < 3) throw new SdpError(`a=crypto needs <tag> <crypto-suite> <key-params>: ${JSON.stringify(text.slice(0, 60))}`);
  const [tagText, suite, keyParamsText, ...sessionParams] = fields as [string, string, string, ...string[]];
  if (!TAG.test(tagText)) throw new SdpError(`a=crypto tag ${JSON.stringify(tagText)} is not 1-9 digits`);
  if (!SUITE.test(suite)) throw new SdpError(`a=crypto suite ${JSON.stringify(suite)} is not a token`);
  const keyParams = keyParamsText.split(';').map(parseKeyParam);
  return { tag: Number(tagText), suite, keyParams, sessionParams };
}

function parseKeyParam(text: string): SdesKeyParam {
  const colon = text.indexOf(':');
  const method = colon < 0 ? text : text.slice(0, colon);
  // §6.1: "inline" is the only key method SDES defines for SRTP.
  if (method !== 'inline') throw new SdpError(`a=crypto key method ${JSON.stringify(method)} is not inline`);
  const [keySalt, ...rest] = text.slice(colon + 1).split('|');
  if (!keySalt || !BASE64.test(keySalt) || keySalt.length % 4 !== 0) throw new SdpError('a=crypto inline key is not base64');
  if (rest.length > 2) throw new SdpError('a=crypto inline key has more than a lifetime and an MKI');
  const p: SdesKeyParam = { keySalt: Buffer.from(keySalt, 'base64') };
  for (const part of rest) {
    const mki = MKI.exec(part);
    if (mki && p.mki === undefined) {
      const length = Number(mki[2]);
      const v = Number(mki[1]);
      // §6.1: the MKI length is 1-128 octets; its value must fit in it.
      if (length < 1 || length > 128) throw new SdpError(`a=crypto MKI length ${length} is not 1-128`);
      if (v >= 2 ** (8 * Math.min(length, 6))) throw new SdpError(`a=crypto MKI ${v} does not fit ${length} octets`);
      p.mki = { value: v, length };
    } else if (LIFETIME.test(part) && p.lifetime === undefined && p.mki === undefined) {
      p.lifetime = part;
    } else {
      throw new SdpError(`a=crypto key parameter ${JSON.stringify(part)} is neither a lifetime nor an MKI`);
    }
  }
  return p;
}

export function formatCryptoAttribute(c: CryptoAttribute): string {
  const keys = c.keyParams.map((k) => {
    let s = `inline:${k.keySalt.toString('base64')}`;
    if (k.lifetime !== undefined) s += `|${k.lifetime}`;
    if (k.mki) s += `|${k.mki.value}:${k.mki.length}`;
    return s;
  });
  return [`crypto:${c.tag}`, c.suite, keys.join(';'), ...c.sessionParams].join(' ');
}

/** A fresh master key and salt for `suite` (RFC 4568 §6.1: inline keys are random). */
export function generateMasterKey(suite: SrtpSuiteName, random: Random): SrtpMasterKey {
  const s = srtpSuite(suite)!;
  return { key: random.bytes(s.masterKeyLength), salt: random.bytes(s.masterSaltLength) };
}

/** The a=crypto line carrying `master` under `tag`. */
export function cryptoAttributeFor(tag: number, suite: SrtpSuiteName, master: SrtpMasterKey): CryptoAttribute {
  const keyParam: SdesKeyParam = { keySalt: Buffer.concat([master.key, master.salt]) };
  if (master.mki) keyParam.mki = { value: master.mki.readUIntBE(Math.max(0, master.mki.length - 6), Math.min(6, master.mki.length)), length: master.mki.length };
  return { tag, suite, keyParams: [keyParam], sessionParams: [] };
}

/** §5.1: one line per suite, tags 1, 2, … in our order of preference, each with its own key. */
export function offerCryptoAttributes(suites: readonly SrtpSuiteName[] = SRTP_SUITE_NAMES, random: Random): CryptoAttribute[] {
  if (suites.length === 0) throw new RangeError('an SRTP offer needs at least one crypto suite');
  return suites.map((suite, i) => cryptoAttributeFor(i + 1, suite, generateMasterKey(suite, random)));
}

/**
 * The master key a line carries, if we can use it: a suite we implement, exactly one inline key of the
 * suite's length, a lifetime within the suite's limit, and only session parameters we honour. KDR=0 is the
 * default we implement; WSH (window size hint, §6.3.7) is satisfied by our 64-packet window when ≤ 64.
 * Anything else (UNENCRYPTED_SRTP, FEC_ORDER, another KDR, several keys) makes the line unusable (§7.1.2).
 */
export function usableMasterKey(c: CryptoAttribute, supported: readonly SrtpSuiteName[] = SRTP_SUITE_NAMES): { suite: SrtpSuiteName; master: SrtpMasterKey } | undefined {
  const suite = srtpSuite(c.suite);
  if (!suite || !supported.includes(suite.name) || c.keyParams.length !== 1) return undefined;
  const k = c.keyParams[0]!;
  if (k.keySalt.length !== suite.masterKeyLength + suite.masterSaltLength) return undefined;
  if (k.lifetime !== undefined && lifetimeOf(k.lifetime) > suite.maxSrtpPackets) return undefined;
  for (const p of c.sessionParams) {
    if (p === 'KDR=0') continue;
    const wsh = /^WSH=([0-9]{1,6})$/.exec(p);
    if (wsh && Number(wsh[1]) <= 64) continue;
    return undefined;
  }
  const master: SrtpMasterKey = { key: k.keySalt.subarray(0, suite.masterKeyLength), salt: k.keySalt.subarray(suite.masterKeyLength) };
  if (k.mki) {
    const mki = Buffer.alloc(k.mki.length);
    mki.writeUIntBE(k.mki.value, Math.max(0, k.mki.length - 6), Math.min(6, k.mki.length));
    master.mki = mki;
  }
  return { suite: suite.name, master };
}

function lifetimeOf(text: string): number {
  return text.startsWith('2^') ? 2 ** Number(text.slice(2)) : Number(text);
}

/**
 * The a=crypto attribute values of each m= section of a body, in order, read from the text: sdp-transform
 * keeps only the first session parameter of a crypto line, and a parameter we did not see would be one we
 * did not refuse.
 */
export function cryptoAttributesByMedia(sdp: string): string[][] {
  const sections: string[][] = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) sections.push([]);
    else if (line.startsWith('a=crypto:') && sections.length > 0) sections[sections.length - 1]!.push(line.slice(2));
  }
  return sections;
}

export type CryptoAnswer =
  | { ok: true; attribute: CryptoAttribute; keys: SrtpKeys }
  | { ok: false; reason: string };

/**
 * The answerer's choice (RFC 4568 §7.1.2): the first offered line it can use, in the offerer's order,
 * answered with the same tag and suite and a key of its own. `previous`, our key from an earlier answer in
 * this session, is kept when the suite is unchanged, so a re-INVITE does not re-key the stream (§7.1.4).
 * Lines that do not parse are skipped like unsupported ones.
 */
export function answerCrypto(
  offered: readonly string[],
  random: Random,
  supported: readonly SrtpSuiteName[] = SRTP_SUITE_NAMES,
  previous?: { suite: SrtpSuiteName; master: SrtpMasterKey },
): CryptoAnswer {
  if (offered.length === 0) return { ok: false, reason: 'RTP/SAVP offered without an a=crypto attribute' };
  for (const line of offered) {
    let c: CryptoAttribute;
    try {
      c = parseCryptoAttribute(line);
    } catch {
      continue;
    }
    const usable = usableMasterKey(c, supported);
    if (!usable) continue;
    const send = previous && previous.suite === usable.suite ? previous.master : generateMasterKey(usable.suite, random);
    return {
      ok: true,
      attribute: cryptoAttributeFor(c.tag, usable.suite, send),
      keys: { suite: usable.suite, send, receive: usable.master },
    };
  }
  return { ok: false, reason: `no supported crypto suite among ${offered.length} a=crypto line(s)` };
}

/**
 * The offerer reading the answer (RFC 4568 §7.1.3): exactly one crypto line, with a tag we offered and that
 * tag's suite; we send with the key we offered under it and receive with the answerer's. Throws SdpError.
 */
export function applyCryptoAnswer(offered: readonly CryptoAttribute[], answered: readonly string[]): SrtpKeys {
  if (answered.length !== 1) throw new SdpError(`an SRTP answer needs exactly one a=crypto line, it has ${answered.length}`);
  const c = parseCryptoAttribute(answered[0]!);
  const ours = offered.find((o) => o.tag === c.tag);
  if (!ours) throw new SdpError(`the answer's a=crypto tag ${c.tag} was not offered`);
  if (ours.suite !== c.suite) throw new SdpError(`the answer's a=crypto tag ${c.tag} has suite ${c.suite}, offered ${ours.suite}`);
  const theirs = usableMasterKey(c);
  if (!theirs) throw new SdpError(`the answer's a=crypto key for ${c.suite} cannot be used`);
  const send = usableMasterKey(ours)!;
  return { suite: theirs.suite, send: send.master, receive: theirs.master };
}
