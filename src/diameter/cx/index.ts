/** The Cx/Dx application (TS 29.228, TS 29.229): typed messages, constants, and a client over a connection. */
export * from './constants.js';
export * from './common.js';
export * from './user-authorization.js';
export * from './server-assignment.js';
export * from './location-info.js';
export * from './multimedia-auth.js';
export * from './registration-termination.js';
export * from './push-profile.js';
export * from './client.js';
