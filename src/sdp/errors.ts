/**
 * SDP that cannot be understood. The UE turns it into 400 Bad Request (RFC 3261 §21.4.1) with the reason in
 * the reason phrase or a Warning; offers that parse but cannot be accepted are not errors but 488 results.
 */
export class SdpError extends Error {
  constructor(readonly reason: string) {
    super(`malformed SDP: ${reason}`);
    this.name = 'SdpError';
  }
}
