import { DIAMETER_HEADER_LENGTH, DIAMETER_VERSION } from './message.js';

/** A byte stream that cannot be cut into Diameter messages any more (RFC 6733 §3). */
export class DiameterFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiameterFramingError';
  }
}

/** Default ceiling for one message: far above any Cx message, far below the 16 MiB the 24-bit field allows. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1 << 20;

/**
 * Cuts a TCP byte stream into whole Diameter messages using the 24-bit Message Length (RFC 6733 §3).
 * Handles many messages in one read and one message over many reads. A header with a version other than 1
 * or an impossible length means the stream has lost its framing; TCP offers no way to find the next
 * message boundary, so the connection must be closed — `push` throws and stays failed.
 *
 * Complete messages are returned as views into the read buffers when they fit in one read (no copy).
 */
export class DiameterFramer {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private failed: DiameterFramingError | undefined;
  /** Octets the pending data must reach before it can yield a message (the head's length, or 4 to read it). */
  private needed = 4;

  constructor(private readonly maxMessageLength = DEFAULT_MAX_MESSAGE_LENGTH) {}

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.pendingLength;
  }

  /** Feeds one read; calls `onMessage` for every complete message, in order. */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    if (this.failed) throw this.failed;
    let buf: Buffer;
    if (this.pendingLength === 0) {
      buf = chunk;
    } else {
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
      // Copy only once the head message is complete: a large message over many reads is joined once.
      if (this.pendingLength < this.needed) return;
      buf = Buffer.concat(this.pending, this.pendingLength);
      this.pending = [];
      this.pendingLength = 0;
    }
    let off = 0;
    while (buf.length - off >= 4) {
      const version = buf[off]!;
      const length = (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
      if (version !== DIAMETER_VERSION) return this.fail(`version ${version} where a Diameter header was expected`);
      if (length < DIAMETER_HEADER_LENGTH) return this.fail(`Message Length ${length} is shorter than the header`);
      if (length > this.maxMessageLength) return this.fail(`Message Length ${length} exceeds the limit of ${this.maxMessageLength}`);
      if (buf.length - off < length) break;
      const msg = buf.subarray(off, off + length);
      off += length;
      onMessage(msg);
    }
    if (off < buf.length) {
      const rest = buf.subarray(off);
      this.pending.push(rest);
      this.pendingLength = rest.length;
      this.needed = rest.length >= 4 ? (rest[1]! << 16) | (rest[2]! << 8) | rest[3]! : 4;
    }
  }

  private fail(reason: string): never {
    this.failed = new DiameterFramingError(reason);
    this.pending = [];
    this.pendingLength = 0;
    throw this.failed;
  }
}
