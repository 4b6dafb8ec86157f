/** The part of a stream socket a TurnWriter writes to. */
export interface ByteSink {
  write(bytes: Buffer): unknown;
  readonly destroyed: boolean;
}

/**
 * Gathers what one event-loop turn writes to a byte stream (TCP, TLS) and writes it once the turn's callbacks
 * have run (setImmediate: after the poll phase), in one write.
 *
 * Why: under load a turn reads many messages at once — a burst of datagrams, the answers a group commit
 * releases together — and forwards as many. One write per message is one syscall each, and on a VM each
 * wakes the reader again; one write per turn is one syscall, one segment train and one wake-up for them all.
 * A stream carries no message boundaries (RFC 3261 §18.3, RFC 6733 §2.1): the reader frames the same
 * messages, in the same order, whatever the segments.
 */
export class TurnWriter {
  private queue: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly sink: ByteSink) {}

  /** Bytes queued for this turn's write, not yet handed to the socket. */
  get queuedBytes(): number {
    return this.bytes;
  }

  push(bytes: Buffer): void {
    this.queue.push(bytes);
    this.bytes += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  /** Writes what is queued now (before a close, so that what was sent leaves before the FIN). */
  flush(): void {
    this.scheduled = false;
    const q = this.queue;
    if (q.length === 0) return;
    this.queue = [];
    this.bytes = 0;
    if (this.sink.destroyed) return;
    // One contiguous buffer: one write request through the stream, cheaper than a writev of many small ones.
    this.sink.write(q.length === 1 ? q[0]! : Buffer.concat(q));
  }

  private readonly flushLater = (): void => {
    if (this.scheduled) this.flush();
  };
}
