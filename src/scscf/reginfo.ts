/**
 * The registration event package body, application/reginfo+xml (RFC 3680 §5.3, TS 24.229 §7.9.2): build it
 * for the S-CSCF's NOTIFYs and parse it for the UE, the P-CSCF and tests. Pure: objects in, text out, and back.
 */
import { escapeXml, unescapeXml } from './user-profile.js';

export const REGINFO_CONTENT_TYPE = 'application/reginfo+xml';
const NS = 'urn:ietf:params:xml:ns:reginfo';

/** RFC 3680 §5.3 registration states. */
export type RegistrationElementState = 'init' | 'active' | 'terminated';
/** RFC 3680 §5.3 contact events (§5.3 state machine, Figure 1). */
export type ContactEvent = 'registered' | 'created' | 'refreshed' | 'shortened' | 'expired' | 'deactivated' | 'probation' | 'unregistered' | 'rejected';

export interface RegInfoContact {
  id: string;
  state: 'active' | 'terminated';
  event: ContactEvent;
  uri: string;
  expires?: number;
  durationRegistered?: number;
  q?: number;
  callId?: string;
  cseq?: number;
  displayName?: string;
  /** Contact header parameters (TS 24.229 §5.4.2.1.2: +sip.instance, reg-id, feature tags), name → value as written. */
  unknownParams: Array<[string, string]>;
}

export interface RegInfoRegistration {
  aor: string;
  id: string;
  state: RegistrationElementState;
  contacts: RegInfoContact[];
}

export interface RegInfo {
  version: number;
  state: 'full' | 'partial';
  registrations: RegInfoRegistration[];
}

export class RegInfoError extends Error {
  override readonly name = 'RegInfoError';
}

export function buildRegInfo(info: RegInfo): string {
  // One string built in order (lines ended by CRLF), not an array of lines joined: a NOTIFY per registration change.
  let out = `<?xml version="1.0" encoding="UTF-8"?>\r\n<reginfo xmlns="${NS}" version="${info.version}" state="${info.state}">\r\n`;
  for (const r of info.registrations) {
    out += `  <registration aor="${escapeXml(r.aor)}" id="${escapeXml(r.id)}" state="${r.state}">\r\n`;
    for (const c of r.contacts) {
      out += `    <contact id="${escapeXml(c.id)}" state="${c.state}" event="${c.event}"`;
      if (c.durationRegistered !== undefined) out += ` duration-registered="${c.durationRegistered}"`;
      if (c.expires !== undefined) out += ` expires="${c.expires}"`;
      if (c.q !== undefined) out += ` q="${c.q}"`;
      if (c.callId !== undefined) out += ` callid="${escapeXml(c.callId)}"`;
      if (c.cseq !== undefined) out += ` cseq="${c.cseq}"`;
      out += `>\r\n      <uri>${escapeXml(c.uri)}</uri>\r\n`;
      if (c.displayName !== undefined) out += `      <display-name>${escapeXml(c.displayName)}</display-name>\r\n`;
      for (const [name, value] of c.unknownParams) {
        out += value === '' ? `      <unknown-param name="${escapeXml(name)}"/>\r\n` : `      <unknown-param name="${escapeXml(name)}">${escapeXml(value)}</unknown-param>\r\n`;
      }
      out += '    </contact>\r\n';
    }
    out += '  </registration>\r\n';
  }
  return out + '</reginfo>\r\n';
}

// ---- parsing ----

interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
  text: string;
}

const REG_STATES = new Set(['init', 'active', 'terminated']);
const EVENTS = new Set(['registered', 'created', 'refreshed', 'shortened', 'expired', 'deactivated', 'probation', 'unregistered', 'rejected']);

/** Parses a reginfo document; throws RegInfoError naming what is wrong. Namespace prefixes are ignored. */
export function parseRegInfo(xml: string): RegInfo {
  const root = parseXml(xml);
  if (root.name !== 'reginfo') throw new RegInfoError(`root element is <${root.name}>, not <reginfo>`);
  const version = intAttr(root, 'version');
  if (version === undefined) throw new RegInfoError('<reginfo> without a version');
  const state = root.attrs.get('state');
  if (state !== 'full' && state !== 'partial') throw new RegInfoError(`<reginfo> state "${state}" is neither full nor partial`);
  const registrations: RegInfoRegistration[] = [];
  for (const r of root.children.filter((c) => c.name === 'registration')) {
    const rs = r.attrs.get('state') ?? '';
    if (!REG_STATES.has(rs)) throw new RegInfoError(`<registration> state "${rs}"`);
    const aor = r.attrs.get('aor');
    if (!aor) throw new RegInfoError('<registration> without aor');
    const contacts: RegInfoContact[] = [];
    for (const c of r.children.filter((x) => x.name === 'contact')) {
      const cs = c.attrs.get('state');
      if (cs !== 'active' && cs !== 'terminated') throw new RegInfoError(`<contact> state "${cs}"`);
      const ev = c.attrs.get('event') ?? '';
      if (!EVENTS.has(ev)) throw new RegInfoError(`<contact> event "${ev}"`);
      const uri = c.children.find((x) => x.name === 'uri')?.text.trim();
      if (!uri) throw new RegInfoError('<contact> without <uri>');
      const contact: RegInfoContact = {
        id: c.attrs.get('id') ?? '',
        state: cs,
        event: ev as ContactEvent,
        uri,
        unknownParams: c.children.filter((x) => x.name === 'unknown-param').map((x) => [x.attrs.get('name') ?? '', x.text.trim()]),
      };
      const expires = intAttr(c, 'expires');
      if (expires !== undefined) contact.expires = expires;
      const duration = intAttr(c, 'duration-registered');
      if (duration !== undefined) contact.durationRegistered = duration;
      const q = c.attrs.get('q');
      if (q !== undefined) contact.q = Number(q);
      const callId = c.attrs.get('callid');
      if (callId !== undefined) contact.callId = callId;
      const cseq = intAttr(c, 'cseq');
      if (cseq !== undefined) contact.cseq = cseq;
      const dn = c.children.find((x) => x.name === 'display-name');
      if (dn) contact.displayName = dn.text.trim();
      contacts.push(contact);
    }
    registrations.push({ aor, id: r.attrs.get('id') ?? '', state: rs as RegistrationElementState, contacts });
  }
  return { version, state, registrations };
}

function intAttr(e: XmlElement, name: string): number | undefined {
  const v = e.attrs.get(name);
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v)) throw new RegInfoError(`<${e.name}> ${name}="${v}" is not a number`);
  return Number(v);
}

/** A small non-validating XML reader: elements, attributes, text, comments, declarations. Linear in the input. */
function parseXml(xml: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i && stack.length) stack[stack.length - 1]!.text += unescapeXml(xml.slice(i, textEnd));
    if (lt < 0) break;
    if (xml.startsWith('<?', lt)) {
      const e = xml.indexOf('?>', lt);
      if (e < 0) throw new RegInfoError('unterminated <?…?>');
      i = e + 2;
      continue;
    }
    if (xml.startsWith('<!--', lt)) {
      const e = xml.indexOf('-->', lt);
      if (e < 0) throw new RegInfoError('unterminated comment');
      i = e + 3;
      continue;
    }
    const gt = findTagEnd(xml, lt);
    if (gt < 0) throw new RegInfoError('unterminated tag');
    if (xml.charCodeAt(lt + 1) === 47 /* / */) {
      const name = localName(xml.slice(lt + 2, gt).trim());
      const top = stack.pop();
      if (!top || top.name !== name) throw new RegInfoError(`</${name}> does not close <${top?.name ?? 'nothing'}>`);
      i = gt + 1;
      continue;
    }
    const selfClosing = xml.charCodeAt(gt - 1) === 47;
    const inner = xml.slice(lt + 1, selfClosing ? gt - 1 : gt);
    const el = parseTag(inner);
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else if (root) throw new RegInfoError('more than one root element');
    else root = el;
    if (!selfClosing) stack.push(el);
    i = gt + 1;
  }
  if (stack.length) throw new RegInfoError(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) throw new RegInfoError('no root element');
  return root;
}

function findTagEnd(xml: string, from: number): number {
  let quote = 0;
  for (let k = from + 1; k < xml.length; k++) {
    const c = xml.charCodeAt(k);
    if (quote) {
      if (c === quote) quote = 0;
    } else if (c === 34 || c === 39) quote = c;
    else if (c === 62) return k;
  }
  return -1;
}

function parseTag(inner: string): XmlElement {
  let k = 0;
  while (k < inner.length && !isSpace(inner.charCodeAt(k))) k++;
  const el: XmlElement = { name: localName(inner.slice(0, k)), attrs: new Map(), children: [], text: '' };
  while (k < inner.length) {
    while (k < inner.length && isSpace(inner.charCodeAt(k))) k++;
    if (k >= inner.length) break;
    const eq = inner.indexOf('=', k);
    if (eq < 0) throw new RegInfoError(`attribute without value in <${el.name}>`);
    const name = inner.slice(k, eq).trim();
    let v = eq + 1;
    while (v < inner.length && isSpace(inner.charCodeAt(v))) v++;
    const q = inner.charCodeAt(v);
    if (q !== 34 && q !== 39) throw new RegInfoError(`unquoted attribute ${name} in <${el.name}>`);
    const end = inner.indexOf(String.fromCharCode(q), v + 1);
    if (end < 0) throw new RegInfoError(`unterminated attribute ${name} in <${el.name}>`);
    el.attrs.set(localName(name), unescapeXml(inner.slice(v + 1, end)));
    k = end + 1;
  }
  return el;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon >= 0 ? qname.slice(colon + 1) : qname;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}
