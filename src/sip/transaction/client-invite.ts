import type { SipRequest, SipResponse } from '../message.js';
import type { ReceivedMessage, TransportAddress } from '../transport/types.js';
import { buildNonSuccessAck } from './ack.js';
import { requestLetGo, type TransactionEnv } from './env.js';
import { createResponse } from './response.js';
import { TimerSlot, type TimerName, type TimerOwner } from './timers.js';
import type { ClientState, ClientTransaction, ClientTransactionHandlers, FinalCause } from './types.js';

/**
 * The INVITE client transaction (RFC 3261 §17.1.1, as updated by RFC 6026 §7.2):
 *
 *   Calling --1xx--> Proceeding --300-699--> Completed --Timer D--> Terminated
 *      |                 |
 *      +------2xx--------+--> Accepted --Timer M--> Terminated
 *
 * Timer A retransmits the INVITE over UDP (T1, 2·T1, 4·T1 … with no cap, §17.1.1.2); Timer B (64·T1) gives
 * up while still Calling. A 300-699 is acknowledged here, inside the transaction; a 2xx is acknowledged
 * by the TU (§13.2.2.4), so the transaction only stays in Accepted to pass further 2xx up (RFC 6026).
 */
export class ClientInviteTransaction implements ClientTransaction, TimerOwner {
  // kind and method on the prototype: the same for every INVITE client transaction, so no field of each.
  get kind(): 'client' {
    return 'client';
  }
  get method(): 'INVITE' {
    return 'INVITE';
  }
  // Every field is set at construction, even to undefined, so V8 keeps them all inside the object: a field first
  // assigned later (a timer's slot at the final response) would cost each transaction a property array.
  state: ClientState = 'calling';
  provisionalReceived = false;

  /** Timer B, while Calling (D and M wait in the layer's queues). */
  private timer: TimerSlot | undefined = undefined;
  /** Timer A, beside B in Calling over UDP, and its current interval. */
  private retransmit: TimerSlot | undefined = undefined;
  private interval = 0;
  private ack: SipRequest | undefined = undefined;
  /** The INVITE as sent, until a final response: Accepted needs none of it, Completed only the ACK made from it. */
  private sent: SipRequest | undefined;

  constructor(
    private readonly env: TransactionEnv,
    request: SipRequest,
    readonly destination: TransportAddress,
    readonly branch: string,
    private readonly tu: ClientTransactionHandlers,
  ) {
    this.sent = request;
  }

  get request(): SipRequest {
    if (!this.sent) throw requestLetGo(this, 'RFC 3261 §17.1.1.2, RFC 6026 §7.2');
    return this.sent;
  }

  /** Sends the INVITE and starts Timers A (unreliable transports only) and B (§17.1.1.2). */
  start(): void {
    const { t1 } = this.env.timers;
    this.transmit(this.request, false);
    if (this.state !== 'calling') return;
    if (!this.env.reliable) this.startTimerA(t1);
    this.startTimer('B', 64 * t1);
  }

  receive(response: SipResponse, received: ReceivedMessage): void {
    const status = response.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          this.state = 'proceeding';
          this.provisionalReceived = true;
          this.retransmit?.cancel();
          this.timer?.cancel('B');
          this.env.provisionalReceived(this);
          this.tu.provisional?.(response, received);
        } else if (status < 300) {
          this.accept(response, received);
        } else {
          this.complete(response, received);
        }
        return;
      case 'accepted':
        // RFC 6026 §7.2: every 2xx in Accepted goes to the TU (retransmissions and other forks alike).
        if (status >= 200 && status < 300) {
          this.env.finalReceived(this);
          this.tu.final(response, 'response', received);
        }
        return;
      case 'completed':
        // §17.1.1.2: a retransmitted final response is answered with the same ACK, not passed up.
        if (status >= 300 && this.ack) {
          this.env.counters.retransmissionsReceived++;
          this.env.counters.retransmissionsSent++;
          this.transmit(this.ack, true);
        }
        return;
      default:
        return;
    }
  }

  /**
   * §9.1: when a CANCEL was sent and no final response followed within 64·T1, the INVITE is considered
   * cancelled; the TU gets a synthetic 487 so that a proxy's response context can still conclude.
   */
  cancelExpired(): void {
    if (this.state !== 'calling' && this.state !== 'proceeding') return;
    this.env.counters.timeouts++;
    this.env.note?.('no final response 64*T1 after CANCEL: the INVITE is considered cancelled', 'RFC 3261 §9.1');
    this.fail('timeout', 487);
  }

  /** Stops everything now (the layer is closing). */
  abort(): void {
    this.terminate();
  }

  private accept(response: SipResponse, received: ReceivedMessage): void {
    this.state = 'accepted';
    this.sent = undefined;
    this.dropTimers();
    this.env.wait(this, 'M', 64 * this.env.timers.t1);
    this.env.finalReceived(this);
    this.tu.final(response, 'response', received);
  }

  private complete(response: SipResponse, received: ReceivedMessage | undefined, cause: FinalCause = 'response'): void {
    this.state = 'completed';
    this.dropTimers();
    if (cause === 'response') {
      this.ack = buildNonSuccessAck(this.request, response);
      this.transmit(this.ack, true);
    }
    this.sent = undefined;
    // Timer D absorbs retransmissions of the final response: ≥ 32 s over UDP, zero when reliable.
    this.env.wait(this, 'D', this.env.reliable ? 0 : this.env.timers.timerD);
    this.env.finalReceived(this);
    this.tu.final(response, cause, received);
  }

  expire(timer: TimerName): void {
    switch (timer) {
      case 'A':
        return this.onTimerA();
      case 'B':
        return this.onTimerB();
      case 'D': // §17.1.1.2: Completed has absorbed retransmitted finals long enough.
        if (this.state === 'completed') this.terminate();
        return;
      case 'M': // RFC 6026 §7.2: Accepted has passed further 2xx up for 64·T1.
        if (this.state === 'accepted') this.terminate();
        return;
    }
  }

  /** Stops and lets go of the slots: Completed and Accepted wait only for D or M, which the layer keeps. */
  private dropTimers(): void {
    this.timer?.cancel();
    this.retransmit?.cancel();
    this.timer = this.retransmit = undefined;
  }

  private startTimer(timer: 'B', ms: number): void {
    (this.timer ??= new TimerSlot(this.env.clock, this)).start(timer, ms);
  }

  private startTimerA(interval: number): void {
    this.interval = interval;
    (this.retransmit ??= new TimerSlot(this.env.clock, this)).start('A', interval);
  }

  /** §17.1.1.2: the INVITE again, the interval doubling each time with no cap, while still Calling. */
  private onTimerA(): void {
    if (this.state !== 'calling' || !this.sent) return;
    this.env.counters.retransmissionsSent++;
    this.transmit(this.sent, false);
    this.startTimerA(this.interval * 2);
  }

  private onTimerB(): void {
    if (this.state !== 'calling') return;
    this.env.counters.timeouts++;
    this.env.note?.('Timer B fired: no response to the INVITE, the transaction gives up with 408', 'RFC 3261 §17.1.1.2');
    this.fail('timeout', 408);
  }

  private fail(cause: FinalCause, status: 408 | 487 | 503): void {
    if (this.state === 'terminated') return;
    this.retransmit?.cancel();
    this.timer?.cancel('B');
    if (!this.sent) return;
    const synthetic = createResponse(this.sent, status);
    this.terminate(() => {
      this.env.finalReceived(this);
      this.tu.final(synthetic, cause);
    });
  }

  private transmit(message: SipRequest, isAck: boolean): void {
    this.env.send(message).catch((err: unknown) => {
      this.env.counters.transportErrors++;
      this.env.note?.(`transport error sending ${message.method}: ${(err as Error).message}`, 'RFC 3261 §17.1.4');
      // §17.1.4: a failure while the TU still waits becomes a 503; a lost ACK only ends the transaction.
      if (!isAck && (this.state === 'calling' || this.state === 'proceeding')) this.fail('transport-error', 503);
      else if (isAck) this.terminate();
    });
  }

  private terminate(before?: () => void): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.dropTimers();
    before?.();
    this.tu.terminated?.();
    this.env.terminated();
  }
}
