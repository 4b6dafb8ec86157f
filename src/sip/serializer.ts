/**
 * The SIP message serializer (RFC 3261 §7): start line, one line per header in order with its canonical
 * name, the empty line, the body. Deterministic: the same message always gives the same bytes.
 *
 * Content-Length always states the body length (§20.14: mandatory over streams, and a stale value would
 * mis-frame the next message); it is written where the first Content-Length line was, or last.
 */
import { isRequest, type SipMessage } from './message.js';

const CONTENT_LENGTH_KEY = 'content-length';

export function serializeMessage(m: SipMessage): Buffer {
  let head = isRequest(m) ? `${m.method} ${m.uri} ${m.version}\r\n` : `${m.version} ${m.status} ${m.reason}\r\n`;
  let wroteLength = false;
  const cl = `Content-Length: ${m.body.length}\r\n`;
  const h = m.headers;
  for (let i = 0; i < h.size; i++) {
    if (h.keyAt(i) === CONTENT_LENGTH_KEY) {
      if (!wroteLength) head += cl;
      wroteLength = true;
      continue;
    }
    head += h.nameAt(i) + ': ' + h.valueAt(i) + '\r\n';
  }
  if (!wroteLength) head += cl;
  head += '\r\n';
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + m.body.length);
  out.write(head, 0, 'utf8');
  if (m.body.length > 0) m.body.copy(out, headLength);
  return out;
}
