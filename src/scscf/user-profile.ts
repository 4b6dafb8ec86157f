/**
 * The user profile an S-CSCF receives in the Cx User-Data AVP (TS 29.228 §7.7, Annex D/E: the IMSSubscription
 * document). The registrar needs the implicit registration set (every PublicIdentity of the subscription, TS
 * 23.228 §5.2.1a), which of them are barred (Annex B.2.1), and the initial filter criteria, kept as written for
 * the service-triggering of a later issue. Pure: text in, data out; malformed documents raise ProfileError.
 */

export interface ProfileIdentity {
  /** The public user identity as written in <Identity>. */
  uri: string;
  /** BarringIndication 1: may register as part of the set, may not originate or receive sessions. */
  barred: boolean;
  /** Index of the ServiceProfile that lists it (identities of one profile share services). */
  serviceProfile: number;
}

export interface UserProfile {
  privateId: string;
  /** In document order: the HSS lists the default public identity first (TS 29.228 Annex B.2.1). */
  identities: ProfileIdentity[];
  /** Each ServiceProfile's <InitialFilterCriteria> elements, unparsed (TS 29.228 Annex B.2.2). */
  initialFilterCriteria: string[][];
  /** The document as received, for PPR comparisons and the trace. */
  xml: string;
}

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
}

/** Parses an IMSSubscription document (TS 29.228 Annex E). Element-level scan, no regular-expression backtracking. */
export function parseUserProfile(xml: string): UserProfile {
  const privateId = textOf(xml, 'PrivateID', 0);
  if (privateId === undefined) throw new ProfileError('User-Data has no <PrivateID> (TS 29.228 Annex E)');
  const profiles = elements(xml, 'ServiceProfile');
  if (profiles.length === 0) throw new ProfileError('User-Data has no <ServiceProfile> (TS 29.228 Annex E)');
  const identities: ProfileIdentity[] = [];
  const ifcs: string[][] = [];
  profiles.forEach((profile, index) => {
    for (const pi of elements(profile, 'PublicIdentity')) {
      const uri = textOf(pi, 'Identity', 0);
      if (uri === undefined || uri === '') throw new ProfileError('a <PublicIdentity> of the User-Data has no <Identity>');
      const barring = textOf(pi, 'BarringIndication', 0);
      identities.push({ uri, barred: barring === '1' || barring === 'true', serviceProfile: index });
    }
    ifcs.push(elements(profile, 'InitialFilterCriteria'));
  });
  if (identities.length === 0) throw new ProfileError('User-Data lists no public identity');
  return { privateId, identities, initialFilterCriteria: ifcs, xml };
}

/** The inner text of every top-level `<name>` element inside `xml`, in order. */
function elements(xml: string, name: string): string[] {
  const out: string[] = [];
  const open = `<${name}`;
  const close = `</${name}>`;
  let from = 0;
  for (;;) {
    const start = xml.indexOf(open, from);
    if (start < 0) return out;
    const after = xml.charCodeAt(start + open.length);
    // `<PublicIdentity` must not match `<PublicIdentityExtension`.
    if (after !== 62 /* > */ && after !== 32 && after !== 9 && after !== 10 && after !== 13 && after !== 47) {
      from = start + open.length;
      continue;
    }
    const gt = xml.indexOf('>', start);
    if (gt < 0) throw new ProfileError(`unterminated <${name}>`);
    if (xml.charCodeAt(gt - 1) === 47) {
      out.push('');
      from = gt + 1;
      continue;
    }
    const end = xml.indexOf(close, gt);
    if (end < 0) throw new ProfileError(`<${name}> is not closed`);
    out.push(xml.slice(gt + 1, end));
    from = end + close.length;
  }
}

function textOf(xml: string, name: string, index: number): string | undefined {
  const e = elements(xml, name)[index];
  return e === undefined ? undefined : unescapeXml(e.trim());
}

export function unescapeXml(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

const XML_SPECIAL = /[<>&"']/;
const XML_SPECIALS = /[<>&"']/g;

export function escapeXml(text: string): string {
  // Identities, ids, Call-IDs and contact URIs rarely hold any: one scan, and the text itself back.
  if (!XML_SPECIAL.test(text)) return text;
  return text.replace(XML_SPECIALS, escapeXmlChar);
}

function escapeXmlChar(c: string): string {
  switch (c) {
    case '<': return '&lt;';
    case '>': return '&gt;';
    case '&': return '&amp;';
    case '"': return '&quot;';
    default: return '&apos;';
  }
}
