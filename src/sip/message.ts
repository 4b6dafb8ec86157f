import { canonicalHeaderName, headerKey, LIST_HEADERS } from './header-names.js';
import { firstListElement, splitList, topLevelIndex } from './syntax.js';

export const SIP_VERSION = 'SIP/2.0';
const EMPTY = Buffer.alloc(0);

/**
 * The header section of a SIP message, in wire order. Each entry is one header field line (after unfolding)
 * with its value as text; typed views (src/sip/headers) parse values on demand, so a proxy that only touches
 * Via, Route and Max-Forwards never parses the rest.
 */
export class Headers {
  /** Lookup keys (lowercase, compact forms expanded), parallel to names and values. */
  private keys: string[] = [];
  private names: string[] = [];
  private vals: string[] = [];

  static from(entries: Iterable<readonly [string, string]>): Headers {
    const h = new Headers();
    for (const [n, v] of entries) h.append(n, v);
    return h;
  }

  get size(): number {
    return this.keys.length;
  }

  has(name: string): boolean {
    return this.keys.indexOf(headerKey(name)) >= 0;
  }

  /** The first line's value. */
  get(name: string): string | undefined {
    const i = this.keys.indexOf(headerKey(name));
    return i >= 0 ? this.vals[i] : undefined;
  }

  /** Every line's value, unsplit. */
  getAll(name: string): string[] {
    const k = headerKey(name);
    const out: string[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === k) out.push(this.vals[i]!);
    return out;
  }

  /**
   * Every element of a list header (RFC 3261 §7.3.1), across lines, split at commas outside quoted strings
   * and `<…>`. For headers that are not lists this is the same as getAll.
   */
  list(name: string): string[] {
    const k = headerKey(name);
    const all = this.getAll(name);
    if (!LIST_HEADERS.has(k)) return all;
    const out: string[] = [];
    for (const v of all) for (const e of splitList(v)) out.push(e);
    return out;
  }

  /** Adds a line at the end. */
  append(name: string, value: string): this {
    this.keys.push(headerKey(name));
    this.names.push(canonicalHeaderName(name));
    this.vals.push(value);
    return this;
  }

  /**
   * Adds a line before the first line of the same name, or at the top if there is none: Via, Record-Route
   * and Path are pushed this way (RFC 3261 §16.6, RFC 3327 §4.3).
   */
  prepend(name: string, value: string): this {
    const k = headerKey(name);
    let i = this.keys.indexOf(k);
    if (i < 0) i = 0;
    this.keys.splice(i, 0, k);
    this.names.splice(i, 0, canonicalHeaderName(name));
    this.vals.splice(i, 0, value);
    return this;
  }

  /** Replaces every line of that name by one line, kept where the first one was. */
  set(name: string, value: string): this {
    const k = headerKey(name);
    const i = this.keys.indexOf(k);
    if (i < 0) return this.append(name, value);
    this.vals[i] = value;
    this.names[i] = canonicalHeaderName(name);
    for (let j = this.keys.length - 1; j > i; j--) if (this.keys[j] === k) this.removeAt(j);
    return this;
  }

  /** Removes every line of that name; returns how many were removed. */
  delete(name: string): number {
    const k = headerKey(name);
    let n = 0;
    for (let j = this.keys.length - 1; j >= 0; j--) {
      if (this.keys[j] === k) {
        this.removeAt(j);
        n++;
      }
    }
    return n;
  }

  /**
   * Removes the first element of a list header and returns it: the top Via (§16.7 step 3) or the top Route
   * (§16.4). A line holding several comma-separated elements keeps the rest.
   */
  shift(name: string): string | undefined {
    const k = headerKey(name);
    const i = this.keys.indexOf(k);
    if (i < 0) return undefined;
    const v = this.vals[i]!;
    if (topLevelIndex(v, 44 /* , */) < 0) {
      // One element on the line (the usual case): the line goes, and nothing needs splitting or joining.
      this.removeAt(i);
      return v.trim() || undefined;
    }
    const parts = splitList(v);
    const first = parts.shift();
    if (parts.length === 0) this.removeAt(i);
    else this.vals[i] = parts.join(', ');
    return first;
  }

  /** The first element of a list header, without removing it. */
  first(name: string): string | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (!LIST_HEADERS.has(headerKey(name))) return v;
    return firstListElement(v);
  }

  /**
   * Line `i` (0 … size − 1) in wire order: its lookup key (lowercase, compact form expanded), canonical name and
   * value. What a hot path walks (serializing, copying into a response) instead of entries(), which makes an
   * array per line: a proxy writes and copies every header of every message it passes.
   */
  keyAt(i: number): string {
    return this.keys[i]!;
  }

  nameAt(i: number): string {
    return this.names[i]!;
  }

  valueAt(i: number): string {
    return this.vals[i]!;
  }

  /** [canonical name, value] per line, in wire order. */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.keys.length; i++) yield [this.names[i]!, this.vals[i]!];
  }

  clone(): Headers {
    const h = new Headers();
    h.keys = this.keys.slice();
    h.names = this.names.slice();
    h.vals = this.vals.slice();
    return h;
  }

  private removeAt(i: number): void {
    this.keys.splice(i, 1);
    this.names.splice(i, 1);
    this.vals.splice(i, 1);
  }
}

export class SipRequest {
  readonly kind = 'request' as const;
  constructor(
    public method: string,
    /** The Request-URI as text; parse it with parseUri when its parts are needed. */
    public uri: string,
    public headers: Headers = new Headers(),
    public body: Buffer = EMPTY,
    public version: string = SIP_VERSION,
  ) {}

  clone(): SipRequest {
    return new SipRequest(this.method, this.uri, this.headers.clone(), this.body, this.version);
  }
}

export class SipResponse {
  readonly kind = 'response' as const;
  constructor(
    public status: number,
    public reason: string,
    public headers: Headers = new Headers(),
    public body: Buffer = EMPTY,
    public version: string = SIP_VERSION,
  ) {}

  clone(): SipResponse {
    return new SipResponse(this.status, this.reason, this.headers.clone(), this.body, this.version);
  }
}

export type SipMessage = SipRequest | SipResponse;

export const isRequest = (m: SipMessage): m is SipRequest => m.kind === 'request';
export const isResponse = (m: SipMessage): m is SipResponse => m.kind === 'response';
