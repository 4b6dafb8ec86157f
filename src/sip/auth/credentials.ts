/**
 * The Digest challenge and credentials header values (RFC 3261 §25.1, RFC 2617 §3.2.1–3.2.2, RFC 3310 §3.1–3.4):
 *   Digest name=token-or-"quoted", name=…
 * Used for WWW-Authenticate / Proxy-Authenticate (challenge) and Authorization / Proxy-Authorization (credentials).
 */

export class AuthHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthHeaderError';
  }
}

export interface AuthHeaderValue {
  /** "Digest" for everything here; compared case-insensitively (RFC 2617 §1.2). */
  scheme: string;
  /** Parameter names lowercased (they are case-insensitive); values unquoted and unescaped. */
  params: Map<string, string>;
}

const isTokenChar = (c: number): boolean =>
  // RFC 3261 §25.1 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || '-.!%*_+`\'~'.includes(String.fromCharCode(c));

const isWs = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** Linear single-pass parser: no regular expressions over attacker-supplied header text. */
export function parseAuthHeader(value: string): AuthHeaderValue {
  let i = 0;
  const n = value.length;
  const skipWs = () => {
    while (i < n && isWs(value.charCodeAt(i))) i++;
  };
  const token = (what: string): string => {
    const start = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    if (i === start) throw new AuthHeaderError(`expected ${what} at offset ${start} in "${value}"`);
    return value.slice(start, i);
  };
  skipWs();
  const scheme = token('an auth scheme');
  const params = new Map<string, string>();
  skipWs();
  while (i < n) {
    const name = token('a parameter name').toLowerCase();
    skipWs();
    if (value[i] !== '=') throw new AuthHeaderError(`expected "=" after ${name}`);
    i++;
    skipWs();
    let v: string;
    if (value[i] === '"') {
      i++;
      let out = '';
      let closed = false;
      while (i < n) {
        const ch = value[i]!;
        if (ch === '\\' && i + 1 < n) {
          out += value[i + 1];
          i += 2;
        } else if (ch === '"') {
          i++;
          closed = true;
          break;
        } else {
          out += ch;
          i++;
        }
      }
      if (!closed) throw new AuthHeaderError(`unterminated quoted string in parameter ${name}`);
      v = out;
    } else {
      v = token(`a value for ${name}`);
    }
    if (params.has(name)) throw new AuthHeaderError(`parameter ${name} appears twice`);
    params.set(name, v);
    skipWs();
    if (i < n) {
      if (value[i] !== ',') throw new AuthHeaderError(`expected "," after parameter ${name}`);
      i++;
      skipWs();
    }
  }
  return { scheme, params };
}

/**
 * Parameters sent unquoted: RFC 2617 §3.2.1/§3.2.2 algorithm, stale, nc, and qop in credentials (the
 * challenge's qop-options is quoted). Everything else (realm, nonce, opaque, username, uri, response, cnonce,
 * RFC 3310 auts, TS 24.229 ik/ck) is a quoted-string.
 */
const UNQUOTED_IN_CHALLENGE = new Set(['algorithm', 'stale']);
const UNQUOTED_IN_CREDENTIALS = new Set(['algorithm', 'nc', 'qop']);

function quote(v: string): string {
  let out = '"';
  for (const ch of v) out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  return `${out}"`;
}

function format(scheme: string, params: Iterable<[string, string]>, unquoted: Set<string>): string {
  const parts: string[] = [];
  for (const [name, value] of params) {
    const key = name.toLowerCase();
    parts.push(`${name}=${unquoted.has(key) ? value : quote(value)}`);
  }
  return `${scheme} ${parts.join(', ')}`;
}

/** WWW-Authenticate / Proxy-Authenticate value, parameters in the given order. */
export function formatChallenge(params: Iterable<[string, string]>, scheme = 'Digest'): string {
  return format(scheme, params, UNQUOTED_IN_CHALLENGE);
}

/** Authorization / Proxy-Authorization value, parameters in the given order. */
export function formatCredentials(params: Iterable<[string, string]>, scheme = 'Digest'): string {
  return format(scheme, params, UNQUOTED_IN_CREDENTIALS);
}
