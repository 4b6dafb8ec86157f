/**
 * The replay list of RFC 3711 §3.3.2 as a sliding window: the highest index authenticated so far and a bit
 * mask of which of the `size` indices below it have been received. An index above the window is new; one
 * inside it is new unless its bit is set; one below it is too old to tell and is rejected.
 * The RFC requires a window of at least 64 (§3.3.2: "SRTP-WINDOW-SIZE … MUST be at least 64").
 */
export class ReplayWindow {
  private top = -1;
  private mask = 0n;
  private readonly full: bigint;

  constructor(readonly size = 64) {
    if (!Number.isInteger(size) || size < 64 || size > 32768) throw new RangeError('replay window must be 64-32768 packets');
    this.full = (1n << BigInt(size)) - 1n;
  }

  /** Whether a packet with this index may be accepted (checked before authentication, §3.3 step 2). */
  isNew(index: number): boolean {
    if (index < 0) return false;
    if (this.top < 0 || index > this.top) return true;
    const delta = this.top - index;
    if (delta >= this.size) return false;
    return ((this.mask >> BigInt(delta)) & 1n) === 0n;
  }

  /** Records an index once its packet authenticated (§3.3 step 6: the list is updated only then). */
  accept(index: number): void {
    if (index > this.top) {
      const shift = this.top < 0 ? this.size : index - this.top;
      this.mask = shift >= this.size ? 1n : ((this.mask << BigInt(shift)) | 1n) & this.full;
      this.top = index;
    } else {
      this.mask |= 1n << BigInt(this.top - index);
    }
  }

  get highest(): number {
    return this.top;
  }
}
