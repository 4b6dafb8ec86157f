/** Typed views of known headers as plain JSON, for `imslab sip parse` (one line in, one object out). */
import type { SipMessage } from '../message.js';
import { SipParseError } from '../parser.js';
import { parseCredentials, parseChallenge } from '../headers/auth.js';
import { parseContact } from '../headers/contact.js';
import { parseCSeq } from '../headers/cseq.js';
import { parseNameAddr } from '../headers/name-addr.js';
import { parseContentType, parsePAccessNetworkInfo, parsePChargingVector } from '../headers/p-headers.js';
import { parseSecurityMechanisms } from '../headers/security.js';
import { parseVia } from '../headers/via.js';
import { headerKey } from '../header-names.js';
import { splitList } from '../syntax.js';
import { parseUri } from '../uri.js';

const NAME_ADDR = new Set(['from', 'to', 'route', 'record-route', 'path', 'service-route', 'p-asserted-identity', 'p-preferred-identity', 'p-associated-uri', 'refer-to']);

/** Maps and other non-JSON values to plain objects. */
function plain(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function describeHeader(name: string, value: string, m: SipMessage): { parsed?: unknown; error?: string } {
  void m;
  const k = headerKey(name);
  try {
    let parsed: unknown;
    if (k === 'via') parsed = splitList(value).map(parseVia);
    else if (k === 'cseq') parsed = parseCSeq(value);
    else if (k === 'contact') parsed = value.trim() === '*' ? '*' : splitList(value).map(parseContact);
    else if (NAME_ADDR.has(k)) {
      const list = k === 'from' || k === 'to' || k === 'refer-to' ? [value] : splitList(value);
      parsed = list.map((v) => {
        const n = parseNameAddr(v);
        let uri: unknown;
        try {
          uri = parseUri(n.uri);
        } catch {
          uri = undefined;
        }
        return { ...n, parsedUri: uri };
      });
    } else if (k === 'authorization' || k === 'proxy-authorization') parsed = parseCredentials(value);
    else if (k === 'www-authenticate' || k === 'proxy-authenticate') parsed = parseChallenge(value);
    else if (k === 'security-client' || k === 'security-server' || k === 'security-verify') parsed = parseSecurityMechanisms([value]);
    else if (k === 'content-type') parsed = parseContentType(value);
    else if (k === 'p-charging-vector') parsed = parsePChargingVector(value);
    else if (k === 'p-access-network-info') parsed = parsePAccessNetworkInfo(value);
    else return {};
    return { parsed: plain(parsed) };
  } catch (e) {
    if (e instanceof SipParseError) return { error: e.reason };
    throw e;
  }
}
