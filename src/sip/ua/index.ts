/** The UA core (RFC 3261 §8, §12) and RFC 6665 subscriptions: one import for UEs and CSCFs that act as UAs. */
export { UserAgent, type UserAgentOptions, type RequestOptions, type SendOptions, type ClientResult, type ChallengeAnswer, type ChallengeHandler, type DialogUsage, type RequestHandlerFn } from './user-agent.js';
export { IncomingRequest, type ResponseOptions } from './incoming.js';
export { Subscription, type SubscriptionOptions, type Notification, type SubscriptionStatus, type SubscriberState } from './subscription.js';
export { Notifier, type NotifierOptions } from './notifier.js';
export { parseSubscriptionState, formatSubscriptionState, parseEvent, type SubscriptionStateValue, type SubstateValue, type TerminationReason } from './subscription-state.js';
export { buildRequest, type OutOfDialogRequest } from './request-builder.js';
export { nextHop, NextHopError } from './next-hop.js';
export { refreshDelaySeconds } from './refresh.js';
export { Dialog, dialogKey, type DialogId, type DialogState, type InDialogOptions } from '../dialog/dialog.js';
export { targetThroughRouteSet, isLooseRoute, routeValueUri, type RequestTarget } from '../dialog/route-set.js';
