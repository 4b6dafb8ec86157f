import type { SipRequest, SipResponse } from '../message.js';
import type { ReceivedMessage, TransportAddress } from '../transport/types.js';
import { requestLetGo, type TransactionEnv } from './env.js';
import { createResponse } from './response.js';
import { TimerSlot, type TimerName, type TimerOwner } from './timers.js';
import type { ClientState, ClientTransaction, ClientTransactionHandlers, FinalCause } from './types.js';

/**
 * The non-INVITE client transaction (RFC 3261 §17.1.2):
 *
 *   Trying --1xx--> Proceeding --200-699--> Completed --Timer K--> Terminated
 *
 * Timer E retransmits over UDP at T1, 2·T1, 4·T1 … capped at T2, and every T2 once a provisional has
 * arrived (§17.1.2.2); Timer F (64·T1) ends the transaction with a timeout in Trying or Proceeding;
 * Timer K (T4 over UDP, zero when reliable) absorbs retransmitted finals.
 */
export class ClientNonInviteTransaction implements ClientTransaction, TimerOwner {
  get kind(): 'client' {
    return 'client';
  }
  readonly method: string;
  // Every field is set at construction, even to undefined, so V8 keeps them all inside the object: a field first
  // assigned later (a timer's slot at the final response) would cost each transaction a property array.
  state: ClientState = 'trying';
  provisionalReceived = false;

  /** Timer F, in Trying and Proceeding (K waits in the layer's queue). */
  private timer: TimerSlot | undefined = undefined;
  /** Timer E, beside F over UDP, and its current interval. */
  private retransmit: TimerSlot | undefined = undefined;
  private interval = 0;

  /** The request as sent, until a final response: Completed needs nothing of it (see receive). */
  private sent: SipRequest | undefined;

  constructor(
    private readonly env: TransactionEnv,
    request: SipRequest,
    readonly destination: TransportAddress,
    readonly branch: string,
    private tu: ClientTransactionHandlers,
  ) {
    this.method = request.method;
    this.sent = request;
  }

  get request(): SipRequest {
    if (!this.sent) throw requestLetGo(this, 'RFC 3261 §17.1.2.2');
    return this.sent;
  }

  start(): void {
    const { t1 } = this.env.timers;
    this.transmit();
    if (this.state !== 'trying') return;
    if (!this.env.reliable) this.startTimerE(t1);
    this.startTimer('F', 64 * t1);
  }

  receive(response: SipResponse, received: ReceivedMessage): void {
    if (this.state === 'completed') {
      this.env.counters.retransmissionsReceived++;
      return;
    }
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    if (response.status < 200) {
      this.state = 'proceeding';
      this.provisionalReceived = true;
      this.tu.provisional?.(response, received);
      return;
    }
    this.state = 'completed';
    this.dropTimers();
    this.env.wait(this, 'K', this.env.reliable ? 0 : this.env.timers.t4);
    const tu = this.tu;
    // Completed only absorbs retransmitted finals (§17.1.2.2): the request, the TU's handlers and all their
    // closures hold (a proxy's response context with every copy of the request) need not live on for Timer K.
    this.sent = undefined;
    this.tu = afterFinal(tu.terminated);
    tu.final(response, 'response', received);
  }

  abort(): void {
    this.terminate();
  }

  expire(timer: TimerName): void {
    switch (timer) {
      case 'E':
        return this.onTimerE();
      case 'F':
        return this.onTimerF();
      case 'K': // §17.1.2.2: Completed has absorbed retransmitted finals for T4.
        if (this.state === 'completed') this.terminate();
        return;
    }
  }

  /** Stops and lets go of the slots: Completed waits only for K, which the layer keeps. */
  private dropTimers(): void {
    this.timer?.cancel();
    this.retransmit?.cancel();
    this.timer = this.retransmit = undefined;
  }

  private startTimer(timer: 'F', ms: number): void {
    (this.timer ??= new TimerSlot(this.env.clock, this)).start(timer, ms);
  }

  private startTimerE(interval: number): void {
    this.interval = interval;
    (this.retransmit ??= new TimerSlot(this.env.clock, this)).start('E', interval);
  }

  private onTimerE(): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.env.counters.retransmissionsSent++;
    this.transmit();
    // §17.1.2.2: doubling up to T2 in Trying; in Proceeding the interval is T2.
    const { t2 } = this.env.timers;
    this.startTimerE(this.state === 'proceeding' ? t2 : Math.min(2 * this.interval, t2));
  }

  private onTimerF(): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.env.counters.timeouts++;
    this.env.note?.(`Timer F fired: no final response to ${this.method}, the transaction gives up with 408`, 'RFC 3261 §17.1.2.2');
    this.fail('timeout', 408);
  }

  private fail(cause: FinalCause, status: 408 | 503): void {
    if (this.state === 'terminated' || this.state === 'completed' || !this.sent) return;
    const synthetic = createResponse(this.sent, status);
    this.terminate(() => this.tu.final(synthetic, cause));
  }

  private transmit(): void {
    if (!this.sent) return;
    this.env.send(this.sent).catch((err: unknown) => {
      this.env.counters.transportErrors++;
      this.env.note?.(`transport error sending ${this.method}: ${(err as Error).message}`, 'RFC 3261 §17.1.4');
      this.fail('transport-error', 503);
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

/** What a completed transaction still owes its TU: the news that it has terminated. */
function afterFinal(terminated: (() => void) | undefined): ClientTransactionHandlers {
  return terminated ? { final: () => {}, terminated } : DONE;
}

const DONE: ClientTransactionHandlers = Object.freeze({ final: () => {} });
