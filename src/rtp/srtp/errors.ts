/**
 * Why an SRTP/SRTCP packet was not accepted. Every reason means "drop the packet" (RFC 3711 §3.3 steps 3
 * and 5); the reason only decides which counter goes up.
 */
export type SrtpFailure =
  /** Too short or not RTP/RTCP version 2 where the header must be readable. */
  | 'malformed'
  /** The authentication tag does not match (RFC 3711 §3.3 step 5). */
  | 'authentication'
  /** Seen before, or older than the replay window (§3.3.2). */
  | 'replayed'
  /** The MKI names a key we do not have (§3.3 step 2). */
  | 'unknown-key'
  /** The master key protected as many packets as the suite allows (§9.2; RFC 4568 §6.2.1). */
  | 'key-exhausted';

export class SrtpError extends Error {
  constructor(
    readonly failure: SrtpFailure,
    readonly detail: string,
  ) {
    super(`SRTP ${failure}: ${detail}`);
    this.name = 'SrtpError';
  }
}
