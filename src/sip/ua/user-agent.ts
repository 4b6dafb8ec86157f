/**
 * The UA core of RFC 3261 §8 with its dialog layer (§12): the transaction user on top of one node's
 * TransactionLayer. As UAC it builds requests (§8.1.1), picks the next hop (§8.1.2), and handles responses
 * (§8.1.3), retrying a 401/407 once per challenge with credentials from a callback (§22.2, §22.3). As UAS it
 * inspects requests in the order of §8.2: method (405), To tag and dialog (481, §12.2.2), Require (420),
 * then hands them to the handler registered for the method or to the dialog's usage.
 */
import type { TraceBus } from '../../trace/events.js';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import type { Dialog, DialogSender } from '../dialog/dialog.js';
import { parseCSeq } from '../headers/cseq.js';
import { parseNameAddr } from '../headers/name-addr.js';
import { parseOptionTags } from '../headers/p-headers.js';
import { parseCallId } from '../headers/call-id.js';
import type { SipRequest, SipResponse } from '../message.js';
import type { FinalCause, TransactionLayer } from '../transaction/index.js';
import { createResponse } from '../transaction/response.js';
import type { ClientTransactionHandlers, ServerTransaction } from '../transaction/types.js';
import type { ReceivedMessage, TransportAddress } from '../transport/types.js';
import { DialogTable } from './dialog-table.js';
import { IncomingRequest } from './incoming.js';
import { nextHop } from './next-hop.js';
import { buildRequest, replaceHeader } from './request-builder.js';

export interface UserAgentOptions {
  /** The node's name on the trace. */
  node: string;
  transactions: TransactionLayer;
  clock: Clock;
  random: Random;
  trace?: TraceBus | undefined;
  /** Our Contact URI (without <>), used in dialogs this UA forms. */
  contact: string;
  /** Default From for requests (name-addr, no tag), e.g. `<sip:alice@ims.example>`. */
  identity?: string | undefined;
  /** §8.1.2: the outbound proxy requests without a Route go to. */
  outboundProxy?: TransportAddress | undefined;
  /** Turns a host name into an address (the topology's directory); IP literals need nothing. */
  resolveHost?: ((host: string) => string | undefined) | undefined;
  /** Option tags this UA understands (§8.2.2.3: anything else in Require gets 420). */
  supported?: readonly string[] | undefined;
  /** User-Agent / Server header value (§20.41, §20.35); omitted when undefined. */
  product?: string | undefined;
}

/** What a 401/407 retry adds or replaces: header name → value(s); undefined removes the header. */
export interface ChallengeAnswer {
  headers: Record<string, string | readonly string[] | undefined>;
}

export type ChallengeHandler = (
  response: SipResponse,
  request: SipRequest,
) => ChallengeAnswer | undefined | Promise<ChallengeAnswer | undefined>;

export interface RequestOptions {
  from?: string | undefined;
  fromTag?: string | undefined;
  to?: string | undefined;
  callId?: string | undefined;
  cseq?: number | undefined;
  /** Contact value; default `<contact>` for methods that form dialogs or register; null for none. */
  contact?: string | null | undefined;
  /** Preloaded route set (§8.1.1.1), top first. */
  routeSet?: readonly string[] | undefined;
  headers?: ReadonlyArray<readonly [string, string]> | undefined;
  body?: Buffer | string | undefined;
  contentType?: string | undefined;
  /** Send here instead of the §8.1.2 next hop. */
  destination?: TransportAddress | undefined;
}

export interface SendOptions {
  destination?: TransportAddress | undefined;
  onProvisional?: ((response: SipResponse) => void) | undefined;
  /** §8.1.3.5 / §22.2: called on 401/407; its answer is applied to a copy of the request with CSeq + 1. */
  onChallenge?: ChallengeHandler | undefined;
  /** How many challenged retries at most (default 3: RFC 3310 §3.4 resync needs two). */
  maxChallenges?: number | undefined;
}

export interface ClientResult {
  /** The last request sent (with its Via). */
  request: SipRequest;
  /** The final response, real or made up by the transaction (408 timeout, 503 transport error, §8.1.3.1). */
  response: SipResponse;
  cause: FinalCause;
}

/** What a dialog's owner (a Subscription, a Notifier, a call) does with requests that arrive in it. */
export interface DialogUsage {
  /** Methods this usage accepts inside the dialog; others get 405 (§8.2.1). */
  readonly methods: readonly string[];
  onRequest(incoming: IncomingRequest): void;
  onAck?(ack: SipRequest): void;
}

export type RequestHandlerFn = (incoming: IncomingRequest) => void;

const DIALOG_FORMING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'REGISTER']);

export class UserAgent implements DialogSender<ClientResult> {
  private readonly handlers = new Map<string, RequestHandlerFn>();
  /** Each dialog carries its usage (Dialog.usage): the table holds the dialog alone, under its own Call-ID. */
  private readonly dialogs = new DialogTable();
  /** Dialogs expected from a request we sent (NOTIFY before the SUBSCRIBE's 2xx, RFC 6665 §4.1.2.4): Call-ID + local tag. */
  private readonly pending = new Map<string, DialogUsage>();
  private readonly inDialogMethods = new Set<string>();
  private closed = false;

  constructor(readonly options: UserAgentOptions) {
    options.transactions.onRequest((txn, request, received) => this.receive(txn, request, received));
    options.transactions.onAck((ack) => this.receiveAck(ack));
  }

  get node(): string {
    return this.options.node;
  }

  get contact(): string {
    return this.options.contact;
  }

  /** Registers the handler for out-of-dialog requests of one method. */
  onRequest(method: string, handler: RequestHandlerFn): void {
    this.handlers.set(method.toUpperCase(), handler);
  }

  /** Methods this UA answers other than with 405 (§20.5 Allow). */
  get allowed(): string[] {
    return [...new Set(['ACK', 'CANCEL', ...this.handlers.keys(), ...this.inDialogMethods])];
  }

  newTag(): string {
    return this.options.random.token(10);
  }

  newCallId(): string {
    return this.options.random.token(24);
  }

  /** §8.1.1: a request outside any dialog, with fresh tag and Call-ID unless given. */
  createRequest(method: string, target: string, o: RequestOptions = {}): SipRequest {
    const from = o.from ?? this.options.identity;
    if (from === undefined) throw new Error('createRequest: no From (set options.identity or pass from)');
    const contact = o.contact === null ? undefined : (o.contact ?? (DIALOG_FORMING.has(method) ? `<${this.options.contact}>` : undefined));
    const request = buildRequest({
      method,
      uri: target,
      from,
      fromTag: o.fromTag ?? this.newTag(),
      to: o.to ?? `<${target}>`,
      callId: o.callId ?? this.newCallId(),
      cseq: o.cseq ?? 1,
      contact,
      routeSet: o.routeSet,
      headers: o.headers,
      body: o.body,
      contentType: o.contentType,
    });
    if (this.options.product) request.headers.set('User-Agent', this.options.product);
    return request;
  }

  /** Builds and sends a request outside any dialog; resolves with its final response. */
  request(method: string, target: string, o: RequestOptions & SendOptions = {}): Promise<ClientResult> {
    let request: SipRequest;
    try {
      request = this.createRequest(method, target, o);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.send(request, o);
  }

  /**
   * Sends a built request in a client transaction. On 401/407 the challenge handler may supply credentials:
   * the retry is a copy with CSeq + 1, same Call-ID and tags, and a new branch (§8.1.3.5, §22.2). Resolves with
   * the final response; rejects only when the request cannot be sent at all (no next hop, UA closed).
   */
  async send(request: SipRequest, o: SendOptions = {}): Promise<ClientResult> {
    if (this.closed) throw new Error(`${this.node}: user agent is closed`);
    const destination = o.destination ?? nextHop(request, this.options.outboundProxy, this.resolve);
    const maxChallenges = o.maxChallenges ?? 3;
    let current = request;
    for (let attempt = 0; ; attempt++) {
      const pristine = current.clone();
      const result = await this.sendOnce(current, destination, o.onProvisional);
      const status = result.response.status;
      if ((status !== 401 && status !== 407) || !o.onChallenge || attempt >= maxChallenges || this.closed) return result;
      const answer = await o.onChallenge(result.response, pristine);
      if (!answer || this.closed) return result;
      const next = pristine;
      const cseq = parseCSeq(next.headers.get('CSeq') ?? '');
      next.headers.set('CSeq', `${cseq.seq + 1} ${cseq.method}`);
      for (const [name, value] of Object.entries(answer.headers)) replaceHeader(next, name, value);
      current = next;
    }
  }

  /** DialogSender: a request built by a Dialog, sent to its route set's first hop. */
  sendInDialog(dialog: Dialog, request: SipRequest, o: SendOptions = {}): Promise<ClientResult> {
    if (request.method === 'ACK') return Promise.reject(new Error('an ACK for a 2xx is sent with ack(), outside any transaction (RFC 3261 §13.2.2.4)'));
    if (this.options.product) request.headers.set('User-Agent', this.options.product);
    return this.send(request, o);
  }

  /**
   * §13.2.2.4: the ACK for a 2xx is a request of the dialog with the INVITE's CSeq number, sent without a
   * transaction (its own Via and branch) to the route set's first hop.
   */
  async ack(dialog: Dialog, inviteCseq: number, o: { destination?: TransportAddress; body?: Buffer | string; contentType?: string } = {}): Promise<SipRequest> {
    const ack = dialog.createRequest('ACK', { cseq: inviteCseq, ...(o.body !== undefined ? { body: o.body } : {}), ...(o.contentType ? { contentType: o.contentType } : {}) });
    const to = o.destination ?? nextHop(ack, this.options.outboundProxy, this.resolve);
    const t = this.options.transactions;
    ack.headers.prepend('Via', t.viaFor(to.transport, t.newBranch()));
    await t.sendStateless(ack, to);
    return ack;
  }

  // ---- dialogs ----

  /** Puts a dialog in the table so that requests carrying its ID reach `usage` (§12.2.2). */
  attachDialog(dialog: Dialog, usage: DialogUsage): void {
    dialog.sender = this;
    for (const m of usage.methods) this.inDialogMethods.add(m.toUpperCase());
    dialog.usage = usage;
    this.dialogs.set(dialog);
  }

  detachDialog(dialog: Dialog): void {
    this.dialogs.delete(dialog);
  }

  findDialog(callId: string, localTag: string, remoteTag: string): Dialog | undefined {
    return this.dialogs.get(callId, localTag, remoteTag);
  }

  /** Routes requests with this Call-ID and local tag to `usage` until a dialog is attached (RFC 6665 §4.1.2.4). */
  expectDialog(callId: string, localTag: string, usage: DialogUsage): () => void {
    const key = `${callId}\u0000${localTag}`;
    for (const m of usage.methods) this.inDialogMethods.add(m.toUpperCase());
    this.pending.set(key, usage);
    return () => {
      if (this.pending.get(key) === usage) this.pending.delete(key);
    };
  }

  get dialogCount(): number {
    return this.dialogs.size;
  }

  /** Stops dispatching; the owner closes the transaction layer and transport. */
  close(): void {
    this.closed = true;
    for (const dialog of this.dialogs.values()) dialog.terminate();
    this.dialogs.clear();
    this.pending.clear();
  }

  // ---- internals ----

  private readonly resolve = (host: string): string | undefined => this.options.resolveHost?.(host);

  private sendOnce(request: SipRequest, destination: TransportAddress, onProvisional?: (r: SipResponse) => void): Promise<ClientResult> {
    return new Promise<ClientResult>((resolve, reject) => {
      try {
        this.options.transactions.sendRequest(request, destination, settleOnce({ request, resolve, onProvisional }));
      } catch (err) {
        reject(err);
      }
    });
  }

  private receive(txn: ServerTransaction, request: SipRequest, received: ReceivedMessage): void {
    const incoming = new IncomingRequest(txn, request, received, () => this.newTag(), (r) => {
      if (this.options.product) r.headers.set('Server', this.options.product);
    });
    if (this.closed) {
      this.refuse(incoming, 503, 'Service Unavailable', 'the user agent is shutting down', 'RFC 3261 §21.5.4');
      return;
    }
    // §8.2: a request whose dialog-identifying headers cannot be read gets 400 with the reason.
    let toTag: string | undefined;
    let fromTag: string | undefined;
    let callId: string;
    try {
      callId = parseCallId(request.headers.get('Call-ID') ?? '');
      fromTag = parseNameAddr(request.headers.get('From') ?? '').tag;
      toTag = parseNameAddr(request.headers.get('To') ?? '').tag;
      parseCSeq(request.headers.get('CSeq') ?? '');
    } catch (err) {
      this.refuse(incoming, 400, `Bad Request (${(err as Error).message})`, (err as Error).message, 'RFC 3261 §8.2');
      return;
    }
    const method = request.method;
    if (method === 'CANCEL') {
      this.receiveCancel(incoming);
      return;
    }
    // §8.2.1 method inspection.
    const allowed = this.allowed;
    if (!allowed.includes(method)) {
      this.refuse(incoming, 405, 'Method Not Allowed', `${method} is not supported here`, 'RFC 3261 §8.2.1', [['Allow', allowed.join(', ')]]);
      return;
    }
    // §8.2.2.3: every Require option tag must be understood.
    let unsupported: string[];
    try {
      const supported = this.options.supported ?? [];
      unsupported = parseOptionTags(request.headers, 'Require').filter((t) => !supported.includes(t));
    } catch (err) {
      this.refuse(incoming, 400, `Bad Request (${(err as Error).message})`, (err as Error).message, 'RFC 3261 §8.2');
      return;
    }
    if (unsupported.length > 0) {
      this.refuse(incoming, 420, 'Bad Extension', `unsupported Require: ${unsupported.join(', ')}`, 'RFC 3261 §8.2.2.3', [['Unsupported', unsupported.join(', ')]]);
      return;
    }
    if (toTag !== undefined) {
      this.receiveInDialog(incoming, callId, toTag, fromTag);
      return;
    }
    const handler = this.handlers.get(method);
    if (!handler) {
      // Known only as an in-dialog method: outside a dialog it cannot be processed.
      this.refuse(incoming, 481, 'Call/Transaction Does Not Exist', `${method} outside a dialog`, 'RFC 3261 §12.2.2');
      return;
    }
    handler(incoming);
  }

  /** §12.2.2: the dialog by ID, else 481; CSeq order checked; then the usage. */
  private receiveInDialog(incoming: IncomingRequest, callId: string, localTag: string, remoteTag: string | undefined): void {
    const dialog = remoteTag !== undefined ? this.dialogs.get(callId, localTag, remoteTag) : undefined;
    const usage = dialog?.usage;
    if (!dialog || !usage) {
      const pending = this.pending.get(`${callId}\u0000${localTag}`);
      if (pending && pending.methods.includes(incoming.method)) {
        pending.onRequest(incoming);
        return;
      }
      this.refuse(incoming, 481, 'Call/Transaction Does Not Exist', `no dialog ${callId} for ${incoming.method}`, 'RFC 3261 §12.2.2');
      return;
    }
    if (!usage.methods.includes(incoming.method)) {
      this.refuse(incoming, 405, 'Method Not Allowed', `${incoming.method} is not supported in this dialog`, 'RFC 3261 §8.2.1', [['Allow', usage.methods.join(', ')]]);
      return;
    }
    const wrong = dialog.checkRemoteRequest(incoming.request);
    if (wrong) {
      this.refuse(incoming, wrong.status, wrong.reason, 'CSeq lower than the last one received in the dialog', 'RFC 3261 §12.2.2');
      return;
    }
    incoming.dialog = dialog;
    usage.onRequest(incoming);
  }

  /** §9.2: CANCEL matches an INVITE server transaction; 200 to the CANCEL and 487 to the INVITE, else 481. */
  private receiveCancel(incoming: IncomingRequest): void {
    const invite = this.options.transactions.findInviteServerTransaction(incoming.request);
    if (!invite) {
      this.refuse(incoming, 481, 'Call/Transaction Does Not Exist', 'CANCEL matches no INVITE', 'RFC 3261 §9.2');
      return;
    }
    incoming.respond(200);
    if (invite.state === 'proceeding' || invite.state === 'trying') {
      const to = invite.request.headers.get('To');
      const tag = invite.lastResponse?.headers.get('To');
      const response = createResponse(invite.request, 487, 'Request Terminated', parseNameAddr(tag ?? to ?? '').tag ?? this.newTag());
      response.headers.set('Content-Length', '0');
      invite.respond(response);
    }
  }

  private receiveAck(ack: SipRequest): void {
    try {
      const callId = ack.headers.get('Call-ID') ?? '';
      const localTag = parseNameAddr(ack.headers.get('To') ?? '').tag;
      const remoteTag = parseNameAddr(ack.headers.get('From') ?? '').tag;
      if (localTag === undefined || remoteTag === undefined) return;
      this.dialogs.get(callId, localTag, remoteTag)?.usage?.onAck?.(ack);
    } catch {
      // An unreadable ACK gets no response (§17.2.3); nothing to do.
    }
  }

  private refuse(
    incoming: IncomingRequest,
    status: number,
    reason: string,
    why: string,
    clause: string,
    headers: Array<[string, string]> = [],
  ): void {
    this.options.trace?.note({ node: this.node, level: 'info', text: `${incoming.method} refused with ${status}: ${why}`, clause });
    incoming.respond(status, { reason, headers });
  }
}

/**
 * The TU handlers of one request sent by the UA core: the first final settles the promise, later ones (2xx
 * retransmissions an INVITE transaction passes up in Accepted, RFC 6026 §7.2) are not the promise's. Made
 * outside sendOnce, whose scope holds the request, and emptied when settled: the transaction keeps these
 * handlers for Timer M (64·T1), and neither the request nor the resolved result need live that long.
 */
function settleOnce(pending: { request?: SipRequest; resolve?: (r: ClientResult) => void; onProvisional?: ((r: SipResponse) => void) | undefined }): ClientTransactionHandlers {
  return {
    provisional: (r) => pending.onProvisional?.(r),
    final: (response, cause) => {
      const { request, resolve } = pending;
      if (!request || !resolve) return;
      pending.request = undefined;
      pending.resolve = undefined;
      pending.onProvisional = undefined;
      resolve({ request, response, cause });
    },
  };
}
