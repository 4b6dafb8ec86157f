/** The stateful proxy core (RFC 3261 §16) every CSCF builds on. */
export { ProxyCore, type ProxyCoreOptions } from './proxy-core.js';
export { ResponseContext } from './response-context.js';
export { chooseBestResponse } from './best-response.js';
export { validateRequest, parseMaxForwards, type ValidationFailure } from './validation.js';
export { loopHash, proxyBranch, hasLooped } from './loop.js';
export { preprocessRoute, applyStrictRouting, nextHopUri, resolveUri, isOwnUri, routeUri, type OwnUris } from './routing.js';
export type * from './types.js';
