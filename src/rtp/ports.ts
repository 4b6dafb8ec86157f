/**
 * RTP port pairs for one UE (RFC 3550 §11: RTP on an even port, RTCP on the next odd one). Each UE gets its
 * own allocator with its own range, injected, so that two UEs on the same address do not collide and a
 * seeded run always picks the same ports.
 */
export interface PortRange {
  /** First port of the range, inclusive; rounded up to even. */
  min: number;
  /** Last port of the range, inclusive (the RTCP port of the last pair must fit). */
  max: number;
}

export const DEFAULT_RTP_PORT_RANGE: PortRange = { min: 40000, max: 49999 };

export class PortAllocator {
  private readonly first: number;
  private readonly pairs: number;
  private cursor = 0;
  private readonly inUse = new Set<number>();

  constructor(readonly range: PortRange = DEFAULT_RTP_PORT_RANGE) {
    const { min, max } = range;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || max <= min) {
      throw new RangeError(`bad RTP port range ${min}-${max}: need 1024 <= min < max <= 65535`);
    }
    this.first = min + (min % 2);
    this.pairs = Math.floor((max - this.first + 1) / 2);
    if (this.pairs < 1) throw new RangeError(`RTP port range ${min}-${max} holds no even/odd pair`);
  }

  /** The next free even RTP port, in round-robin order so a port just released is not reused at once. */
  allocate(): number {
    for (let i = 0; i < this.pairs; i++) {
      const port = this.first + 2 * ((this.cursor + i) % this.pairs);
      if (!this.inUse.has(port)) {
        this.cursor = (this.cursor + i + 1) % this.pairs;
        this.inUse.add(port);
        return port;
      }
    }
    throw new Error(`no free RTP port pair left in ${this.range.min}-${this.range.max}`);
  }

  release(port: number): void {
    this.inUse.delete(port);
  }

  get capacity(): number {
    return this.pairs;
  }

  get allocated(): number {
    return this.inUse.size;
  }
}
