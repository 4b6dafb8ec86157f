/**
 * What the rules read about one UE: its kept messages and the views most rules share (REGISTER exchanges,
 * registrations the core granted, challenges it passed on), computed once per report.
 */
import type { TransportProtocol } from '../trace/events.js';
import { parseChallenge } from '../sip/headers/auth.js';
import { parseContacts, type ContactValue } from '../sip/headers/contact.js';
import { cseqOf } from '../sip/headers/cseq.js';
import { callId } from '../sip/headers/call-id.js';
import { expiresOf } from '../sip/headers/p-headers.js';
import { parseNameAddr } from '../sip/headers/name-addr.js';
import { parseUri, uriEquals } from '../sip/uri.js';
import type {
  ChallengeSeen,
  Observed,
  Registration,
  RequirementContextView,
  ResolvedReportOptions,
  RetransmissionFacts,
} from './model.js';

/** Values from the wire are shown as evidence; very long ones are cut so a report stays readable. */
export function clip(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/** URIs equal by RFC 3261 §19.1.4 when both parse, else equal as text (a bad URI is compared as written). */
export function sameUri(a: string, b: string): boolean {
  try {
    return uriEquals(parseUri(a), parseUri(b));
  } catch {
    return a.trim() === b.trim();
  }
}

/** The URIs of a name-addr list header; elements that do not parse are kept as written. */
export function uriList(o: Observed, header: string): string[] {
  return o.message.headers.list(header).map((v) => {
    try {
      return parseNameAddr(v).uri;
    } catch {
      return v.trim();
    }
  });
}

export function contactsOf(o: Observed): ContactValue[] | '*' | Error {
  try {
    return parseContacts(o.message.headers);
  } catch (e) {
    return e as Error;
  }
}

function exchangeKey(o: Observed): string | undefined {
  try {
    const c = cseqOf(o.message);
    return `${callId(o.message)}|${c.seq}|${c.method}`;
  } catch {
    return undefined;
  }
}

/** The expiry the registrar granted to one of the request's contacts (RFC 3261 §10.2.4, §10.3 step 8). */
function grantedSeconds(request: Observed, response: Observed): number | undefined {
  const asked = contactsOf(request);
  const given = contactsOf(response);
  if (!Array.isArray(given) || given.length === 0) return undefined;
  let fallback: number | undefined;
  try {
    fallback = expiresOf(response.message.headers);
  } catch {
    fallback = undefined;
  }
  const mine = Array.isArray(asked) ? given.filter((g) => asked.some((a) => sameUri(a.uri, g.uri))) : [];
  const pick = mine.length ? mine : given;
  const values = pick.map((c) => c.expires ?? fallback).filter((x): x is number => x !== undefined);
  return values.length ? Math.min(...values) : undefined;
}

export class RequirementContext implements RequirementContextView {
  private cache: {
    registers?: Observed[];
    finals?: Map<string, Observed[]>;
    registrations?: Registration[];
    challenges?: ChallengeSeen[];
  } = {};

  constructor(
    readonly messages: readonly Observed[],
    readonly now: number,
    readonly transport: TransportProtocol,
    readonly impi: string | undefined,
    readonly impu: string | undefined,
    readonly retransmissions: RetransmissionFacts,
    readonly options: ResolvedReportOptions,
    readonly coreNotes: readonly string[],
    readonly dropped: number,
  ) {}

  registers(): Observed[] {
    return (this.cache.registers ??= this.messages.filter(
      (o) => o.direction === 'from-ue' && o.message.kind === 'request' && o.message.method === 'REGISTER',
    ));
  }

  /** The final response the P-CSCF sent for that request (same Call-ID, CSeq number and method), if kept. */
  finalResponseTo(request: Observed): Observed | undefined {
    if (!this.cache.finals) {
      const finals = new Map<string, Observed[]>();
      for (const o of this.messages) {
        if (o.direction !== 'to-ue' || o.message.kind !== 'response' || o.message.status < 200) continue;
        const k = exchangeKey(o);
        if (k === undefined) continue;
        const list = finals.get(k);
        if (list) list.push(o);
        else finals.set(k, [o]);
      }
      this.cache.finals = finals;
    }
    const k = exchangeKey(request);
    if (k === undefined) return undefined;
    return this.cache.finals.get(k)?.find((r) => r.seq > request.seq);
  }

  registrations(): Registration[] {
    if (this.cache.registrations) return this.cache.registrations;
    const out: Registration[] = [];
    for (const request of this.registers()) {
      const response = this.finalResponseTo(request);
      if (!response || response.message.kind !== 'response' || response.message.status < 200 || response.message.status >= 300) continue;
      const seconds = grantedSeconds(request, response);
      if (seconds === undefined || seconds === 0) continue;
      out.push({
        request,
        response,
        grantedSeconds: seconds,
        expiresAt: response.time + seconds * 1000,
        serviceRoute: uriList(response, 'Service-Route'),
        associatedUris: uriList(response, 'P-Associated-URI'),
      });
    }
    return (this.cache.registrations = out);
  }

  challenges(): ChallengeSeen[] {
    if (this.cache.challenges) return this.cache.challenges;
    const out: ChallengeSeen[] = [];
    for (const request of this.registers()) {
      const response = this.finalResponseTo(request);
      if (!response || response.message.kind !== 'response' || response.message.status !== 401) continue;
      const www = response.message.headers.get('WWW-Authenticate');
      let nonce: string | undefined;
      let algorithm: string | undefined;
      let stale = false;
      if (www !== undefined) {
        try {
          const c = parseChallenge(www);
          nonce = c.nonce;
          algorithm = c.algorithm;
          stale = c.stale === true;
        } catch {
          // A challenge the UE could not read either; the rules judge the UE, not the core.
        }
      }
      out.push({ request, response, nonce, algorithm, stale, securityServer: response.message.headers.list('Security-Server') });
    }
    return (this.cache.challenges = out);
  }

  /** IMS AKA is in use when the core challenged with AKAv1/AKAv2 or the UE answered with it (RFC 3310 §3.1). */
  usesAka(): boolean {
    if (this.challenges().some((c) => /^akav/i.test(c.algorithm ?? ''))) return true;
    return this.registers().some((r) => /algorithm\s*=\s*"?akav/i.test(r.message.headers.get('Authorization') ?? ''));
  }

  /** `REGISTER sip:ims.example SIP/2.0 (#3, +1.500 s)`: the message as a reader finds it in the trace. */
  describe(o: Observed): string {
    const t0 = this.messages[0]?.time ?? o.time;
    return `${clip(o.firstLine, 120)} (#${o.seq}, +${((o.time - t0) / 1000).toFixed(3)} s)`;
  }

  /** `Supported: path, outbound` or `no Supported header`, for evidence. */
  headerLine(o: Observed, name: string): string {
    const all = o.message.headers.getAll(name);
    return all.length ? all.map((v) => `${name}: ${clip(v)}`).join('; ') : `no ${name} header`;
  }
}

/** A REGISTER that removes bindings (RFC 3261 §10.2.2): Contact "*", or every contact's expiry 0. */
export function removesBindings(o: Observed): boolean {
  const contacts = contactsOf(o);
  if (contacts === '*') return true;
  if (!Array.isArray(contacts) || contacts.length === 0) return false;
  let header: number | undefined;
  try {
    header = expiresOf(o.message.headers);
  } catch {
    header = undefined;
  }
  return contacts.every((c) => (c.expires ?? header) === 0);
}
