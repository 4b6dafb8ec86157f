import { ownString } from './own-string.js';

/**
 * One shared copy of each value that repeats across many records (a Service-Route, a Path, a feature tag every
 * handset of one kind sends), so that a million registrations hold it once (issue 7). Bounded: values that do
 * not repeat (a per-user token in a route) would otherwise pile up for ever, so past `limit` distinct values a
 * value is only copied (util/own-string.ts), not remembered.
 */
export class Interner {
  private readonly values = new Map<string, string>();
  private readonly lists = new Map<string, readonly string[]>();

  constructor(private readonly limit = 4096) {}

  string(value: string): string {
    const known = this.values.get(value);
    if (known !== undefined) return known;
    const own = ownString(value);
    if (this.values.size < this.limit) this.values.set(own, own);
    return own;
  }

  /** A frozen list shared by every caller with the same values in the same order; never changed in place. */
  list(values: readonly string[]): readonly string[] {
    if (values.length === 0) return EMPTY;
    const key = values.length === 1 ? values[0]! : values.join('\n');
    const known = this.lists.get(key);
    if (known !== undefined && known.length === values.length && known.every((v, i) => v === values[i])) return known;
    const own = Object.freeze(values.map((v) => this.string(v)));
    if (this.lists.size < this.limit) this.lists.set(ownString(key), own);
    return own;
  }
}

const EMPTY: readonly string[] = Object.freeze([]);
