import type { HopRef } from '../topology/schema.js';

/**
 * How a `kind: proxy` node behaves (the topology's proxy fields, docs/topologies.md):
 * - mode `proxy`: a stateful proxy (RFC 3261 §16) with a registrar (§10.3) in front of its location service;
 *   mode `redirect`: a redirect server (§8.3) answering 302 with the registered contacts, registrar included.
 * - auth `true`: REGISTER is challenged with 401 (§22.2) and out-of-dialog requests from the proxy's own
 *   domain with 407 (§22.3); `register`: only REGISTER (the bench's configuration, as Kamailio's there);
 *   `false`: no digest at all (an open lab registrar).
 */
export interface ProxySettings {
  /** Where requests for other domains (or with a Route naming no one here) go; absent: the Request-URI itself. */
  next?: HopRef;
  recordRoute: boolean;
  mode: ProxyMode;
  auth: ProxyAuth;
  minExpires?: number;
  maxExpires?: number;
}

export type ProxyMode = 'proxy' | 'redirect';
export type ProxyAuth = boolean | 'register';

/** Fills defaults into what the topology (or a test) gave. */
export function proxySettings(raw: Partial<ProxySettings> | Record<string, unknown>): ProxySettings {
  const r = raw as Partial<ProxySettings>;
  const mode: ProxyMode = r.mode === 'redirect' ? 'redirect' : 'proxy';
  const auth: ProxyAuth = r.auth === false ? false : r.auth === 'register' ? 'register' : true;
  return {
    ...(r.next ? { next: r.next } : {}),
    recordRoute: r.recordRoute ?? true,
    mode,
    auth,
    ...(r.minExpires !== undefined ? { minExpires: r.minExpires } : {}),
    ...(r.maxExpires !== undefined ? { maxExpires: r.maxExpires } : {}),
  };
}
