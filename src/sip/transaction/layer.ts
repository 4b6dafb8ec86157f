import type { TraceBus } from '../../trace/events.js';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import { parseCSeq } from '../headers/cseq.js';
import { formatVia, MAGIC_COOKIE, parseVia, type Via } from '../headers/via.js';
import { isRequest, type SipMessage, type SipRequest, type SipResponse } from '../message.js';
import { canonicalHost, defaultPort, ipFamily } from '../transport/address.js';
import { responseDestination } from '../transport/inbound.js';
import type { ReceivedMessage, SendOptions, SipTransportLayer, TransportAddress, TransportProtocol } from '../transport/types.js';
import { buildCancel } from './ack.js';
import { ClientInviteTransaction } from './client-invite.js';
import { ClientNonInviteTransaction } from './client-non-invite.js';
import { TransactionCounters } from './counters.js';
import type { TransactionEnv } from './env.js';
import { createResponse, tagOf } from './response.js';
import { ServerInviteTransaction, UAS_TRYING, type TryingPolicy } from './server-invite.js';
import { ServerNonInviteTransaction } from './server-non-invite.js';
import { flat } from './flat.js';
import { timerSettings, type TimerOwner, type TimerSettings } from './timers.js';
import { WaitQueue } from './wait-queue.js';
import type { ClientTransaction, ClientTransactionHandlers, ServerTransaction } from './types.js';

export interface TransactionLayerOptions {
  /** T1, T2, T4 and Timer D; unset values follow T1 (see timerSettings). */
  timers?: Partial<TimerSettings>;
  /** When INVITE server transactions send 100 (Trying) by themselves: 200 ms for a UAS, 'immediate' for a proxy. */
  trying?: TryingPolicy;
  /** Where timer expiries and transport failures are noted, under this node's name. */
  trace?: TraceBus;
  node?: string;
}

/** A request that starts a new server transaction, handed to the TU (§17.2: "the TU is passed the request"). */
export type RequestHandler = (txn: ServerTransaction, request: SipRequest, received: ReceivedMessage) => void;
/** An ACK that no server transaction absorbed: the ACK for a 2xx, end to end (§13.3.1.4, §17.2.3). */
export type AckHandler = (ack: SipRequest, received: ReceivedMessage) => void;
/** A response that matched no client transaction (§17.1.3): a 2xx after Timer M, or one a stateless proxy relays. */
export type StrayResponseHandler = (response: SipResponse, received: ReceivedMessage) => void;

type ClientTxn = ClientInviteTransaction | ClientNonInviteTransaction;
type ServerTxn = ServerInviteTransaction | ServerNonInviteTransaction;

/** Server transaction bookkeeping for RFC 2543 peers whose branches lack the magic cookie (§17.2.3). */
interface LegacyEntry {
  txn: ServerTxn;
  /** The To tag of the request that created the transaction. */
  requestToTag: string | undefined;
}

/**
 * The transaction layer of one node (RFC 3261 §17): creates client transactions for the TU's requests,
 * matches every inbound message to its transaction (§17.1.3, §17.2.3) and creates server transactions for new
 * requests. It pushes this node's Via on every request it sends, with a branch from the injected Random
 * (§8.1.1.7) or the one the TU chose (a proxy's loop-detecting branch, §16.6 step 8; a CANCEL's, §9.1).
 */
export class TransactionLayer {
  readonly counters = new TransactionCounters();
  readonly timers: TimerSettings;

  private readonly clients = new Map<string, ClientTxn>();
  private readonly servers = new Map<string, ServerTxn>();
  private readonly legacy = new Map<string, LegacyEntry>();
  private readonly pendingCancels = new Map<ClientInviteTransaction, () => void>();
  private requestHandler: RequestHandler | undefined;
  private ackHandler: AckHandler | undefined;
  private strayHandler: StrayResponseHandler | undefined;
  private readonly trying: TryingPolicy;
  private closed = false;
  private readonly ports: LayerPorts;

  constructor(
    readonly transport: SipTransportLayer,
    readonly clock: Clock,
    private readonly random: Random,
    private readonly options: TransactionLayerOptions = {},
  ) {
    this.timers = timerSettings(options.timers);
    this.trying = options.trying ?? UAS_TRYING;
    this.ports = { clock, timers: this.timers, counters: this.counters, note: this.note, transport, pendingCancels: this.pendingCancels, waits: new Map() };
    transport.onMessage((m) => this.receive(m));
  }

  /** The TU's entry for new requests. One handler per layer. */
  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  onAck(handler: AckHandler): void {
    this.ackHandler = handler;
  }

  onStrayResponse(handler: StrayResponseHandler): void {
    this.strayHandler = handler;
  }

  /** Transactions alive now. */
  get size(): { client: number; server: number } {
    return { client: this.clients.size, server: this.servers.size + this.legacy.size };
  }

  /** A fresh RFC 3261 branch: the magic cookie and 16 hex characters from this node's Random (§8.1.1.7). */
  newBranch(): string {
    return MAGIC_COOKIE + this.random.token(16);
  }

  /** The Via this node puts on a request sent over `transport` (§18.1.1: sent-by is where responses come back). */
  viaFor(transport: TransportProtocol, branch: string): string {
    const local = this.transport.localAddress(transport);
    const host = ipFamily(local.address) === 6 ? `[${local.address}]` : local.address;
    return formatVia({ protocol: 'SIP/2.0', transport: transport.toUpperCase(), host, port: local.port, params: new Map(), branch });
  }

  /**
   * Sends a request in a new client transaction. The layer pushes this node's Via onto `request` (with
   * `options.branch`, or a new one). ACK is never sent this way: the ACK for a 2xx is its own transaction-less
   * request (sendStateless), the ACK for a non-2xx is built inside the INVITE transaction.
   */
  sendRequest(
    request: SipRequest,
    destination: TransportAddress,
    handlers: ClientTransactionHandlers,
    options: { branch?: string } = {},
  ): ClientTransaction {
    if (this.closed) throw new Error('transaction layer is closed');
    if (request.method === 'ACK') throw new Error('ACK is not sent in a client transaction (RFC 3261 §17.1.1.3, §13.2.2.4)');
    const branch = flat(options.branch ?? this.newBranch());
    const key = flat(clientKey(branch, request.method));
    if (this.clients.has(key)) throw new Error(`a ${request.method} client transaction with branch ${branch} already exists`);
    request.headers.prepend('Via', this.viaFor(destination.transport, branch));
    const env = this.clientEnv(destination, key);
    const txn: ClientTxn =
      request.method === 'INVITE'
        ? new ClientInviteTransaction(env, request, destination, branch, handlers)
        : new ClientNonInviteTransaction(env, request, destination, branch, handlers);
    this.clients.set(key, txn);
    this.counters.clientTransactionsCreated++;
    txn.start();
    return txn;
  }

  /**
   * Cancels an INVITE client transaction (§9.1): the CANCEL carries the INVITE's Request-URI, Call-ID, To, From,
   * CSeq number, Route set and top Via branch, and goes to the same destination in its own non-INVITE
   * transaction. Before any provisional response it waits for one; after a final response it is not sent.
   * If no final response follows within 64·T1, the INVITE transaction ends with a synthetic 487.
   */
  cancel(
    txn: ClientTransaction,
    extra: ReadonlyArray<readonly [string, string]> = [],
    handlers: ClientTransactionHandlers = { final: () => {} },
  ): void {
    if (!(txn instanceof ClientInviteTransaction)) return;
    if (txn.state !== 'calling' && txn.state !== 'proceeding') return;
    if (this.pendingCancels.has(txn)) return;
    const send = () => {
      if (txn.state !== 'proceeding') return;
      const cancel = buildCancel(txn.request, extra);
      if (this.clients.has(clientKey(txn.branch, 'CANCEL'))) return;
      this.sendRequest(cancel, txn.destination, handlers, { branch: txn.branch });
      this.clock.setTimeout(() => txn.cancelExpired(), 64 * this.timers.t1);
    };
    if (txn.provisionalReceived) send();
    else this.pendingCancels.set(txn, send);
  }

  /**
   * The INVITE server transaction a CANCEL refers to (§9.2): same branch, sent-by and Request-URI-independent
   * matching as §17.2.3 but with method INVITE; RFC 2543 rules for branches without the magic cookie.
   */
  findInviteServerTransaction(cancel: SipRequest): ServerTransaction | undefined {
    try {
      const via = parseVia(cancel.headers.first('Via') ?? '');
      if (via.branch?.startsWith(MAGIC_COOKIE)) return this.servers.get(serverKey(via, 'INVITE'));
      const entry = this.legacy.get(legacyKey(cancel, via, 'INVITE'));
      if (entry && entry.requestToTag === tagOf(cancel.headers.get('To'))) return entry.txn;
    } catch {
      // An unreadable Via or CSeq matches nothing.
    }
    return undefined;
  }

  /** Sends a message outside any transaction: the ACK for a 2xx, or a stateless proxy's relay (§16.11). */
  sendStateless(message: SipMessage, destination: TransportAddress, options?: SendOptions): Promise<void> {
    return this.transport.send(message, destination, options);
  }

  /** Ends every transaction without sending anything more. The transport stays open (its owner closes it). */
  close(): void {
    this.closed = true;
    for (const t of [...this.clients.values()]) t.abort();
    for (const t of [...this.servers.values()]) t.abort();
    for (const e of [...this.legacy.values()]) e.txn.abort();
    this.clients.clear();
    this.servers.clear();
    this.legacy.clear();
    this.pendingCancels.clear();
    for (const q of this.ports.waits.values()) q.clear();
  }

  /**
   * The environment of a client transaction: an object of its own, not closures made in sendRequest, which would
   * share that function's scope and keep the TU's handlers (and all they hold) alive for as long as the
   * transaction keeps its environment, through Completed (§17.1.2.2 Timer K), after the TU let go of them.
   */
  private clientEnv(destination: TransportAddress, key: string): TransactionEnv {
    return new TransactionLink(this.ports, destination.transport !== 'udp', destination, undefined, key, this.clients);
  }

  /** The environment of a server transaction, apart from createServer for the reason given at clientEnv. */
  private serverEnv(transport: TransportProtocol, destination: TransportAddress, connectionId: string | undefined, key: string, modern: boolean): TransactionEnv {
    return new TransactionLink(this.ports, transport !== 'udp', destination, connectionId ? { connectionId } : undefined, key, modern ? this.servers : this.legacy);
  }

  /** One for the layer, shared by every transaction's environment. */
  readonly note: TransactionEnv['note'] = this.options.trace
    ? (text, clause) => this.options.trace!.note({ node: this.options.node ?? 'sip', level: 'info', text, clause })
    : undefined;

  private receive(m: ReceivedMessage): void {
    if (this.closed) return;
    try {
      if (isRequest(m.message)) this.receiveRequest(m.message, m);
      else this.receiveResponse(m.message, m);
    } catch (err) {
      // No message may crash the node: what cannot be matched is dropped, and the reason noted.
      this.options.trace?.note({
        node: this.options.node ?? 'sip',
        level: 'warn',
        text: `transaction layer dropped a message: ${(err as Error).message}`,
        clause: 'RFC 3261 §17',
      });
    }
  }

  /** §17.1.3: the top Via branch and the CSeq method identify the client transaction. */
  private receiveResponse(response: SipResponse, m: ReceivedMessage): void {
    const via = m.topVia ?? parseVia(response.headers.first('Via') ?? '');
    const method = parseCSeq(response.headers.get('CSeq') ?? '').method;
    const txn = via.branch !== undefined ? this.clients.get(clientKey(via.branch, method)) : undefined;
    if (txn) {
      txn.receive(response, m);
      return;
    }
    this.counters.strayMessages++;
    this.strayHandler?.(response, m);
  }

  private receiveRequest(request: SipRequest, m: ReceivedMessage): void {
    const via = m.topVia ?? parseVia(request.headers.first('Via') ?? '');
    const cseq = parseCSeq(request.headers.get('CSeq') ?? '');
    const method = request.method;
    const modern = via.branch !== undefined && via.branch.startsWith(MAGIC_COOKIE);

    if (method === 'ACK') {
      const txn = this.findServer(request, via, 'INVITE', modern, true);
      if (txn instanceof ServerInviteTransaction && txn.receiveAck()) return;
      if (!txn) this.counters.strayMessages++;
      this.ackHandler?.(request, m);
      return;
    }

    const existing = this.findServer(request, via, method, modern, false);
    if (existing) {
      existing.receiveRequest();
      return;
    }
    if (cseq.method !== method) {
      // §8.2 (RFC 4475 §3.1.2.16): the CSeq method must equal the request method. Such a request starts no
      // transaction; the sender is told why with a 400, sent statelessly where the top Via asks for it.
      const reason = `CSeq method ${cseq.method} differs from request method ${method}`;
      const bad = createResponse(request, 400, 'Bad Request - CSeq method mismatch', this.random.token(8));
      const destination = responseDestination(via) ?? m.source;
      void this.transport.send(bad, destination, m.connectionId ? { connectionId: m.connectionId } : undefined).catch(() => undefined);
      this.options.trace?.note({ node: this.options.node ?? 'sip', level: 'warn', text: `400 sent: ${reason}`, clause: 'RFC 3261 §8.2' });
      return;
    }
    this.createServer(request, via, m, modern);
  }

  private findServer(request: SipRequest, via: Via, method: string, modern: boolean, isAck: boolean): ServerTxn | undefined {
    if (modern) return this.servers.get(serverKey(via, method));
    const entry = this.legacy.get(legacyKey(request, via, method));
    if (!entry) return undefined;
    const tag = tagOf(request.headers.get('To'));
    // §17.2.3: an ACK carries the To tag of the response it acknowledges; a retransmission the request's own.
    if (tag === entry.requestToTag || (isAck && tag !== undefined && tag === entry.txn.finalToTag)) return entry.txn;
    return undefined;
  }

  private createServer(request: SipRequest, via: Via, m: ReceivedMessage, modern: boolean): void {
    const key = flat(modern ? serverKey(via, request.method) : legacyKey(request, via, request.method));
    const env = this.serverEnv(m.source.transport, responseDestination(via) ?? m.source, m.connectionId, key, modern);
    // The branch as a slice of the key the table keeps anyway, not of the Via line it was parsed from.
    const branch = modern ? key.slice(0, via.branch!.length) : (via.branch ?? '');
    const txn: ServerTxn =
      request.method === 'INVITE'
        ? new ServerInviteTransaction(env, request, m, branch, this.trying)
        : new ServerNonInviteTransaction(env, request, m, branch);
    if (modern) this.servers.set(key, txn);
    else this.legacy.set(key, { txn, requestToTag: tagOf(request.headers.get('To')) });
    this.counters.serverTransactionsCreated++;
    if (txn instanceof ServerInviteTransaction) txn.start();

    const tu = this.requestHandler;
    if (!tu) {
      txn.respond(createResponse(request, 503, 'Service Unavailable', this.random.token(8)));
      return;
    }
    try {
      tu(txn, request, m);
    } catch (err) {
      // A failing TU must not leave the client waiting (§8.2.6): 500 if nothing final was sent yet.
      if (txn.state === 'trying' || txn.state === 'proceeding') {
        txn.respond(createResponse(request, 500, 'Server Internal Error', this.random.token(8)));
      }
      throw err;
    }
  }
}

/** What the environments of one layer's transactions share: made once per layer, not copied into each. */
interface LayerPorts {
  readonly clock: Clock;
  readonly timers: TimerSettings;
  readonly counters: TransactionCounters;
  readonly note: TransactionEnv['note'];
  readonly transport: SipTransportLayer;
  readonly pendingCancels: Map<ClientInviteTransaction, () => void>;
  /** One queue per duration for Timers D, I, J, K, L and M (a layer uses at most four: 64·T1, T4, D and zero). */
  readonly waits: Map<number, WaitQueue>;
}

/**
 * A transaction's link to the layer that owns it: where its messages go and the table it leaves when it ends.
 * One plain object per transaction, holding only what differs between transactions, since a core under load
 * holds tens of thousands of them for Timers J, L and M; the key is the very string the table holds.
 */
class TransactionLink implements TransactionEnv {
  constructor(
    private readonly ports: LayerPorts,
    readonly reliable: boolean,
    private readonly destination: TransportAddress,
    private readonly sendOptions: SendOptions | undefined,
    private readonly key: string,
    private readonly table: Map<string, unknown>,
  ) {}

  get clock(): Clock {
    return this.ports.clock;
  }

  get timers(): TimerSettings {
    return this.ports.timers;
  }

  get counters(): TransactionCounters {
    return this.ports.counters;
  }

  get note(): TransactionEnv['note'] {
    return this.ports.note;
  }

  send(message: SipMessage): Promise<void> {
    return this.ports.transport.send(message, this.destination, this.sendOptions);
  }

  sendSerialized(bytes: Buffer): Promise<void> {
    return this.ports.transport.sendSerialized(bytes, this.destination, this.sendOptions);
  }

  wait(owner: TimerOwner, timer: 'D' | 'I' | 'J' | 'K' | 'L' | 'M', ms: number): void {
    let queue = this.ports.waits.get(ms);
    if (!queue) this.ports.waits.set(ms, (queue = new WaitQueue(this.ports.clock, ms)));
    queue.start(owner, timer);
  }

  /** §9.1: a CANCEL the TU asked for before any provisional response goes out with the first one. */
  provisionalReceived(txn: object): void {
    const cancel = this.ports.pendingCancels.get(txn as ClientInviteTransaction);
    if (!cancel) return;
    this.ports.pendingCancels.delete(txn as ClientInviteTransaction);
    cancel();
  }

  /** A final response leaves nothing to cancel (§9.1): a CANCEL still waiting for a provisional is dropped. */
  finalReceived(txn: object): void {
    this.ports.pendingCancels.delete(txn as ClientInviteTransaction);
  }

  terminated(): void {
    const txn = this.table.get(this.key);
    if (txn instanceof ClientInviteTransaction) this.ports.pendingCancels.delete(txn);
    this.table.delete(this.key);
  }
}

function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** §17.2.3: branch, sent-by and method, with ACK matching its INVITE. The branch is compared case-sensitively. */
function serverKey(via: Via, method: string): string {
  const transport = via.transport.toLowerCase() === 'tls' ? 'tls' : 'udp';
  return `${via.branch}|${canonicalHost(via.host)}:${via.port ?? defaultPort(transport)}|${method === 'ACK' ? 'INVITE' : method}`;
}

/**
 * §17.2.3 for RFC 2543 clients: Request-URI, From tag, Call-ID, CSeq number and method, and the top Via
 * (the To tag is checked separately because an ACK carries the tag of the response).
 */
function legacyKey(request: SipRequest, via: Via, method: string): string {
  const cseq = parseCSeq(request.headers.get('CSeq') ?? '');
  return [
    'rfc2543',
    request.uri,
    tagOf(request.headers.get('From')) ?? '',
    request.headers.get('Call-ID') ?? '',
    cseq.seq,
    method === 'ACK' ? 'INVITE' : method,
    formatVia({ ...via, received: undefined, rport: undefined }),
  ].join('|');
}
