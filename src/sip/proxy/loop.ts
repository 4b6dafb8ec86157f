import { hexDigest } from '../../util/hex-digest.js';
import type { SipRequest } from '../message.js';
import { MAGIC_COOKIE, parseVia, type Via } from '../headers/via.js';
import { parseCSeq } from '../headers/cseq.js';
import { tagOf } from '../transaction/response.js';
import type { Random } from '../../util/random.js';

/**
 * The loop-detection part of a proxy's branch (RFC 3261 §16.6 step 8): a hash of the fields that steer the
 * request — Request-URI as received, To and From tags, Call-ID, CSeq number, Route, Proxy-Require and
 * Proxy-Authorization. A request that comes back with all of them unchanged has looped; one that changed
 * any (an IMS request re-targeted by the S-CSCF, or routed on to the terminating side) is spiralling.
 *
 * The top Via, which §16.6 also lists, is left out on purpose: a request that returns carries the previous
 * hop's Via on top, so including it would make every loop look like a spiral (§16.3 step 4 could never fire).
 */
export function loopHash(request: SipRequest): string {
  // One string, one update: each update() is a call into the native hash, and there would be eight or more.
  let fields = `${request.uri}\0${tagOf(request.headers.get('To')) ?? ''}\0${tagOf(request.headers.get('From')) ?? ''}\0${request.headers.get('Call-ID') ?? ''}\0${cseqNumber(request)}`;
  for (const name of STEERING_LISTS) {
    for (const v of request.headers.getAll(name)) fields += '\0' + name + ':' + v;
  }
  return hexDigest('md5', fields).slice(0, 16);
}

const STEERING_LISTS = ['Route', 'Proxy-Require', 'Proxy-Authorization'] as const;

/** A branch for one forwarded copy: the cookie, the loop hash, and a per-branch token so forks differ (§16.6 step 8). */
export function proxyBranch(hash: string, random: Random): string {
  return `${MAGIC_COOKIE}${hash}.${random.token(8)}`;
}

/**
 * §16.3 step 4: the request has looped when one of its Vias was put there by this proxy (`isOwn`) with a
 * branch carrying the same loop hash as the request has now.
 */
export function hasLooped(request: SipRequest, hash: string, isOwn: (via: Via) => boolean): boolean {
  const prefix = `${MAGIC_COOKIE}${hash}.`;
  for (const value of request.headers.list('Via')) {
    // A Via whose text lacks the hash cannot carry it in its branch: no need to parse it.
    if (!value.includes(hash)) continue;
    let via: Via;
    try {
      via = parseVia(value);
    } catch {
      continue;
    }
    if (via.branch?.startsWith(prefix) && isOwn(via)) return true;
  }
  return false;
}

function cseqNumber(request: SipRequest): string {
  try {
    return String(parseCSeq(request.headers.get('CSeq') ?? '').seq);
  } catch {
    return '';
  }
}
