import type { Clock } from '../../util/clock.js';
import type { SipMessage, SipResponse } from '../message.js';
import { parseMessage } from '../parser.js';
import { serializeMessage } from '../serializer.js';
import type { TransactionCounters } from './counters.js';
import type { TimerName, TimerOwner, TimerSettings } from './timers.js';

/** What a state machine needs from the layer that owns it: time, the timer values, counters and a way out. */
export interface TransactionEnv {
  clock: Clock;
  timers: TimerSettings;
  counters: TransactionCounters;
  /** Hands a message to the transport toward the transaction's peer; rejects on a transport error (§18.4). */
  send(message: SipMessage): Promise<void>;
  /** The same, for a message already in wire form (a final response kept for retransmission). */
  sendSerialized(bytes: Buffer): Promise<void>;
  /** Whether the transport is reliable (TCP, TLS): then there are no retransmissions and D/I/J/K are zero (§17). */
  reliable: boolean;
  /**
   * Starts one of the timers that end a transaction's last state (D, I, J, K, L, M): `owner.expire(timer)` runs
   * after `ms`. It cannot be cancelled; an expiry after Terminated must do nothing (see WaitQueue).
   */
  wait(owner: TimerOwner, timer: 'D' | 'I' | 'J' | 'K' | 'L' | 'M', ms: number): void;
  /**
   * An INVITE client transaction's first provisional response and its final one, before the TU hears of them:
   * a CANCEL the TU asked for early waits for the first and is dropped at the other (RFC 3261 §9.1). Told through
   * the environment, not by wrapping the TU's handlers, which the transaction keeps for Timer M (RFC 6026 §7.2).
   */
  provisionalReceived(txn: object): void;
  finalReceived(txn: object): void;
  /** Called once, when the state machine reaches Terminated, so the layer forgets it. */
  terminated(): void;
  /** Reports a timer firing or a failure on the trace stream, for ladders and students. */
  note?(text: string, clause: string): void;
}

/**
 * Sends a server transaction's response; a transport error is counted, noted and handed to `failed`, which
 * ends the transaction and tells the TU (§17.2.4: the TU is informed of a failure to send a response).
 */
/** A final response a server transaction keeps for retransmission in Completed: its status and its wire form. */
export interface KeptFinal {
  status: number;
  bytes: Buffer;
}

/**
 * The final response in the form a completed server transaction keeps it for Timer G/J: the bytes alone, as an
 * exact copy — a serialised message may be a slice of the 8 KiB pool Buffer shares, which it would keep alive.
 */
export function keepFinal(response: SipResponse): KeptFinal {
  const wire = serializeMessage(response);
  const bytes = Buffer.allocUnsafeSlow(wire.length);
  wire.copy(bytes);
  return { status: response.status, bytes };
}

/** The kept final read back as a message (for a TU or a test that asks; nothing on a hot path does). */
export function keptResponse(final: KeptFinal): SipResponse {
  return parseMessage(final.bytes) as SipResponse;
}

export function transmitResponse(env: TransactionEnv, response: SipResponse | KeptFinal, failed: () => void): void {
  const sent = 'bytes' in response ? env.sendSerialized(response.bytes) : env.send(response);
  sent.catch((err: unknown) => {
    env.counters.transportErrors++;
    env.note?.(`transport error sending ${response.status}: ${(err as Error).message}`, 'RFC 3261 §17.2.4');
    failed();
  });
}

/**
 * The error for a TU that asks a transaction for its request after the final response: every state machine lets
 * the request go then, as the states after it need at most the final (or the ACK made from it), and a core
 * under load holds tens of thousands of such transactions for Timers D, J, K, L and M.
 */
export function requestLetGo(t: { kind: 'client' | 'server'; method: string; branch: string; state: string }, clause: string): Error {
  return new Error(`the ${t.method} ${t.kind} transaction ${t.branch} is ${t.state}: its request was let go with its final response (${clause})`);
}
