/**
 * What the transaction layer has done, for the health view and load runs. Plain numbers, only ever
 * incremented, read without copying.
 */
export class TransactionCounters {
  clientTransactionsCreated = 0;
  serverTransactionsCreated = 0;
  /** Requests (timers A, E) and final responses (timer G) sent again by this node. */
  retransmissionsSent = 0;
  /** Request retransmissions absorbed by server transactions and response retransmissions by client ones. */
  retransmissionsReceived = 0;
  /** Timers B, F (client) and H (server, no ACK) that fired. */
  timeouts = 0;
  /** Sends the transport layer refused (§17.1.4, §17.2.4). */
  transportErrors = 0;
  /** Responses and ACKs that matched no transaction and went up to the TU (§17.1.3, §17.2.3). */
  strayMessages = 0;

  snapshot(): Record<string, number> {
    return {
      clientTransactionsCreated: this.clientTransactionsCreated,
      serverTransactionsCreated: this.serverTransactionsCreated,
      retransmissionsSent: this.retransmissionsSent,
      retransmissionsReceived: this.retransmissionsReceived,
      timeouts: this.timeouts,
      transportErrors: this.transportErrors,
      strayMessages: this.strayMessages,
    };
  }
}
