/** The identifiers every layer needs from a message (RFC 3261 §12, §17.1.3), in one import. */
export { callId } from './call-id.js';
export { cseqOf } from './cseq.js';
export { fromTag, toTag } from './name-addr.js';
export { topVia } from './via.js';
