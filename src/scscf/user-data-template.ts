/**
 * A User-Data document (TS 29.228 Annex E) cut around the subscriber's own identities: the text between them
 * (the service profiles, their initial filter criteria, barring, the XML prolog) is the same for every
 * subscriber provisioned alike, so an S-CSCF that keeps a million registrations keeps it once, and each
 * registration keeps only the identities it needs for routing anyway (issue 7: the document was ≈ 450 bytes
 * per UE). Joining the parts gives the document back byte for byte, which is what PPR comparisons, the SQLite
 * store and the trace see.
 */
import { ownString } from '../util/own-string.js';

/** The literal parts of a document: parts[0], hole, parts[1], hole, … parts[n]. Frozen; shared. */
export type UserDataTemplate = readonly string[];

const PRIVATE_OPEN = '<PrivateID>';
const PRIVATE_CLOSE = '</PrivateID>';
const IDENTITY_OPEN = '<Identity>';
const IDENTITY_CLOSE = '</Identity>';

/**
 * Cuts `xml` at the text of its one <PrivateID> and of each <Identity>, in document order. Returns undefined
 * unless that text is exactly `privateId` and then exactly `identities`, in order and all of them (escaped
 * characters or whitespace around a value do not match): the caller then keeps the document as it is.
 */
export function cutUserData(xml: string, privateId: string, identities: readonly string[]): UserDataTemplate | undefined {
  const parts: string[] = [];
  let from = 0;
  const hole = (open: string, close: string, value: string): boolean => {
    const start = xml.indexOf(open, from);
    if (start < 0) return false;
    const text = start + open.length;
    if (!xml.startsWith(value, text) || !xml.startsWith(close, text + value.length)) return false;
    parts.push(xml.slice(from, text));
    from = text + value.length;
    return true;
  };
  if (!hole(PRIVATE_OPEN, PRIVATE_CLOSE, privateId)) return undefined;
  if (xml.indexOf(PRIVATE_OPEN, from) >= 0) return undefined;
  for (const identity of identities) if (!hole(IDENTITY_OPEN, IDENTITY_CLOSE, identity)) return undefined;
  // An <Identity> not among `identities` would be lost in a hole-less part: only a full match is a template.
  if (xml.indexOf(IDENTITY_OPEN, from) >= 0) return undefined;
  parts.push(xml.slice(from));
  return parts;
}

/** The document `cutUserData` was given, from its template and the same identities. */
export function joinUserData(template: UserDataTemplate, privateId: string, identities: readonly string[]): string {
  if (template.length !== identities.length + 2) throw new RangeError(`a User-Data template with ${template.length - 2} identities joined with ${identities.length}`);
  let out = template[0]! + privateId;
  for (let i = 0; i < identities.length; i++) out += template[i + 1]! + identities[i]!;
  return out + template[template.length - 1]!;
}

/** One copy of each distinct template. */
export class UserDataTemplates {
  private readonly known = new Map<string, UserDataTemplate>();
  /** The template shared last: subscribers provisioned alike register one after another, so it is usually the one. */
  private last: UserDataTemplate | undefined;

  /** The shared copy of `template` (the first one seen with this content). */
  share(template: UserDataTemplate): UserDataTemplate {
    const last = this.last;
    if (last !== undefined && sameParts(last, template)) return last;
    const key = template.join('\u0000');
    const known = this.known.get(key);
    if (known) return (this.last = known);
    const held = Object.freeze(template.map(ownString));
    this.known.set(key, held);
    return (this.last = held);
  }

  get size(): number {
    return this.known.size;
  }
}

function sameParts(a: UserDataTemplate, b: UserDataTemplate): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
