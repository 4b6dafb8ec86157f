/**
 * When to refresh something granted for `expires` seconds. TS 24.229 §5.1.1.4.1 (registration) and §5.1.1.3
 * (reg-event subscription) use the same rule: 600 s before expiry when the grant is longer than 1200 s,
 * otherwise when half of it has passed. RFC 6665 §4.1.2.1 only asks for "before expiry"; we use this rule
 * there too so that all refreshes read alike on a ladder.
 */
export function refreshDelaySeconds(expires: number): number {
  if (expires <= 0) return 0;
  return expires > 1200 ? expires - 600 : expires / 2;
}
