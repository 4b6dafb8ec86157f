import type { SipRequest, SipResponse } from '../message.js';
import type { ReceivedMessage } from '../transport/types.js';
import { transmitResponse, type TransactionEnv } from './env.js';
import { tagOf } from './response.js';
import { TransactionTimer } from './timers.js';
import type { ServerState, ServerTermination, ServerTransaction } from './types.js';

/**
 * The non-INVITE server transaction (RFC 3261 §17.2.2):
 *
 *   Trying --1xx--> Proceeding --200-699--> Completed --Timer J--> Terminated
 *
 * A retransmitted request is dropped in Trying, answered with the last provisional in Proceeding and with
 * the final in Completed. Timer J (64·T1 over UDP, zero when reliable) keeps the final for retransmissions.
 */
export class ServerNonInviteTransaction implements ServerTransaction {
  readonly kind = 'server' as const;
  state: ServerState = 'trying';
  lastResponse: SipResponse | undefined;
  /** The To tag of the final response, for RFC 2543 matching of retransmissions (§17.2.3). */
  finalToTag: string | undefined;

  private readonly timerJ: TransactionTimer;
  private readonly listeners: Array<(reason: ServerTermination) => void> = [];

  constructor(
    private readonly env: TransactionEnv,
    readonly request: SipRequest,
    readonly received: ReceivedMessage,
    readonly branch: string,
  ) {
    this.timerJ = new TransactionTimer(env.clock);
  }

  get method(): string {
    return this.request.method;
  }

  respond(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.lastResponse = response;
    if (response.status < 200) {
      this.state = 'proceeding';
    } else {
      this.state = 'completed';
      this.finalToTag = tagOf(response.headers.get('To'));
      this.timerJ.start(this.env.reliable ? 0 : 64 * this.env.timers.t1, () => this.terminate('normal'));
    }
    this.transmit(response);
  }

  receiveRequest(): void {
    this.env.counters.retransmissionsReceived++;
    if ((this.state === 'proceeding' || this.state === 'completed') && this.lastResponse) {
      this.env.counters.retransmissionsSent++;
      this.transmit(this.lastResponse);
    }
  }

  onTerminated(listener: (reason: ServerTermination) => void): void {
    this.listeners.push(listener);
  }

  abort(): void {
    this.terminate('normal');
  }

  private transmit(response: SipResponse): void {
    transmitResponse(this.env, response, () => this.terminate('transport-error'));
  }

  private terminate(reason: ServerTermination): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timerJ.cancel();
    for (const l of this.listeners) l(reason);
    this.env.terminated();
  }
}
