/**
 * SDP offer/answer for simulated UEs (RFC 3264 on RFC 4566, with RFC 3312 preconditions as TS 24.229 uses them).
 *
 *   const offer = createOffer({ address: '127.0.10.1', port: 40000, preconditions: true }, random);
 *   // callee:
 *   const a = answerOffer(offer.sdp, { address: '127.0.10.2', port: 40100 }, random);
 *   if (!a.ok) reply488(a.warning);            // Warning: 305 … "Incompatible media format"
 *   // caller:
 *   const applied = applyAnswer(offer, a.sdp); // → applied.remote.{address,port,rtcpPort,pt}
 *   const held = holdOffer(offer);             // re-INVITE body, then resumeOffer(held)
 *
 * SRTP: createOffer({ …, srtp: true }) offers RTP/SAVP with a=crypto (RFC 4568); answerOffer(…, { …, srtp: true })
 * accepts it (else declines it, 488 with Warning 302/306); both results carry `srtp` keys for RtpSession.
 *
 * Bodies that cannot be read throw SdpError (reason for a 400).
 */
export * from './codecs.js';
export * from './errors.js';
export { parseSessionDescription, type Direction } from './description.js';
export * from './preconditions.js';
export { type SdpOrigin, PTIME_MS } from './build.js';
export * from './offer.js';
export * from './answer.js';
export * from './apply.js';
export { parseRemoteMedia, type RemoteMedia } from './remote.js';
export * from './crypto.js';
