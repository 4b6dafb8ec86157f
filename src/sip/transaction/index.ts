/** The SIP transaction layer (RFC 3261 §17, RFC 6026): one import for the TUs above it. */
export { TransactionLayer, type TransactionLayerOptions, type RequestHandler, type AckHandler, type StrayResponseHandler } from './layer.js';
export { ClientInviteTransaction } from './client-invite.js';
export { ClientNonInviteTransaction } from './client-non-invite.js';
export { ServerInviteTransaction, UAS_TRYING, type TryingPolicy } from './server-invite.js';
export { ServerNonInviteTransaction } from './server-non-invite.js';
export { TransactionCounters } from './counters.js';
export { DEFAULT_TIMERS, timerSettings, type TimerSettings } from './timers.js';
export { buildNonSuccessAck, buildCancel } from './ack.js';
export { createResponse, reasonPhrase, tagOf, hasTag } from './response.js';
export type * from './types.js';
