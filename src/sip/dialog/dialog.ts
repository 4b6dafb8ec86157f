/**
 * A dialog (RFC 3261 §12): the peer-to-peer state two UAs keep between requests — Call-ID, local and remote
 * tags, local and remote URIs, remote target, route set and the two CSeq spaces. Pure state: it builds the
 * requests that belong to it and checks the ones that arrive; the UserAgent sends them.
 */
import { parseContact } from '../headers/contact.js';
import { parseCSeq } from '../headers/cseq.js';
import { parseNameAddr } from '../headers/name-addr.js';
import { Headers, SipRequest, type SipResponse } from '../message.js';
import { SipParseError } from '../parser.js';
import { isSipUri, parseUri } from '../uri.js';
import type { DialogUsage } from '../ua/user-agent.js';
import { targetThroughRouteSet } from './route-set.js';

export type DialogState = 'early' | 'confirmed' | 'terminated';

/** The dialog ID of §12: Call-ID, local tag and remote tag. */
export interface DialogId {
  callId: string;
  localTag: string;
  remoteTag: string;
}

/** The key under which a UA keeps a dialog; the same for both ends' view of one ID. */
export function dialogKey(id: DialogId): string {
  return `${id.callId}\u0000${id.localTag}\u0000${id.remoteTag}`;
}

export interface DialogInit extends DialogId {
  /** The local party's From (UAC) / To (UAS) value, with our tag. */
  local: string;
  /** The remote party's value, with its tag. */
  remote: string;
  remoteTarget: string;
  /** Route values in the order this end puts them in requests. */
  routeSet: string[];
  localSeq: number;
  remoteSeq?: number | undefined;
  secure: boolean;
  state: DialogState;
  /** Our Contact, put in target-refresh requests (§12.2.1.1). */
  localContact: string;
  /**
   * How the dialog keeps what it takes from `local` and `remote` (a URI, see Dialog.local, or the whole value):
   * a node that holds many dialogs alike passes one that returns a string it already holds (an interned URI,
   * the subscription's target) or a flat copy. Without it the dialog keeps them as given.
   */
  keep?: ((uri: string) => string) | undefined;
}

/** How a dialog sends what it builds; bound by the UserAgent that owns it. */
export interface DialogSender<R> {
  sendInDialog(dialog: Dialog, request: SipRequest): Promise<R>;
}

export interface InDialogOptions {
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: Buffer | string;
  contentType?: string;
  /** For ACK: the CSeq number of the INVITE it acknowledges (§13.2.2.4); otherwise unused. */
  cseq?: number;
}

/** Bits of Dialog.flags: `local` / `remote` is `<uri>;tag=…` and is kept as its URI alone; sips; the state. */
const LOCAL_BARE = 1;
const REMOTE_BARE = 2;
const SECURE = 4;
const STATE_SHIFT = 3;
const STATES: readonly DialogState[] = ['early', 'confirmed', 'terminated'];

export class Dialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /**
   * The From/To values, or only their URIs when the value is the usual `<uri>;tag=<tag>` (bits of `bare`): a
   * node holds a dialog per registered UE for as long as the registration lasts (the P-CSCF's reg-event
   * subscription, TS 24.229 §5.2.3), and the URI alone is a string it already holds — its own identity, the
   * UE's public identity — while the value with the tag is one more string per UE (issue 7).
   */
  private readonly localValue: string;
  private readonly remoteValue: string;
  /** LOCAL_BARE, REMOTE_BARE, SECURE and the state: one small integer rather than three fields (issue 7). */
  private flags: number;
  remoteTarget: string;
  routeSet: string[];
  /** The last CSeq number this end used; the next request gets one more (§12.2.1.1). */
  localSeq: number;
  /** The highest CSeq number seen from the peer; undefined until a request of theirs arrives (§12.2.2). */
  remoteSeq: number | undefined;
  localContact: string;
  /** Set by the UserAgent so that `request()` can send; a bare Dialog only builds. */
  sender: DialogSender<unknown> | undefined;
  /** Set by the UserAgent with `sender`: who handles the requests that arrive in this dialog. */
  usage: DialogUsage | undefined;

  constructor(init: DialogInit) {
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    const keep = init.keep ?? identity;
    const localUri = bareUri(init.local, init.localTag);
    const remoteUri = bareUri(init.remote, init.remoteTag);
    this.localValue = keep(localUri ?? init.local);
    this.remoteValue = keep(remoteUri ?? init.remote);
    this.flags =
      (localUri === undefined ? 0 : LOCAL_BARE) |
      (remoteUri === undefined ? 0 : REMOTE_BARE) |
      (init.secure ? SECURE : 0) |
      (STATES.indexOf(init.state) << STATE_SHIFT);
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.localContact = init.localContact;
    this.sender = undefined;
    this.usage = undefined;
  }

  /** The local party's From (UAC) / To (UAS) value, with our tag. */
  get local(): string {
    return this.flags & LOCAL_BARE ? `<${this.localValue}>;tag=${this.localTag}` : this.localValue;
  }

  /** The remote party's value, with its tag. */
  get remote(): string {
    return this.flags & REMOTE_BARE ? `<${this.remoteValue}>;tag=${this.remoteTag}` : this.remoteValue;
  }

  /** Whether the dialog was formed by a sips Request-URI (§12.1.1). */
  get secure(): boolean {
    return (this.flags & SECURE) !== 0;
  }

  get state(): DialogState {
    return STATES[this.flags >> STATE_SHIFT]!;
  }

  set state(state: DialogState) {
    this.flags = (this.flags & ((1 << STATE_SHIFT) - 1)) | (STATES.indexOf(state) << STATE_SHIFT);
  }

  get id(): DialogId {
    return { callId: this.callId, localTag: this.localTag, remoteTag: this.remoteTag };
  }

  get key(): string {
    return dialogKey(this.id);
  }

  /**
   * §12.1.2: the UAC's view, from the request it sent and a 1xx/2xx that carries a To tag. The route set is
   * the Record-Route list reversed; the remote target is the response's Contact.
   */
  static asUac(request: SipRequest, response: SipResponse, localContact: string): Dialog {
    const from = parseNameAddr(must(request.headers.get('From'), 'From'));
    const to = parseNameAddr(must(response.headers.get('To'), 'To'));
    if (from.tag === undefined) throw new SipParseError('request without From tag cannot create a dialog');
    if (to.tag === undefined) throw new SipParseError('response without To tag creates no dialog (§12.1.2)');
    const cseq = parseCSeq(must(request.headers.get('CSeq'), 'CSeq'));
    return new Dialog({
      callId: must(request.headers.get('Call-ID'), 'Call-ID'),
      localTag: from.tag,
      remoteTag: to.tag,
      local: must(request.headers.get('From'), 'From'),
      remote: must(response.headers.get('To'), 'To'),
      remoteTarget: contactUri(response) ?? to.uri,
      routeSet: response.headers.list('Record-Route').reverse(),
      localSeq: cseq.seq,
      remoteSeq: undefined,
      secure: isSips(request.uri),
      state: response.status >= 200 ? 'confirmed' : 'early',
      localContact,
    });
  }

  /**
   * §12.1.1: the UAS's view, from the request that created the dialog and the tag it put in To. The route
   * set is the Record-Route list in order; the remote target is the request's Contact.
   */
  static asUas(request: SipRequest, localTag: string, localContact: string, state: DialogState = 'confirmed'): Dialog {
    const from = parseNameAddr(must(request.headers.get('From'), 'From'));
    if (from.tag === undefined) throw new SipParseError('request without From tag cannot create a dialog');
    const toValue = must(request.headers.get('To'), 'To');
    const cseq = parseCSeq(must(request.headers.get('CSeq'), 'CSeq'));
    return new Dialog({
      callId: must(request.headers.get('Call-ID'), 'Call-ID'),
      localTag,
      remoteTag: from.tag,
      local: parseNameAddr(toValue).tag === undefined ? `${toValue};tag=${localTag}` : toValue,
      remote: must(request.headers.get('From'), 'From'),
      remoteTarget: contactUri(request) ?? from.uri,
      routeSet: request.headers.list('Record-Route'),
      // §12.1.1: the local sequence number is empty; the first request we send picks a fresh one.
      localSeq: 0,
      remoteSeq: cseq.seq,
      secure: isSips(request.uri),
      state,
      localContact,
    });
  }

  /**
   * §12.2.1.1: a request within the dialog. CSeq is the local sequence plus one (ACK and CANCEL reuse the
   * INVITE's), Request-URI and Route follow the route set with loose/strict routing, Max-Forwards 70. The
   * caller's Via is pushed later by the transaction layer.
   */
  createRequest(method: string, options: InDialogOptions = {}): SipRequest {
    if (this.state === 'terminated') throw new Error(`dialog ${this.callId} is terminated`);
    let seq: number;
    if (method === 'ACK' || method === 'CANCEL') {
      if (options.cseq === undefined) throw new Error(`${method} needs the CSeq number of its INVITE`);
      seq = options.cseq;
    } else {
      // §8.1.1.5: a fresh sequence starts anywhere below 2**31; we start at 1 for readable ladders.
      this.localSeq = this.localSeq + 1;
      seq = this.localSeq;
    }
    const target = targetThroughRouteSet(this.remoteTarget, this.routeSet);
    const h = new Headers();
    for (const r of target.routes) h.append('Route', r);
    h.append('Max-Forwards', '70');
    h.append('From', this.local);
    h.append('To', this.remote);
    h.append('Call-ID', this.callId);
    h.append('CSeq', `${seq} ${method}`);
    if (method !== 'ACK' && method !== 'CANCEL' && method !== 'BYE') h.append('Contact', `<${this.localContact}>`);
    for (const [n, v] of options.headers ?? []) h.append(n, v);
    const body = options.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
    if (body.length > 0 && options.contentType) h.set('Content-Type', options.contentType);
    h.set('Content-Length', String(body.length));
    return new SipRequest(method, target.uri, h, body);
  }

  /** Builds a request in this dialog and sends it through the owning UserAgent. */
  request<R = unknown>(method: string, options: InDialogOptions = {}): Promise<R> {
    if (!this.sender) return Promise.reject(new Error('this dialog is not attached to a UserAgent'));
    return this.sender.sendInDialog(this, this.createRequest(method, options)) as Promise<R>;
  }

  /**
   * §12.2.2: a request from the peer. A CSeq lower than (or equal to, for a new transaction) the remote
   * sequence is out of order and gets 500; the first one sets it. Returns the status to answer with on
   * failure, or undefined when the request belongs here. Target refresh (Contact) is applied by the caller
   * once it accepts the request.
   */
  checkRemoteRequest(request: SipRequest): { status: number; reason: string } | undefined {
    const cseq = parseCSeq(must(request.headers.get('CSeq'), 'CSeq'));
    if (request.method === 'ACK' || request.method === 'CANCEL') return undefined;
    if (this.remoteSeq !== undefined && cseq.seq <= this.remoteSeq) {
      return { status: 500, reason: 'Server Internal Error (CSeq out of order, RFC 3261 §12.2.2)' };
    }
    this.remoteSeq = cseq.seq;
    return undefined;
  }

  /** §12.2.2 / §12.2.1.2: a target refresh request or its 2xx replaces the remote target with its Contact. */
  refreshTarget(message: SipRequest | SipResponse): void {
    const uri = contactUri(message);
    if (uri !== undefined) this.remoteTarget = uri;
  }

  /** §12.1.2: an early dialog becomes confirmed on the 2xx (route set recomputed from it). */
  confirm(response: SipResponse): void {
    this.state = 'confirmed';
    this.routeSet = response.headers.list('Record-Route').reverse();
    this.refreshTarget(response);
  }

  terminate(): void {
    this.state = 'terminated';
  }
}

/**
 * The URI of a name-addr that is exactly `<uri>;tag=<tag>` (nothing before the bracket, no other parameter),
 * so that the value can be rebuilt from the two byte for byte; undefined for any other form.
 */
function bareUri(value: string, tag: string): string | undefined {
  const tail = value.length - tag.length - 5;
  if (value.charCodeAt(0) !== 0x3c /* < */ || tail < 2 || value.charCodeAt(tail - 1) !== 0x3e /* > */) return undefined;
  if (!value.startsWith(';tag=', tail) || !value.endsWith(tag)) return undefined;
  const uri = value.slice(1, tail - 1);
  return uri.includes('>') ? undefined : uri;
}

function identity(s: string): string {
  return s;
}

function must(v: string | undefined, name: string): string {
  if (v === undefined) throw new SipParseError(`Missing ${name}`);
  return v;
}

/** The URI of the (single) Contact of a dialog-forming message; undefined when there is none. */
function contactUri(m: SipRequest | SipResponse): string | undefined {
  const first = m.headers.first('Contact');
  if (first === undefined || first.trim() === '*') return undefined;
  return parseContact(first).uri;
}

function isSips(uri: string): boolean {
  try {
    const u = parseUri(uri);
    return isSipUri(u) && u.scheme === 'sips';
  } catch {
    return false;
  }
}
