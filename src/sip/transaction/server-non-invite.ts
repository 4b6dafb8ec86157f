import type { SipRequest, SipResponse } from '../message.js';
import type { ReceivedMessage } from '../transport/types.js';
import { addListener, notify, type Listeners } from './listeners.js';
import { keepFinal, keptResponse, requestLetGo, transmitResponse, type KeptFinal, type TransactionEnv } from './env.js';
import { tagOf } from './response.js';
import type { TimerName, TimerOwner } from './timers.js';
import type { ServerState, ServerTermination, ServerTransaction } from './types.js';

/**
 * The non-INVITE server transaction (RFC 3261 §17.2.2):
 *
 *   Trying --1xx--> Proceeding --200-699--> Completed --Timer J--> Terminated
 *
 * A retransmitted request is dropped in Trying, answered with the last provisional in Proceeding and with
 * the final in Completed. Timer J (64·T1 over UDP, zero when reliable) keeps the final for retransmissions,
 * and only that, in wire form: the request is let go at Completed and the final kept as its bytes, since a
 * core under load holds tens of thousands of transactions in Completed at once, and objects kept for 32 s are
 * what its garbage collector works through again and again.
 */
export class ServerNonInviteTransaction implements ServerTransaction, TimerOwner {
  get kind(): 'server' {
    return 'server';
  }
  readonly method: string;
  // Every field is set at construction, even to undefined, so V8 keeps them all inside the object: a field first
  // assigned later (a timer's slot at the final response) would cost each transaction a property array.
  state: ServerState = 'trying';
  /** The To tag of the final response, for RFC 2543 matching of retransmissions (§17.2.3). */
  finalToTag: string | undefined = undefined;

  private listeners: Listeners<ServerTermination> = undefined;

  private held: { request: SipRequest; received: ReceivedMessage } | undefined;
  private provisional: SipResponse | undefined = undefined;
  private final: KeptFinal | undefined = undefined;

  constructor(
    private readonly env: TransactionEnv,
    request: SipRequest,
    received: ReceivedMessage,
    readonly branch: string,
  ) {
    this.method = request.method;
    this.held = { request, received };
  }

  get request(): SipRequest {
    return this.holding().request;
  }

  get received(): ReceivedMessage {
    return this.holding().received;
  }

  /** The last response sent; a final one is read back from the bytes kept (nothing on a hot path asks). */
  get lastResponse(): SipResponse | undefined {
    return this.final ? keptResponse(this.final) : this.provisional;
  }

  get lastStatus(): number | undefined {
    return this.final?.status ?? this.provisional?.status;
  }

  respond(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    if (response.status < 200) {
      this.state = 'proceeding';
      this.provisional = response;
      this.transmit(response);
      return;
    }
    this.state = 'completed';
    this.held = undefined;
    this.provisional = undefined;
    this.finalToTag = tagOf(response.headers.get('To'));
    const final = keepFinal(response);
    this.final = final;
    this.env.wait(this, 'J', this.env.reliable ? 0 : 64 * this.env.timers.t1);
    this.transmit(final);
  }

  receiveRequest(): void {
    this.env.counters.retransmissionsReceived++;
    const last = this.final ?? this.provisional;
    if ((this.state === 'proceeding' || this.state === 'completed') && last) {
      this.env.counters.retransmissionsSent++;
      this.transmit(last);
    }
  }

  onTerminated(listener: (reason: ServerTermination) => void): void {
    this.listeners = addListener(this.listeners, listener);
  }

  abort(): void {
    this.terminate('normal');
  }

  /** Timer J: the time for request retransmissions is over (§17.2.2). */
  expire(timer: TimerName): void {
    if (timer === 'J' && this.state === 'completed') this.terminate('normal');
  }

  private holding(): { request: SipRequest; received: ReceivedMessage } {
    if (!this.held) throw requestLetGo(this, 'RFC 3261 §17.2.2');
    return this.held;
  }

  private transmit(response: SipResponse | KeptFinal): void {
    transmitResponse(this.env, response, () => this.terminate('transport-error'));
  }

  private terminate(reason: ServerTermination): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    notify(this.listeners, reason);
    this.env.terminated();
  }
}
