import { isSipUri, parseUri } from '../sip/uri.js';

/** A user the registrar knows: the digest username(s), the password, and the AORs it may register (§10.3 step 4). */
export interface DigestUser {
  /** The private identity (user@realm) the topology names it by. */
  name: string;
  password: string;
  /** AORs as `sip:user@domain`, lowercased host. */
  aors: ReadonlySet<string>;
}

/** What the topology gives: subscribers with a password (schema.ts Subscriber). */
export interface UserRecord {
  impi: string;
  impus: readonly string[];
  password?: string;
}

/**
 * The users of a SIP digest realm, by digest username. RFC 3261 §22.4 leaves the username's form to the
 * deployment: classic SIP clients send the user part of their AOR ("alice"), IMS clients the private identity
 * ("alice@domain", TS 24.229 §5.1.1.2.1). Both find the same user here.
 */
export class UserDirectory {
  private readonly byUsername = new Map<string, DigestUser>();
  private readonly aorOwners = new Map<string, DigestUser>();

  constructor(records: Iterable<UserRecord>, domain: string) {
    for (const r of records) {
      if (r.password === undefined) continue;
      const aors = new Set<string>();
      for (const impu of r.impus) {
        const aor = addressOfRecord(impu);
        if (aor) aors.add(aor);
      }
      const user: DigestUser = { name: r.impi, password: r.password, aors };
      this.byUsername.set(r.impi, user);
      const at = r.impi.lastIndexOf('@');
      if (at > 0 && r.impi.slice(at + 1).toLowerCase() === domain.toLowerCase()) this.byUsername.set(r.impi.slice(0, at), user);
      for (const aor of aors) {
        this.aorOwners.set(aor, user);
        const u = aor.slice(4, aor.lastIndexOf('@'));
        if (aor.endsWith(`@${domain.toLowerCase()}`) && !this.byUsername.has(u)) this.byUsername.set(u, user);
      }
    }
  }

  byName(username: string): DigestUser | undefined {
    return this.byUsername.get(username);
  }

  /** Whether this AOR belongs to a user of the realm (§10.3 step 5: else 404). */
  owner(aor: string): DigestUser | undefined {
    return this.aorOwners.get(aor);
  }

  get size(): number {
    return new Set(this.byUsername.values()).size;
  }
}

/**
 * The address-of-record of a SIP URI (RFC 3261 §10.3 step 5: "the URI MUST then be converted to a canonical
 * form ... all URI parameters MUST be removed ... and all escaped characters MUST be converted"): scheme `sip`,
 * user and host, host lowercased, no port, no parameters. Undefined for URIs that are not SIP with a user.
 */
export function addressOfRecord(uri: string): string | undefined {
  let u;
  try {
    u = parseUri(uri);
  } catch {
    return undefined;
  }
  if (!isSipUri(u) || u.user === undefined) return undefined;
  // parseUri has already unescaped the user part once (RFC 4475 §3.1.1.3: never twice).
  return `sip:${u.user}@${u.host.toLowerCase()}`;
}

