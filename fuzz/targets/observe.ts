/**
 * What a live target learns from the node under test: the node reports every packet it receives and every
 * problem it notes on its TraceBus (the one record of traffic). The layers catch what their callbacks throw
 * and turn it into notes so that the node survives; the fuzzer reads those notes back as findings: an
 * 'error' note, or any note that carries a JavaScript engine error (a TypeError caught and noted is still a
 * bug). The culprit is the last message the node received before the note.
 */
import type { Subscription } from 'rxjs';
import type { TraceBus } from '../../src/trace/events.js';
import type { FuzzInput, Observation } from '../types.js';

/** Messages of errors only a programming mistake produces (V8 and Node's own wording). */
const ENGINE_ERROR =
  /Cannot read properties of|Cannot set properties of|\w is not a function|\w is not iterable|\w is not a constructor|Maximum call stack size|Invalid array length|Invalid string length|Cannot convert (?:undefined|null|a BigInt|a Symbol|object)|Cannot mix BigInt|Cannot access '[^']*' before initialization|The value of "[^"]*" is out of range|outside buffer bounds|ERR_INVALID_ARG_TYPE|ERR_OUT_OF_RANGE/;

export function looksLikeProgrammingError(text: string): boolean {
  return ENGINE_ERROR.test(text);
}

export class NodeObserver {
  private last: Buffer | undefined;
  /** Messages received from the fuzz clients' addresses. */
  received = 0;
  private seen: Observation[] = [];
  private readonly sub: Subscription;
  /** The inputs currently being delivered: where a culprit's index is looked up. */
  batch: readonly FuzzInput[] = [];

  constructor(trace: TraceBus, node: string, isFuzzClient: (address: string) => boolean) {
    this.sub = trace.events$.subscribe((e) => {
      if (e.node !== node) return;
      if (e.type === 'packet') {
        if (e.direction === 'recv' && isFuzzClient(e.remote.address)) {
          this.last = e.bytes;
          this.received++;
        }
        return;
      }
      if (e.level === 'error' || looksLikeProgrammingError(e.text)) {
        const o: Observation = { kind: 'note', message: `${node} noted (${e.level}): ${e.text}` };
        if (this.last) {
          o.bytes = this.last;
          const index = this.indexOf(this.last);
          if (index !== undefined) o.index = index;
        }
        this.seen.push(o);
      }
    });
  }

  /** The last message the node received, and the input it came from when that is known. */
  culprit(): { bytes: Buffer; index?: number } | undefined {
    if (!this.last) return undefined;
    const index = this.indexOf(this.last);
    return index === undefined ? { bytes: this.last } : { bytes: this.last, index };
  }

  drain(): Observation[] {
    return this.seen.splice(0);
  }

  close(): void {
    this.sub.unsubscribe();
  }

  private indexOf(bytes: Buffer): number | undefined {
    const exact = this.batch.find((b) => b.bytes.equals(bytes));
    if (exact) return exact.index;
    // Over a stream the node may have framed a part of an input.
    const head = bytes.subarray(0, 64);
    return this.batch.find((b) => b.bytes.includes(head))?.index;
  }
}

/**
 * Source addresses for short-lived TCP connections, used in turn. Binding a local address takes a port of that
 * address, and every connection the fuzzer closes first leaves its port in TIME_WAIT for a minute: from one
 * address a long run would use up the ephemeral range, from fifty it cannot.
 */
export class AddressPool {
  private next = 0;

  constructor(
    private readonly prefix: string,
    private readonly first: number,
    private readonly count: number,
  ) {}

  take(): string {
    const a = `${this.prefix}${this.first + (this.next % this.count)}`;
    this.next++;
    return a;
  }

  has(address: string): boolean {
    if (!address.startsWith(this.prefix)) return false;
    const n = Number(address.slice(this.prefix.length));
    return n >= this.first && n < this.first + this.count;
  }
}
