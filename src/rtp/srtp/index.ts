/**
 * SRTP and SRTCP (RFC 3711) with the two SDES suites of RFC 4568 §6.2, on node:crypto: key derivation
 * (§4.3), AES-CM (§4.1.1), HMAC-SHA1 (§4.2.1), the ROC (§3.3.1) and the replay list (§3.3.2).
 * Pure transforms in transform.ts; the per-direction state in SrtpContext (see context.ts for usage).
 */
export * from './suite.js';
export * from './errors.js';
export * from './aes-cm.js';
export * from './key-derivation.js';
export * from './replay-window.js';
export * from './transform.js';
export * from './context.js';
