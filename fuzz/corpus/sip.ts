/**
 * SIP seeds: the messages shipped in fuzz/seeds/sip (a registration as TS 24.228 §6.2 draws it, a call with
 * preconditions and PRACK, reg-event, MESSAGE, REFER over IPv6/TLS, compact and folded forms, multipart),
 * the RFC 4475 torture messages when a directory of them is given, and whatever captured traffic the
 * user adds. From the messages the URI and SDP corpora are derived.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIPPED_SIP_SEEDS = fileURLToPath(new URL('../seeds/sip/', import.meta.url));

/**
 * Seeds are kept with plain LF line ends so they read well in a diff; on load every line end becomes CRLF
 * (RFC 3261 §7) and Content-Length is set to the body's real length, so the seeds themselves are valid.
 */
export function normaliseSeed(text: string): Buffer {
  const crlf = text.replace(/\r\n/g, '\n').replace(/\n/g, '\r\n');
  const end = crlf.indexOf('\r\n\r\n');
  if (end < 0) return Buffer.from(crlf, 'utf8');
  const head = crlf.slice(0, end);
  const body = Buffer.from(crlf.slice(end + 4), 'utf8');
  const fixed = head.replace(/^(Content-Length|l)[ \t]*:.*$/im, (_m, name: string) => `${name}: ${body.length}`);
  return Buffer.concat([Buffer.from(`${fixed}\r\n\r\n`, 'utf8'), body]);
}

export function loadShippedSipSeeds(dir = SHIPPED_SIP_SEEDS): Buffer[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sip'))
    .sort()
    .map((f) => normaliseSeed(readFileSync(join(dir, f), 'utf8')));
}

/** The .dat files of an RFC 4475 directory, byte for byte (they are meant to be malformed); [] if it is absent. */
export function loadTortureMessages(dir: string | undefined): Buffer[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

/** Request-URIs and every <…> URI of the messages, plus URIs written to sit on grammar edges (RFC 3261 §19.1, RFC 3966). */
export function deriveUris(messages: readonly Buffer[]): Buffer[] {
  const seen = new Set<string>([
    'sip:alice@ims.lab',
    'sips:alice:secret@[2001:db8::1]:5061;transport=tls;maddr=239.255.255.1;ttl=15;lr?subject=a%20b&priority=urgent',
    'sip:+1-555-0001;isub=1;postd=pp22@ims.lab;user=phone',
    'tel:+1-555-0001;ext=22;phone-context=+1',
    'tel:7042;phone-context=ims.mnc001.mcc001.3gppnetwork.org',
    'sip:127.0.48.1:5060;transport=tcp;lr',
    'sip:user;par=%41%42@host.example.com:0',
    'urn:service:sos',
    'mailto:alice@ims.lab',
    'sip:[::ffff:127.0.0.1]',
  ]);
  for (const m of messages) {
    const text = m.toString('latin1');
    const firstLine = text.slice(0, Math.max(0, text.indexOf('\r\n')));
    const parts = firstLine.split(' ');
    if (parts.length === 3 && !parts[0]!.startsWith('SIP/')) seen.add(parts[1]!);
    for (let i = text.indexOf('<'); i >= 0 && seen.size < 400; i = text.indexOf('<', i + 1)) {
      const e = text.indexOf('>', i);
      if (e > i + 1 && e - i < 400 && text.slice(i + 1, e).includes(':') && !text.slice(i + 1, e).includes('\r')) seen.add(text.slice(i + 1, e));
    }
  }
  return [...seen].map((u) => Buffer.from(u, 'latin1'));
}

/** Bodies of the messages that say Content-Type: application/sdp, and the SDP parts of multipart ones. */
export function deriveSdp(messages: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const m of messages) {
    const text = m.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) continue;
    const body = text.slice(end + 4);
    const v = body.indexOf('v=0');
    if (v < 0) continue;
    // For multipart: up to the next boundary line.
    const stop = body.indexOf('\r\n--', v);
    out.push(Buffer.from(body.slice(v, stop < 0 ? body.length : stop + 2), 'latin1'));
  }
  return out;
}
