/**
 * RTP/RTCP for simulated UEs: pure codecs (packet, rtcp, dtmf, g711), receiver statistics (RFC 3550 A.1/A.3/A.8),
 * port pairs per UE, and RtpSession, the one media stream of a call (see session.ts for usage).
 */
export * from './packet.js';
export * from './rtcp.js';
export * from './dtmf.js';
export * from './g711.js';
export * from './statistics.js';
export * from './ports.js';
export * from './frames.js';
export * from './session.js';
