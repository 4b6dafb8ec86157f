import type { Socket } from 'node:net';
import { avp } from './avp.js';
import {
  buildCapabilitiesExchangeAnswer,
  buildCapabilitiesExchangeRequest,
  commonApplications,
  readPeerIdentity,
  type LocalIdentity,
  type PeerIdentity,
} from './capabilities.js';
import { DiameterMessageError, decodeMessage, encodeMessage } from './codec.js';
import { BaseAvpCode, BaseCommandCode } from './dictionary/base.js';
import type { Dictionary } from './dictionary/index.js';
import { DiameterFramer } from './framing.js';
import { CommandFlags, DiameterMessage } from './message.js';
import { ResultCode, resultCodeName } from './result-codes.js';
import { errorAnswer, salvageSessionId } from './validation.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { TurnWriter } from '../util/turn-writer.js';
import type { Endpoint, TraceBus } from '../trace/events.js';

/**
 * One Diameter peer connection over TCP: the peer state machine of RFC 6733 §5.6 reduced to a single
 * connection per peer (no election), the watchdog of RFC 3539 §3.4, and request/answer matching by
 * Hop-by-Hop Identifier (§6.2).
 *
 *   initiator: Closed → Wait-CEA (CER sent) → Open → Closing (DPR sent / received) → Closed
 *   acceptor:  Closed → Wait-CER             → Open → Closing                     → Closed
 */
export type PeerState = 'Wait-CEA' | 'Wait-CER' | 'Open' | 'Closing' | 'Closed';

/** Disconnect-Cause (RFC 6733 §5.4.3). */
export const DisconnectCause = {
  REBOOTING: 0,
  BUSY: 1,
  DO_NOT_WANT_TO_TALK_TO_YOU: 2,
} as const;

export class DiameterTimeoutError extends Error {
  constructor(
    readonly commandCode: number,
    readonly hopByHop: number,
    readonly timeoutMs: number,
  ) {
    super(`Diameter request ${commandCode} (hop-by-hop 0x${hopByHop.toString(16)}) got no answer within ${timeoutMs} ms`);
    this.name = 'DiameterTimeoutError';
  }
}

export class DiameterConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiameterConnectionError';
  }
}

/** What a connection needs from the node that owns it. */
export interface ConnectionOwner {
  readonly nodeName: string;
  readonly identity: LocalIdentity;
  readonly clock: Clock;
  readonly random: Random;
  readonly trace: TraceBus;
  readonly dictionary: Dictionary;
  readonly watchdogIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly maxMessageLength: number;
  /** Next End-to-End Identifier of this originator (§3). */
  nextEndToEnd(): number;
  /** RFC 6733 §5.3: whether a peer that sent CER may connect (DIAMETER_UNKNOWN_PEER otherwise). */
  acceptPeer(peer: PeerIdentity): boolean;
  /** Answers an application request that arrived on an open connection. */
  handleRequest(req: DiameterMessage, conn: DiameterConnection): Promise<DiameterMessage>;
  connectionOpened(conn: DiameterConnection): void;
  connectionClosed(conn: DiameterConnection): void;
}

interface Pending {
  resolve(m: DiameterMessage): void;
  reject(e: Error): void;
  endToEnd: number;
  commandCode: number;
  deadline: number;
  timer?: TimerHandle;
}

export interface RequestOptions {
  /** Overrides the node's request timeout for this request. */
  timeoutMs?: number;
}

export class DiameterConnection {
  state: PeerState;
  /** The peer's identity from its CER or CEA; set once the connection is Open. */
  peer: PeerIdentity | undefined;
  /** Application ids both sides support (§5.3). */
  applications: number[] = [];
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Settles when the connection is Open (initiator: CEA 2001 received; acceptor: CEA 2001 sent). */
  readonly opened: Promise<void>;
  /** Settles when the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;
  /** Why the connection closed, if it did. */
  closeReason: string | undefined;

  private readonly framer: DiameterFramer;
  private readonly pending = new Map<number, Pending>();
  /** Deadlines in send order: with one timeout for all, they are monotonic and one timer serves them all. */
  private readonly deadlines: { hopByHop: number; deadline: number }[] = [];
  private deadlineHead = 0;
  private deadlineTimer: TimerHandle | undefined;
  private hopByHop: number;
  private readonly writer: TurnWriter;
  private resolveOpened!: () => void;
  private rejectOpened!: (e: Error) => void;
  private resolveClosed!: () => void;

  // RFC 3539 §3.4 watchdog state.
  private watchdogState: 'OKAY' | 'SUSPECT' = 'OKAY';
  private watchdogPending = false;
  private watchdogTimer: TimerHandle | undefined;
  private receivedSinceArm = false;
  private lastReceived = 0;

  constructor(
    private readonly owner: ConnectionOwner,
    private readonly socket: Socket,
    readonly role: 'initiator' | 'acceptor',
  ) {
    this.state = role === 'initiator' ? 'Wait-CEA' : 'Wait-CER';
    this.local = { address: normaliseAddress(socket.localAddress), port: socket.localPort ?? 0 };
    this.remote = { address: normaliseAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
    this.framer = new DiameterFramer(owner.maxMessageLength);
    this.writer = new TurnWriter(socket);
    // §3: Hop-by-Hop "SHOULD be initially set to a random value"; then increases per request.
    this.hopByHop = owner.random.int(0x1_0000_0000) >>> 0;
    this.opened = new Promise<void>((res, rej) => {
      this.resolveOpened = res;
      this.rejectOpened = rej;
    });
    // Callers that only await `closed` must not see an unhandled rejection from `opened`.
    this.opened.catch(() => undefined);
    this.closed = new Promise<void>((res) => (this.resolveClosed = res));

    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.teardown(`socket error: ${e.message}`));
    socket.on('close', () => this.teardown(this.closeReason ?? 'closed by the peer'));
    socket.on('end', () => {
      // The peer half-closed: nothing more will arrive, answers cannot be matched any more.
      if (!socket.destroyed) socket.end();
    });
  }

  /** Initiator: sends CER (§5.3). */
  start(): void {
    if (this.role !== 'initiator') return;
    const cer = buildCapabilitiesExchangeRequest(this.owner.identity);
    this.sendRequestInternal(cer, this.owner.requestTimeoutMs).then(
      (cea) => this.onCapabilitiesAnswer(cea),
      (e: Error) => this.failOpen(`no CEA: ${e.message}`),
    );
  }

  /** Requests answered but not yet matched. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a request and resolves with its answer (matched by Hop-by-Hop Identifier, §6.2). Sets the
   * R bit and both identifiers. Rejects with DiameterTimeoutError when no answer arrives in time.
   */
  request(msg: DiameterMessage, opts: RequestOptions = {}): Promise<DiameterMessage> {
    if (this.state !== 'Open') {
      return Promise.reject(new DiameterConnectionError(`connection to ${this.describePeer()} is ${this.state}, not Open`));
    }
    return this.sendRequestInternal(msg, opts.timeoutMs ?? this.owner.requestTimeoutMs);
  }

  /**
   * Graceful close (§5.4): DPR, wait for DPA (bounded by the request timeout), then close the transport.
   * Requests still waiting are rejected.
   */
  async disconnect(cause: number = DisconnectCause.REBOOTING): Promise<void> {
    if (this.state === 'Closed') return;
    if (this.state !== 'Open') {
      this.destroy('closed before it was open');
      return this.closed;
    }
    this.state = 'Closing';
    const o = this.owner.identity;
    const dpr = DiameterMessage.request(
      BaseCommandCode.DisconnectPeer,
      0,
      [avp('Origin-Host', o.originHost), avp('Origin-Realm', o.originRealm), avp('Disconnect-Cause', cause)],
      false,
    );
    try {
      await this.sendRequestInternal(dpr, this.owner.requestTimeoutMs);
    } catch {
      // No DPA: close anyway, the peer learns from the TCP FIN.
    }
    this.closeReason = `disconnected (${causeName(cause)})`;
    this.socket.end();
    this.destroyLater();
    return this.closed;
  }

  /** Closes the transport at once, without DPR. */
  destroy(reason: string): void {
    if (this.state === 'Closed') return;
    this.closeReason ??= reason;
    this.writer.flush();
    this.socket.destroy();
    this.teardown(reason);
  }

  private destroyLater(): void {
    // After end(), wait for the peer's FIN, but not forever.
    const t = this.owner.clock.setTimeout(() => this.destroy(this.closeReason ?? 'closed'), this.owner.requestTimeoutMs);
    void this.closed.then(() => t.cancel());
  }

  private sendRequestInternal(msg: DiameterMessage, timeoutMs: number): Promise<DiameterMessage> {
    this.hopByHop = (this.hopByHop + 1) >>> 0;
    while (this.pending.has(this.hopByHop)) this.hopByHop = (this.hopByHop + 1) >>> 0;
    msg.hopByHop = this.hopByHop;
    msg.endToEnd = this.owner.nextEndToEnd();
    msg.flags = (msg.flags | CommandFlags.Request) & ~CommandFlags.Error;
    let bytes: Buffer;
    try {
      bytes = encodeMessage(msg);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<DiameterMessage>((resolve, reject) => {
      const deadline = this.owner.clock.now() + timeoutMs;
      const p: Pending = { resolve, reject, endToEnd: msg.endToEnd, commandCode: msg.commandCode, deadline };
      if (timeoutMs === this.owner.requestTimeoutMs) {
        this.deadlines.push({ hopByHop: msg.hopByHop, deadline });
        if (!this.deadlineTimer) this.armDeadlineTimer();
      } else {
        p.timer = this.owner.clock.setTimeout(() => this.expire(msg.hopByHop, timeoutMs), timeoutMs);
      }
      this.pending.set(msg.hopByHop, p);
      this.send(bytes);
    });
  }

  private armDeadlineTimer(): void {
    const head = this.deadlines[this.deadlineHead];
    if (!head) {
      this.deadlines.length = 0;
      this.deadlineHead = 0;
      this.deadlineTimer = undefined;
      return;
    }
    const delay = Math.max(0, head.deadline - this.owner.clock.now());
    this.deadlineTimer = this.owner.clock.setTimeout(() => this.onDeadlineTimer(), delay);
  }

  private onDeadlineTimer(): void {
    const now = this.owner.clock.now();
    while (this.deadlineHead < this.deadlines.length) {
      const head = this.deadlines[this.deadlineHead]!;
      if (head.deadline > now) break;
      this.deadlineHead++;
      const p = this.pending.get(head.hopByHop);
      if (p && p.deadline === head.deadline) this.expire(head.hopByHop, this.owner.requestTimeoutMs);
    }
    if (this.deadlineHead > 1024 && this.deadlineHead * 2 > this.deadlines.length) {
      this.deadlines.splice(0, this.deadlineHead);
      this.deadlineHead = 0;
    }
    this.armDeadlineTimer();
  }

  private expire(hopByHop: number, timeoutMs: number): void {
    const p = this.pending.get(hopByHop);
    if (!p) return;
    this.pending.delete(hopByHop);
    p.reject(new DiameterTimeoutError(p.commandCode, hopByHop, timeoutMs));
  }

  /**
   * Queues bytes for the turn's one write (TurnWriter): a burst of REGISTERs read in one poll, or the
   * answers a group commit releases together, leave together. Each message is on the trace at once, in send
   * order.
   */
  private send(bytes: Buffer): void {
    if (this.state === 'Closed') return;
    this.owner.trace.packet({
      node: this.owner.nodeName,
      direction: 'send',
      protocol: 'diameter',
      transport: 'tcp',
      local: this.local,
      remote: this.remote,
      bytes,
    });
    this.writer.push(bytes);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'Closed') return;
    try {
      this.framer.push(chunk, (bytes) => this.onMessage(bytes));
    } catch (e) {
      // §3: with the framing lost there is no way to find the next message on a TCP stream.
      this.note('warn', `closing: ${(e as Error).message}`, 'RFC 6733 §3');
      this.destroy(`framing lost: ${(e as Error).message}`);
    }
  }

  private onMessage(bytes: Buffer): void {
    this.owner.trace.packet({
      node: this.owner.nodeName,
      direction: 'recv',
      protocol: 'diameter',
      transport: 'tcp',
      local: this.local,
      remote: this.remote,
      bytes,
    });
    this.lastReceived = this.owner.clock.now();
    this.receivedSinceArm = true;
    let msg: DiameterMessage;
    try {
      msg = decodeMessage(bytes, this.owner.dictionary);
    } catch (e) {
      this.onUndecodable(bytes, e);
      return;
    }
    if (msg.isRequest) this.onRequest(msg);
    else this.onAnswer(msg);
  }

  private onUndecodable(bytes: Buffer, e: unknown): void {
    if (!(e instanceof DiameterMessageError) || !(e.header.flags & CommandFlags.Request) || this.state !== 'Open') {
      // An answer we cannot read, or garbage before capabilities were exchanged: nothing sensible to reply.
      this.note('warn', `dropped undecodable message: ${(e as Error).message}`, 'RFC 6733 §7.1');
      if (this.state !== 'Open') this.destroy(`undecodable message before Open: ${(e as Error).message}`);
      return;
    }
    const h = e.header;
    const req = new DiameterMessage({
      commandCode: h.commandCode,
      applicationId: h.applicationId,
      flags: h.flags,
      hopByHop: h.hopByHop,
      endToEnd: h.endToEnd,
    });
    const sid = salvageSessionId(bytes);
    if (sid) req.avps.push(sid);
    this.note('warn', `answering ${resultCodeName(e.resultCode)}: ${e.message}`, 'RFC 6733 §7.1');
    this.sendAnswer(errorAnswer(req, e.resultCode, this.owner.identity, e.failedAvp, e.message));
  }

  private onRequest(req: DiameterMessage): void {
    if (req.commandCode === BaseCommandCode.CapabilitiesExchange && req.applicationId === 0) {
      this.onCapabilitiesRequest(req);
      return;
    }
    if (this.state === 'Wait-CER' || this.state === 'Wait-CEA') {
      // §5.6 (R-Rcv-Non-CER in Wait-CER; I-Rcv-Non-CEA in Wait-I-CEA): no exchange, no talk.
      this.destroy(`command ${req.commandCode} before the capabilities exchange`);
      return;
    }
    const o = this.owner.identity;
    if (req.commandCode === BaseCommandCode.DeviceWatchdog && req.applicationId === 0) {
      // RFC 3539 §3.4.1: any request counts as traffic; the DWA carries our Origin-State-Id (§5.5.2).
      this.sendAnswer(
        DiameterMessage.answerTo(req, [
          avp('Result-Code', ResultCode.DIAMETER_SUCCESS),
          avp('Origin-Host', o.originHost),
          avp('Origin-Realm', o.originRealm),
          avp('Origin-State-Id', o.originStateId),
        ]),
      );
      return;
    }
    if (req.commandCode === BaseCommandCode.DisconnectPeer && req.applicationId === 0) {
      const cause = req.get(BaseAvpCode.DisconnectCause);
      this.state = 'Closing';
      this.closeReason = `peer sent DPR (${cause ? causeName(cause.asEnum()) : 'no cause'})`;
      this.sendAnswer(
        DiameterMessage.answerTo(req, [
          avp('Result-Code', ResultCode.DIAMETER_SUCCESS),
          avp('Origin-Host', o.originHost),
          avp('Origin-Realm', o.originRealm),
        ]),
      );
      // §5.4: the sender of DPR closes the transport on DPA; we half-close after the DPA is written.
      process.nextTick(() => {
        this.writer.flush();
        this.socket.end();
        this.destroyLater();
      });
      return;
    }
    if (this.state !== 'Open') return;
    this.owner.handleRequest(req, this).then(
      (ans) => this.sendAnswer(ans),
      (e: Error) => {
        // The node turns handler failures into answers; reaching here means even that failed.
        this.note('error', `request ${req.commandCode} not answered: ${e.message}`);
      },
    );
  }

  private sendAnswer(ans: DiameterMessage): void {
    if (this.state === 'Closed') return;
    let bytes: Buffer;
    try {
      bytes = encodeMessage(ans);
    } catch (e) {
      this.note('error', `cannot encode answer ${ans.commandCode}: ${(e as Error).message}`);
      return;
    }
    this.send(bytes);
  }

  private onAnswer(ans: DiameterMessage): void {
    const p = this.pending.get(ans.hopByHop);
    if (!p || p.endToEnd !== ans.endToEnd || p.commandCode !== ans.commandCode) {
      // §6.2.1: an answer that matches no pending request is discarded.
      this.note('warn', `discarded answer ${ans.commandCode} with unknown hop-by-hop 0x${ans.hopByHop.toString(16)}`, 'RFC 6733 §6.2.1');
      return;
    }
    this.pending.delete(ans.hopByHop);
    p.timer?.cancel();
    if (ans.commandCode === BaseCommandCode.DeviceWatchdog && ans.applicationId === 0) this.onWatchdogAnswer();
    p.resolve(ans);
  }

  private onCapabilitiesRequest(cer: DiameterMessage): void {
    const o = this.owner.identity;
    if (this.role === 'initiator' || this.state === 'Closing') {
      this.sendAnswer(errorAnswer(cer, ResultCode.DIAMETER_UNABLE_TO_COMPLY, o, undefined, `CER in state ${this.state}`));
      return;
    }
    let peer: PeerIdentity;
    try {
      peer = readPeerIdentity(cer);
    } catch (e) {
      this.sendAnswer(buildCapabilitiesExchangeAnswer(cer, o, ResultCode.DIAMETER_INVALID_AVP_VALUE, (e as Error).message));
      this.socket.end();
      this.destroyLater();
      return;
    }
    if (this.state === 'Open') {
      // §5.6 R-Open + R-Rcv-CER: answer again, stay Open.
      this.sendAnswer(buildCapabilitiesExchangeAnswer(cer, o, ResultCode.DIAMETER_SUCCESS));
      return;
    }
    let code: number = ResultCode.DIAMETER_SUCCESS;
    let why: string | undefined;
    const common = commonApplications(o.applications, peer.applicationIds);
    if (!peer.originHost || !peer.originRealm) {
      code = ResultCode.DIAMETER_MISSING_AVP;
      why = 'CER without Origin-Host or Origin-Realm';
    } else if (!this.owner.acceptPeer(peer)) {
      code = ResultCode.DIAMETER_UNKNOWN_PEER;
      why = `${peer.originHost} is not a configured peer`;
    } else if (common.length === 0) {
      code = ResultCode.DIAMETER_NO_COMMON_APPLICATION;
      why = `no common application (peer offers ${peer.applicationIds.join(', ') || 'none'})`;
    }
    this.sendAnswer(buildCapabilitiesExchangeAnswer(cer, o, code, why));
    if (code !== ResultCode.DIAMETER_SUCCESS) {
      this.note('warn', `rejected CER from ${peer.originHost || this.remote.address}: ${why}`, 'RFC 6733 §5.3');
      this.closeReason = `CER rejected: ${why}`;
      process.nextTick(() => {
        this.writer.flush();
        this.socket.end();
        this.destroyLater();
      });
      this.rejectOpened(new DiameterConnectionError(`CER rejected: ${why}`));
      return;
    }
    this.becomeOpen(peer, common);
  }

  private onCapabilitiesAnswer(cea: DiameterMessage): void {
    if (this.state !== 'Wait-CEA') return;
    const code = cea.resultCode;
    if (code !== ResultCode.DIAMETER_SUCCESS) {
      const msg = cea.get(BaseAvpCode.ErrorMessage)?.asString();
      this.failOpen(`CEA ${code === undefined ? 'without Result-Code' : resultCodeName(code)}${msg ? `: ${msg}` : ''}`);
      return;
    }
    const peer = readPeerIdentity(cea);
    const common = commonApplications(this.owner.identity.applications, peer.applicationIds);
    if (common.length === 0) {
      this.failOpen('CEA shows no common application');
      return;
    }
    this.becomeOpen(peer, common);
  }

  private failOpen(reason: string): void {
    this.rejectOpened(new DiameterConnectionError(reason));
    this.destroy(reason);
  }

  private becomeOpen(peer: PeerIdentity, common: number[]): void {
    this.peer = peer;
    this.applications = common;
    this.state = 'Open';
    this.note('info', `peer ${peer.originHost} open (${this.role})`, 'RFC 6733 §5.6');
    this.armWatchdog(this.owner.clock.now());
    this.owner.connectionOpened(this);
    this.resolveOpened();
  }

  /**
   * SetWatchdog() of RFC 3539 §3.4.1: Tw = Twinit ± up to 2 s of jitter, so that the watchdogs of many
   * peers do not align. Receiving a message also calls SetWatchdog(); instead of re-arming a timer per
   * message (the hot path), the timer notes that traffic arrived and re-arms from its time when it fires.
   */
  private armWatchdog(from: number): void {
    const twinit = this.owner.watchdogIntervalMs;
    const jitter = twinit >= 6000 ? Math.floor(this.owner.random.float() * 4001) - 2000 : 0;
    this.receivedSinceArm = false;
    const delay = Math.max(0, from + twinit + jitter - this.owner.clock.now());
    this.watchdogTimer = this.owner.clock.setTimeout(() => this.onWatchdogTimer(), delay);
  }

  private onWatchdogTimer(): void {
    this.watchdogTimer = undefined;
    if (this.state !== 'Open') return;
    if (this.receivedSinceArm) {
      if (this.watchdogState === 'SUSPECT') {
        // SUSPECT + any message: Failback(), back to OKAY.
        this.watchdogState = 'OKAY';
        this.note('info', `peer ${this.describePeer()} answers again`, 'RFC 3539 §3.4.1');
      }
      this.armWatchdog(this.lastReceived);
      return;
    }
    if (this.watchdogState === 'SUSPECT') {
      this.note('warn', `peer ${this.describePeer()} silent for two watchdog intervals: closing`, 'RFC 3539 §3.4.1');
      this.destroy('watchdog: no answer to DWR');
      return;
    }
    if (this.watchdogPending) {
      // OKAY, timer expired with a DWR outstanding: Failover(), SUSPECT for one more interval.
      this.watchdogState = 'SUSPECT';
      this.note('warn', `peer ${this.describePeer()} is SUSPECT: DWR unanswered`, 'RFC 3539 §3.4.1');
      this.armWatchdog(this.owner.clock.now());
      return;
    }
    this.sendWatchdog();
    this.armWatchdog(this.owner.clock.now());
  }

  private sendWatchdog(): void {
    const o = this.owner.identity;
    const dwr = DiameterMessage.request(
      BaseCommandCode.DeviceWatchdog,
      0,
      [avp('Origin-Host', o.originHost), avp('Origin-Realm', o.originRealm), avp('Origin-State-Id', o.originStateId)],
      false,
    );
    this.watchdogPending = true;
    // The watchdog has its own failure logic; a missing DWA must not also surface as a rejected promise.
    this.sendRequestInternal(dwr, this.owner.watchdogIntervalMs * 2).catch(() => undefined);
  }

  private onWatchdogAnswer(): void {
    this.watchdogPending = false;
    this.watchdogState = 'OKAY';
  }

  private teardown(reason: string): void {
    if (this.state === 'Closed') return;
    this.state = 'Closed';
    this.closeReason ??= reason;
    this.watchdogTimer?.cancel();
    this.deadlineTimer?.cancel();
    this.deadlineTimer = undefined;
    const err = new DiameterConnectionError(`connection to ${this.describePeer()} closed: ${this.closeReason}`);
    for (const p of this.pending.values()) {
      p.timer?.cancel();
      p.reject(err);
    }
    this.pending.clear();
    this.rejectOpened(err);
    if (!this.socket.destroyed) this.socket.destroy();
    this.note('info', `connection to ${this.describePeer()} closed: ${this.closeReason}`, 'RFC 6733 §5.6');
    this.owner.connectionClosed(this);
    this.resolveClosed();
  }

  private describePeer(): string {
    return this.peer?.originHost ?? `${this.remote.address}:${this.remote.port}`;
  }

  private note(level: 'debug' | 'info' | 'warn' | 'error', text: string, clause?: string): void {
    this.owner.trace.note({ node: this.owner.nodeName, level, text, ...(clause ? { clause } : {}) });
  }
}

function causeName(cause: number): string {
  for (const [name, v] of Object.entries(DisconnectCause)) if (v === cause) return name;
  return String(cause);
}

/** IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) read as the IPv4 address they are. */
function normaliseAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
