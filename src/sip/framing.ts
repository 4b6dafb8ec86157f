/**
 * Message boundaries on a stream transport (RFC 3261 §18.3): a message ends after the empty line that closes
 * its header section plus Content-Length octets of body. Content-Length is mandatory on streams; a framing
 * error is unrecoverable and the connection must be closed (RFC 4475 §3.1.2.3).
 *
 * The framer only finds boundaries: it reads the header section far enough to find Content-Length (or its
 * compact form `l`) and leaves everything else to parseMessage. CRLF keep-alives between messages
 * (RFC 5626 §3.5.1: "\r\n\r\n" ping, "\r\n" pong) are skipped.
 */

export type FramedItem = { bytes: Buffer } | { error: string };

export interface StreamFramerOptions {
  /** Longest header section accepted (default 64 KiB). */
  maxHeaderBytes?: number;
  /** Largest Content-Length accepted (default 1 MiB). */
  maxBodyBytes?: number;
  /** Largest whole message (header section plus body) accepted; unlimited beyond the two limits above if unset. */
  maxMessageSize?: number;
}

const CR = 13;
const LF = 10;

export class StreamFramer {
  private buf: Buffer = Buffer.allocUnsafe(0);
  private len = 0;
  /** Where the search for the end of the header section resumes, so split input is scanned once. */
  private scanFrom = 0;
  /** Header section length (including the empty line) and body length of the message being received. */
  private pending: { headLength: number; bodyLength: number } | undefined;
  private failed = false;
  private readonly maxHeader: number;
  private readonly maxBody: number;
  private readonly maxMessage: number;

  constructor(options: StreamFramerOptions = {}) {
    this.maxHeader = options.maxHeaderBytes ?? 64 * 1024;
    this.maxBody = options.maxBodyBytes ?? 1024 * 1024;
    this.maxMessage = options.maxMessageSize ?? Infinity;
  }

  /** True once a framing error was reported; the stream cannot be resynchronised and must be closed. */
  get broken(): boolean {
    return this.failed;
  }

  /** Octets held that do not yet form a whole message. */
  get buffered(): number {
    return this.len;
  }

  /** Feeds received octets; returns the whole messages they complete, or one error item. */
  push(chunk: Buffer): FramedItem[] {
    if (this.failed || chunk.length === 0) return [];
    this.append(chunk);
    const out: FramedItem[] = [];
    for (;;) {
      if (!this.pending) {
        // Keep-alive CRLFs before a start line.
        let skip = 0;
        while (skip < this.len && (this.buf[skip] === CR || this.buf[skip] === LF)) skip++;
        if (skip > 0) this.consume(skip);
        if (this.len === 0) break;
        const end = this.findHeaderEnd();
        if (end < 0) {
          if (this.len > Math.min(this.maxHeader, this.maxMessage)) return this.fail(out, `Header section longer than ${this.maxHeader} octets`);
          break;
        }
        if (end > this.maxHeader) return this.fail(out, `Header section longer than ${this.maxHeader} octets`);
        const cl = contentLength(this.buf, end);
        if (typeof cl === 'string') return this.fail(out, cl);
        if (cl > this.maxBody) return this.fail(out, `Content-Length ${cl} over the limit of ${this.maxBody}`);
        if (end + cl > this.maxMessage) return this.fail(out, `Message of ${end + cl} octets over the limit of ${this.maxMessage}`);
        this.pending = { headLength: end, bodyLength: cl };
      }
      const total = this.pending.headLength + this.pending.bodyLength;
      if (this.len < total) break;
      out.push({ bytes: Buffer.from(this.buf.subarray(0, total)) });
      this.pending = undefined;
      this.consume(total);
    }
    return out;
  }

  private fail(out: FramedItem[], error: string): FramedItem[] {
    this.failed = true;
    this.buf = Buffer.allocUnsafe(0);
    this.len = 0;
    out.push({ error });
    return out;
  }

  private append(chunk: Buffer): void {
    if (this.len + chunk.length > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.len + chunk.length, this.buf.length * 2, 4096));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    chunk.copy(this.buf, this.len);
    this.len += chunk.length;
  }

  private consume(n: number): void {
    this.buf.copy(this.buf, 0, n, this.len);
    this.len -= n;
    this.scanFrom = 0;
  }

  /** Offset just past CRLFCRLF, or -1. Resumes where the last search stopped. */
  private findHeaderEnd(): number {
    const from = Math.max(0, this.scanFrom - 3);
    const i = this.buf.subarray(0, this.len).indexOf('\r\n\r\n', from, 'latin1');
    if (i >= 0) return i + 4;
    this.scanFrom = this.len;
    return -1;
  }
}

/** The Content-Length of a header section (§20.14, compact `l`), or an error text. */
function contentLength(buf: Buffer, end: number): number | string {
  const head = buf.toString('latin1', 0, end);
  let found: number | undefined;
  let pos = head.indexOf('\n') + 1;
  while (pos > 0 && pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    const c0 = head.charCodeAt(pos) | 0x20;
    if (c0 === 0x6c /* l */ || c0 === 0x63 /* c */) {
      const colon = head.indexOf(':', pos);
      if (colon > 0 && colon < nl) {
        const name = head.slice(pos, colon).trimEnd().toLowerCase();
        if (name === 'content-length' || name === 'l') {
          // The value may be folded onto following lines.
          let value = head.slice(colon + 1, nl);
          let next = nl + 1;
          while (next < head.length && (head.charCodeAt(next) === 32 || head.charCodeAt(next) === 9)) {
            const e = head.indexOf('\n', next);
            const stop = e < 0 ? head.length : e;
            value += ' ' + head.slice(next, stop);
            nl = stop;
            next = stop + 1;
          }
          value = value.trim();
          if (!/^\d{1,10}$/.test(value)) return `Bad Content-Length "${value.slice(0, 20)}"`;
          const n = Number(value);
          if (found !== undefined && found !== n) return 'Conflicting Content-Length values';
          found = n;
        }
      }
    }
    pos = nl + 1;
  }
  if (found === undefined) return 'Content-Length missing on a stream transport (§18.3)';
  return found;
}
