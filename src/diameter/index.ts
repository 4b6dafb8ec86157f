/**
 * Diameter base protocol (RFC 6733) and the Cx/Dx application (TS 29.228/29.229).
 *
 *   codec:      avp.ts, message.ts, codec.ts  (pure: bytes <-> objects)
 *   facts:      dictionary/  (base + Cx AVPs, commands, enumerations)
 *   transport:  framing.ts, peer.ts (state machine, watchdog), node.ts (listener, handlers)
 *   Cx:         cx/  (typed messages, CxClient)
 */
export * from './avp.js';
export * from './message.js';
export * from './codec.js';
export * from './result-codes.js';
export * from './framing.js';
export * from './capabilities.js';
export * from './validation.js';
export * from './peer.js';
export * from './node.js';
export * from './dictionary/index.js';
export * as cx from './cx/index.js';
