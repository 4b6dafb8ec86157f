import type { SipRequest, SipResponse } from '../message.js';
import type { ReceivedMessage } from '../transport/types.js';
import { addListener, notify, type Listeners } from './listeners.js';
import { keepFinal, keptResponse, requestLetGo, transmitResponse, type KeptFinal, type TransactionEnv } from './env.js';
import { createResponse, tagOf } from './response.js';
import { TimerSlot, type TimerName, type TimerOwner } from './timers.js';
import type { ServerState, ServerTermination, ServerTransaction } from './types.js';

/** When a server INVITE transaction sends 100 (Trying) on its own (§17.2.1). */
export type TryingPolicy = 'immediate' | 'never' | { afterMs: number };

/** §17.2.1: a UAS sends 100 (Trying) if the TU has not answered within 200 ms. */
export const UAS_TRYING: TryingPolicy = { afterMs: 200 };

/**
 * The INVITE server transaction (RFC 3261 §17.2.1, as updated by RFC 6026 §7.1):
 *
 *   Proceeding --2xx--> Accepted --Timer L--> Terminated
 *       |
 *       +--300-699--> Completed --ACK--> Confirmed --Timer I--> Terminated
 *                         +--Timer H--> Terminated (no ACK)
 *
 * A retransmitted INVITE gets the last provisional again in Proceeding and the final again in Completed;
 * Timer G retransmits a non-2xx final over UDP (T1, 2·T1 … capped at T2) until the ACK, which this
 * transaction absorbs. 2xx retransmission is the TU's job (§13.3.1.4); in Accepted the transaction passes
 * each 2xx from the TU on and keeps absorbing INVITE retransmissions until Timer L (64·T1).
 *
 * What the states after the final need is all that is kept, since a core under load holds every call's INVITE
 * transactions for Timer L (32 s over UDP): Accepted keeps no response at all (it never retransmits one),
 * Completed keeps the final in wire form for Timer G and retransmitted INVITEs, like a non-INVITE server.
 */
export class ServerInviteTransaction implements ServerTransaction, TimerOwner {
  // kind and method on the prototype: the same for every INVITE server transaction, so no field of each.
  get kind(): 'server' {
    return 'server';
  }
  get method(): 'INVITE' {
    return 'INVITE';
  }
  // Every field is set at construction, even to undefined, so V8 keeps them all inside the object: a field first
  // assigned later (a timer's slot at the final response) would cost each transaction a property array.
  state: ServerState = 'proceeding';
  lastStatus: number | undefined = undefined;
  /** The To tag of the final response sent, for RFC 2543 ACK matching (§17.2.3). */
  finalToTag: string | undefined = undefined;

  /** The timer that ends a state before the ACK: the trying delay in Proceeding, H in Completed (I and L wait in the layer's queues). */
  private timer: TimerSlot | undefined = undefined;
  /** Timer G, beside H in Completed over UDP, and its current interval. */
  private retransmit: TimerSlot | undefined = undefined;
  private interval = 0;
  private listeners: Listeners<ServerTermination> = undefined;

  /** The INVITE, while the TU may still answer it: a final response lets it go (Timer L/H/I need only the final). */
  private held: { request: SipRequest; received: ReceivedMessage } | undefined;
  /** The provisional to repeat in Proceeding. */
  private provisional: SipResponse | undefined = undefined;
  /** The non-2xx final to repeat in Completed, as its bytes. */
  private final: KeptFinal | undefined = undefined;

  constructor(
    private readonly env: TransactionEnv,
    request: SipRequest,
    received: ReceivedMessage,
    readonly branch: string,
    private readonly tryingPolicy: TryingPolicy = UAS_TRYING,
  ) {
    this.held = { request, received };
  }

  get request(): SipRequest {
    return this.holding().request;
  }

  get received(): ReceivedMessage {
    return this.holding().received;
  }

  /**
   * The last response sent, while the transaction keeps one: a non-2xx final is read back from its bytes;
   * in Accepted there is none (the 2xx is the TU's to keep and repeat, §13.3.1.4) and `lastStatus` says 2xx.
   */
  get lastResponse(): SipResponse | undefined {
    if (this.final) return keptResponse(this.final);
    return this.state === 'proceeding' ? this.provisional : undefined;
  }

  start(): void {
    const p = this.tryingPolicy;
    if (p === 'immediate') this.sendTrying();
    else if (p !== 'never') this.startTimer('Trying', p.afterMs);
  }

  respond(response: SipResponse): void {
    const status = response.status;
    if (this.state === 'proceeding') {
      this.timer?.cancel('Trying');
      this.lastStatus = status;
      if (status < 200) {
        this.provisional = response;
        this.transmit(response);
      } else if (status < 300) {
        this.state = 'accepted';
        this.held = undefined;
        this.provisional = undefined;
        this.transmit(response);
        this.dropTimers();
        this.env.wait(this, 'L', 64 * this.env.timers.t1);
      } else {
        this.state = 'completed';
        this.held = undefined;
        this.provisional = undefined;
        this.finalToTag = tagOf(response.headers.get('To'));
        const final = keepFinal(response);
        this.final = final;
        this.transmit(final);
        const { t1 } = this.env.timers;
        if (!this.env.reliable) this.startTimerG(t1);
        this.startTimer('H', 64 * t1);
      }
    } else if (this.state === 'accepted' && status >= 200 && status < 300) {
      // RFC 6026 §7.1: 2xx from the TU in Accepted (its own retransmissions, or other forks a proxy relays).
      this.transmit(response);
    }
  }

  /** An INVITE matching this transaction: a retransmission (§17.2.1). */
  receiveRequest(): void {
    this.env.counters.retransmissionsReceived++;
    const last = this.state === 'proceeding' ? this.provisional : this.state === 'completed' ? this.final : undefined;
    if (last) {
      this.env.counters.retransmissionsSent++;
      this.transmit(last);
    }
  }

  /**
   * An ACK matching this transaction. Returns true when the transaction absorbed it (ACK for a non-2xx,
   * §17.2.1), false when it belongs to the TU (an ACK for a 2xx that reused the branch, RFC 6026 §7.1).
   */
  receiveAck(): boolean {
    if (this.state === 'completed') {
      this.state = 'confirmed';
      this.dropTimers();
      this.env.wait(this, 'I', this.env.reliable ? 0 : this.env.timers.t4);
      return true;
    }
    if (this.state === 'confirmed') {
      this.env.counters.retransmissionsReceived++;
      return true;
    }
    return this.state !== 'accepted';
  }

  onTerminated(listener: (reason: ServerTermination) => void): void {
    this.listeners = addListener(this.listeners, listener);
  }

  abort(): void {
    this.terminate('normal');
  }

  expire(timer: TimerName): void {
    switch (timer) {
      case 'Trying':
        return this.sendTrying();
      case 'G':
        return this.onTimerG();
      case 'H':
        return this.onTimerH();
      case 'I': // §17.2.1: Confirmed has absorbed ACK retransmissions for T4.
        if (this.state === 'confirmed') this.terminate('normal');
        return;
      case 'L': // RFC 6026 §7.1: Accepted has passed on 2xx and absorbed INVITE retransmissions for 64·T1.
        if (this.state === 'accepted') this.terminate('normal');
        return;
    }
  }

  private holding(): { request: SipRequest; received: ReceivedMessage } {
    if (!this.held) throw requestLetGo(this, 'RFC 3261 §17.2.1, RFC 6026 §7.1');
    return this.held;
  }

  private sendTrying(): void {
    if (this.state !== 'proceeding' || this.lastStatus !== undefined) return;
    const trying = createResponse(this.request, 100);
    this.lastStatus = 100;
    this.provisional = trying;
    this.transmit(trying);
  }

  private startTimer(timer: 'Trying' | 'H', ms: number): void {
    (this.timer ??= new TimerSlot(this.env.clock, this)).start(timer, ms);
  }

  /** Stops and lets go of the slots: Accepted and Confirmed wait only for L or I, which the layer keeps. */
  private dropTimers(): void {
    this.timer?.cancel();
    this.retransmit?.cancel();
    this.timer = this.retransmit = undefined;
  }

  private startTimerG(interval: number): void {
    this.interval = interval;
    (this.retransmit ??= new TimerSlot(this.env.clock, this)).start('G', interval);
  }

  /** §17.2.1: the final again, at T1, 2·T1 … capped at T2, until the ACK. */
  private onTimerG(): void {
    if (this.state !== 'completed' || !this.final) return;
    this.env.counters.retransmissionsSent++;
    this.transmit(this.final);
    this.startTimerG(Math.min(2 * this.interval, this.env.timers.t2));
  }

  private onTimerH(): void {
    if (this.state !== 'completed') return;
    this.env.counters.timeouts++;
    this.env.note?.('Timer H fired: the ACK for the final response never came', 'RFC 3261 §17.2.1');
    this.terminate('timeout');
  }

  private transmit(response: SipResponse | KeptFinal): void {
    transmitResponse(this.env, response, () => this.terminate('transport-error'));
  }

  private terminate(reason: ServerTermination): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.dropTimers();
    notify(this.listeners, reason);
    this.env.terminated();
  }
}
