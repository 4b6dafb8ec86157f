/** The I-CSCF (TS 24.229 §5.3) and the S-CSCF (§5.4): two roles, deployable apart or together. */
export * from './icscf/index.js';
export * from './scscf/index.js';
export * from './reginfo.js';
export { parseUserProfile, ProfileError, type UserProfile, type ProfileIdentity } from './user-profile.js';
export { HssLink, HssUnavailableError } from './hss-link.js';
