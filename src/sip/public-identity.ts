/**
 * The key a public user identity is known by (TS 23.003 §13.4), so that every lookup of an IMPU — in the
 * HSS, in the S-CSCF's registrations, in LIR/UAR — agrees: scheme and host compared case-insensitively
 * (RFC 3261 §19.1.4), the user part as written, sips: the same identity as sip:, and no port, URI parameters
 * or headers. A Request-URI such as `sip:dave@ims.example;transport=tcp` (softphones add the transport of their
 * account to what they dial) names dave; `tel:+15550002;phone-context=…` names +15550002.
 */
export function publicIdentityKey(uri: string): string {
  let u = uri.trim();
  if (u.startsWith('<') && u.endsWith('>')) u = u.slice(1, -1);
  const colon = u.indexOf(':');
  if (colon < 0) return u;
  const scheme = u.slice(0, colon).toLowerCase();
  const rest = u.slice(colon + 1);
  if (scheme === 'tel') return `tel:${cutAt(rest, ';?')}`;
  // The user part may itself hold ';' (telephone-subscriber parameters, RFC 3261 §19.1.1); parameters of the
  // URI start after the host.
  const at = rest.lastIndexOf('@');
  const user = at < 0 ? '' : rest.slice(0, at + 1);
  let host = cutAt(at < 0 ? rest : rest.slice(at + 1), ';?');
  const close = host.lastIndexOf(']');
  const portColon = host.indexOf(':', close + 1);
  if (portColon >= 0 && (close >= 0 || host.indexOf(':') === portColon)) host = host.slice(0, portColon);
  return `${scheme === 'sips' ? 'sip' : scheme}:${user}${host.toLowerCase()}`;
}

function cutAt(s: string, chars: string): string {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return s.slice(0, i);
  return s;
}
