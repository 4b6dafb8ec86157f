import type { SipRequest, SipResponse } from '../message.js';
import type { ReceivedMessage, TransportAddress } from '../transport/types.js';

/**
 * Why a client transaction delivered a final response: it came from the network, or the transaction made
 * it up (RFC 3261 §8.1.3.1: a timeout is a 408, a transport failure a 503).
 */
export type FinalCause = 'response' | 'timeout' | 'transport-error';

/** What a client transaction tells its transaction user (§17.1: "the TU is informed"). */
export interface ClientTransactionHandlers {
  /** A 1xx response. */
  provisional?(response: SipResponse, received: ReceivedMessage): void;
  /**
   * A final response. For INVITE this runs once for a non-2xx, and once per 2xx received while the
   * transaction is Calling, Proceeding or Accepted (RFC 6026 §7.2: forked 2xx and 2xx retransmissions all
   * reach the TU, which must ACK or forward each).
   */
  final(response: SipResponse, cause: FinalCause, received?: ReceivedMessage): void;
  /** The transaction has reached Terminated and forgotten its state. */
  terminated?(): void;
}

export type ClientState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
export type ServerState = 'trying' | 'proceeding' | 'completed' | 'accepted' | 'confirmed' | 'terminated';

export interface ClientTransaction {
  readonly kind: 'client';
  readonly method: string;
  /** The transaction id: the branch of the Via this node pushed (§17.1.3). */
  readonly branch: string;
  /** The request as sent, with this node's Via on top. */
  readonly request: SipRequest;
  readonly destination: TransportAddress;
  readonly state: ClientState;
  /** Whether any 1xx arrived (§9.1: a CANCEL may only be sent after one). */
  readonly provisionalReceived: boolean;
}

export interface ServerTransaction {
  readonly kind: 'server';
  readonly method: string;
  readonly branch: string;
  /** The request as received. */
  readonly request: SipRequest;
  readonly received: ReceivedMessage;
  readonly state: ServerState;
  /**
   * The last response handed to the transport (provisional or final), while the transaction keeps it: an INVITE
   * transaction in Accepted keeps none, its 2xx being the TU's to repeat (RFC 3261 §13.3.1.4, RFC 6026 §7.1).
   */
  readonly lastResponse: SipResponse | undefined;
  /** The status of the last response sent, kept in every state. */
  readonly lastStatus: number | undefined;
  /** Sends a response through the state machine (§17.2.1, §17.2.2). Responses after a final non-2xx are ignored. */
  respond(response: SipResponse): void;
  /** Runs when the transaction ends; `timeout` is true when Timer H fired (no ACK) or a send failed. */
  onTerminated(listener: (reason: ServerTermination) => void): void;
}

export type ServerTermination = 'normal' | 'timeout' | 'transport-error';
