/**
 * What a reg-event NOTIFY (RFC 3680, TS 24.229 §5.1.1.3) means for this UE: find our contact under one of
 * our IMPUs and turn its state and event into an action (TS 24.229 §5.1.1.7 network-initiated
 * deregistration, §5.1.1.4 shortened expiry). Uses the S-CSCF's reginfo parser (src/scscf/reginfo.ts).
 */
import { parseRegInfo, type RegInfo, type RegInfoContact } from '../scscf/reginfo.js';
import { parseUri, uriEquals } from '../sip/uri.js';

export type RegEventAction =
  /** Nothing that concerns our binding changed. */
  | { kind: 'none' }
  /** Our binding is active with this many seconds left. */
  | { kind: 'active'; expires: number | undefined; event: string }
  /** §5.1.1.7: deactivated (or probation): register again from scratch. */
  | { kind: 'reregister'; event: string }
  /** §5.1.1.7: rejected, unregistered, expired: we are deregistered. */
  | { kind: 'deregistered'; event: string };

export interface OurBinding {
  /** Our IMPUs (the default one first); the NOTIFY may list any of them. */
  impus: readonly string[];
  /** Our Contact URI. */
  contact: string;
  /** Our +sip.instance (with <>), which identifies the binding even if the URI was rewritten. */
  instance: string;
}

export function readRegInfo(body: Buffer): RegInfo {
  return parseRegInfo(body.toString('utf8'));
}

export function regEventAction(info: RegInfo, ours: OurBinding): RegEventAction {
  const mine = info.registrations.filter((r) => ours.impus.some((i) => sameUri(i, r.aor)));
  // The default IMPU decides (§5.1.1.7 looks at the registration of the public user identity we registered).
  mine.sort((a, b) => Number(!sameUri(ours.impus[0]!, a.aor)) - Number(!sameUri(ours.impus[0]!, b.aor)));
  for (const r of mine) {
    const c = r.contacts.find((x) => isOurContact(x, ours));
    if (!c) {
      if (r.state === 'terminated' && sameUri(ours.impus[0]!, r.aor)) return { kind: 'deregistered', event: 'registration terminated' };
      continue;
    }
    if (c.state === 'active') return { kind: 'active', expires: c.expires, event: c.event };
    if (c.event === 'deactivated' || c.event === 'probation') return { kind: 'reregister', event: c.event };
    return { kind: 'deregistered', event: c.event };
  }
  return { kind: 'none' };
}

function isOurContact(c: RegInfoContact, ours: OurBinding): boolean {
  const inst = c.unknownParams.find(([n]) => n.toLowerCase() === '+sip.instance')?.[1];
  if (inst !== undefined && inst.replace(/^"|"$/g, '') === ours.instance) return true;
  return sameUri(c.uri, ours.contact);
}

function sameUri(a: string, b: string): boolean {
  try {
    return uriEquals(parseUri(a), parseUri(b));
  } catch {
    return a === b;
  }
}
