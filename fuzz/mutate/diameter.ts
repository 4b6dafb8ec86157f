/**
 * Diameter-aware mutations (RFC 6733 §3 header, §4.1 AVP header, §4.4 Grouped AVPs). A tolerant walker finds
 * the AVPs of a seed, grouped ones included, so that a mutation can hit one field of one AVP at any depth
 * and, when it wants the decoder to go deeper, keep every enclosing length consistent: the Message Length,
 * the AVP Length of each ancestor. What it does: corrupt lengths, flags, codes and Vendor-IDs; truncate,
 * remove, duplicate and insert AVPs; wrap an AVP in grouped AVPs a hundred deep (depth bombs) or repeat it
 * thousands of times (width bombs); give fixed-size types the wrong size.
 */
import type { SeededRandom } from '../../src/util/random.js';
import { BYTE_MUTATIONS, MAX_INPUT, pick, type Mutation } from './bytes.js';

const HEADER = 20;
const V_BIT = 0x80;
const VENDOR_3GPP = 10415;

interface Span {
  off: number;
  /** AVP Length field value (header + payload, no padding). */
  length: number;
  header: number;
  parent: number;
}

/** Every AVP the walker can make sense of, parents before children. Stops early on anything it cannot read. */
function walk(buf: Buffer, limit = 256): Span[] {
  const spans: Span[] = [];
  const visit = (start: number, end: number, parent: number, depth: number) => {
    let off = start;
    while (off + 8 <= end && spans.length < limit) {
      const flags = buf[off + 4]!;
      const length = (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!;
      const header = flags & V_BIT ? 12 : 8;
      if (length < header || off + length > end) return;
      const index = spans.push({ off, length, header, parent }) - 1;
      // A payload that is itself a clean AVP list is treated as Grouped, whatever the code says.
      if (depth < 24 && length - header >= 8 && looksGrouped(buf, off + header, off + length)) visit(off + header, off + length, index, depth + 1);
      off += (length + 3) & ~3;
    }
  };
  if (buf.length >= HEADER) visit(HEADER, buf.length, -1, 0);
  return spans;
}

function looksGrouped(buf: Buffer, start: number, end: number): boolean {
  let off = start;
  while (off + 8 <= end) {
    const length = (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!;
    const header = buf[off + 4]! & V_BIT ? 12 : 8;
    if (length < header || off + length > end) return false;
    off += (length + 3) & ~3;
  }
  return off === end || (off > end && off - end < 4);
}

function readLength(buf: Buffer, at: number): number {
  return (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
}

function writeLength(buf: Buffer, at: number, n: number): void {
  const v = Math.max(0, Math.min(0xffffff, n));
  buf[at] = (v >>> 16) & 0xff;
  buf[at + 1] = (v >>> 8) & 0xff;
  buf[at + 2] = v & 0xff;
}

/** Replaces buf[at, at+cut) with `insert` and moves every enclosing length (ancestors of `parent`, and the message) by the difference. */
function edit(buf: Buffer, spans: Span[], parent: number, at: number, cut: number, insert: Buffer): Buffer {
  const out = Buffer.concat([buf.subarray(0, at), insert, buf.subarray(at + cut)]);
  const delta = insert.length - cut;
  for (let p = parent; p >= 0; p = spans[p]!.parent) writeLength(out, spans[p]!.off + 5, spans[p]!.length + delta);
  if (out.length >= 4) writeLength(out, 1, out.length);
  return out.length > MAX_INPUT ? out.subarray(0, MAX_INPUT) : out;
}

/** AVP codes whose types make decoders branch: Grouped (base and Cx), fixed-size numbers, Address, Time, text. */
const GROUPED = [[260, 0], [279, 0], [284, 0], [297, 0], [628, VENDOR_3GPP], [612, VENDOR_3GPP], [603, VENDOR_3GPP], [615, VENDOR_3GPP], [618, VENDOR_3GPP], [632, VENDOR_3GPP], [635, VENDOR_3GPP]] as const;
const SCALAR = [
  [268, 0], [266, 0], [258, 0], [298, 0], [278, 0], [257, 0], [55, 0], [273, 0], [1, 0], [263, 0], [264, 0], [296, 0], [283, 0], [293, 0], [269, 0], [267, 0],
  [601, VENDOR_3GPP], [602, VENDOR_3GPP], [600, VENDOR_3GPP], [614, VENDOR_3GPP], [613, VENDOR_3GPP], [623, VENDOR_3GPP], [624, VENDOR_3GPP],
  [607, VENDOR_3GPP], [608, VENDOR_3GPP], [609, VENDOR_3GPP], [616, VENDOR_3GPP], [625, VENDOR_3GPP], [629, VENDOR_3GPP], [630, VENDOR_3GPP], [606, VENDOR_3GPP],
] as const;
const COMMANDS = [257, 280, 282, 300, 301, 302, 303, 304, 305, 0, 0xffffff];
const APPLICATIONS = [0, 16777216, 16777217, 0xffffffff, 3, 4];

function avpBytes(code: number, vendor: number, flags: number, payload: Buffer): Buffer {
  const header = vendor || flags & V_BIT ? 12 : 8;
  const length = header + payload.length;
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt32BE(code >>> 0, 0);
  out[4] = (flags | (header === 12 ? V_BIT : 0)) & 0xff;
  writeLength(out, 5, length);
  if (header === 12) out.writeUInt32BE(vendor >>> 0, 8);
  payload.copy(out, header);
  return out;
}

function payloadFor(r: SeededRandom): Buffer {
  switch (r.int(5)) {
    case 0:
      return Buffer.alloc(r.int(10)); // the wrong size for a fixed-size type more often than not
    case 1:
      return r.bytes(r.int(40));
    case 2:
      return Buffer.from(pick(r, ['', 'sip:alice@ims.lab', 'alice@ims.lab', 'hss.ims.lab', 'ims.lab', '\u00ff\u00fe', '\x00', 'a'.repeat(300), 'Digest-AKAv1-MD5', 'SIP Digest']), 'latin1');
    case 3: {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(pick(r, [0, 1, 2001, 2002, 3001, 5001, 0x7fffffff, 0x80000000, 0xffffffff]) >>> 0);
      return b;
    }
    default:
      return Buffer.from([0, pick(r, [1, 2, 0, 0xff]), ...r.bytes(pick(r, [0, 2, 4, 16, 3]))]); // Address-like
  }
}

const headerLength: Mutation = (input, r) => {
  if (input.length < 4) return input;
  const out = Buffer.from(input);
  writeLength(out, 1, pick(r, [0, 1, 19, 20, 21, input.length - 4, input.length - 1, input.length + 1, input.length + 4, 0xffffff, 1 << 20, (1 << 20) + 4, r.int(0x1000000)]));
  return out;
};

const headerFields: Mutation = (input, r) => {
  if (input.length < HEADER) return input;
  const out = Buffer.from(input);
  switch (r.int(4)) {
    case 0:
      out[0] = pick(r, [0, 2, 0xff, 1]);
      break;
    case 1:
      out[4] = pick(r, [0x80 | 0x20, 0xff, 0x0f, 0x00, 0x40, 0x10, r.int(256)]);
      break;
    case 2:
      writeLength(out, 5, pick(r, COMMANDS));
      break;
    default:
      out.writeUInt32BE(pick(r, APPLICATIONS) >>> 0, 8);
  }
  return out;
};

const avpLength: Mutation = (input, r) => {
  const spans = walk(input);
  if (spans.length === 0) return input;
  const s = pick(r, spans);
  const out = Buffer.from(input);
  const room = input.length - s.off;
  writeLength(out, s.off + 5, pick(r, [0, 1, 7, 8, 11, 12, s.length - 1, s.length + 1, s.length - 4, s.length + 4, room, room + 1, 0xffffff, r.int(room + 8)]));
  return out;
};

const avpFlags: Mutation = (input, r) => {
  const spans = walk(input);
  if (spans.length === 0) return input;
  const s = pick(r, spans);
  const out = Buffer.from(input);
  // Toggling V moves where the payload starts by four octets; the reserved bits must give 3009 (§4.1).
  out[s.off + 4] = pick(r, [out[s.off + 4]! ^ V_BIT, out[s.off + 4]! | 0x1f, out[s.off + 4]! ^ 0x40, out[s.off + 4]! | 0x20, r.int(256)]);
  return out;
};

const avpCode: Mutation = (input, r) => {
  const spans = walk(input);
  if (spans.length === 0) return input;
  const s = pick(r, spans);
  const out = Buffer.from(input);
  const [code, vendor] = r.float() < 0.5 ? pick(r, GROUPED) : r.float() < 0.8 ? pick(r, SCALAR) : [r.u32(), 0];
  out.writeUInt32BE(code >>> 0, s.off);
  if (s.header === 12) out.writeUInt32BE(vendor, s.off + 8);
  return out;
};

const avpVendor: Mutation = (input, r) => {
  const spans = walk(input).filter((s) => s.header === 12);
  if (spans.length === 0) return input;
  const s = pick(r, spans);
  const out = Buffer.from(input);
  out.writeUInt32BE(pick(r, [0, VENDOR_3GPP, 10415 + 1, 0xffffffff, r.u32()]) >>> 0, s.off + 8);
  return out;
};

const avpTruncate: Mutation = (input, r) => {
  const spans = walk(input);
  if (spans.length === 0) return input;
  const i = r.int(spans.length);
  const s = spans[i]!;
  const payload = s.length - s.header;
  const cut = 1 + r.int(Math.max(1, payload + s.header - 1));
  if (r.float() < 0.5) {
    // Cut the octets but leave every length as it was: what follows is read from the wrong place.
    return Buffer.concat([input.subarray(0, s.off + s.length - Math.min(cut, s.length)), input.subarray(s.off + s.length)]);
  }
  // Keep the enclosing lengths consistent so that the decoder reaches this AVP's own check.
  const keep = Math.max(0, s.length - cut);
  const padded = (s.length + 3) & ~3;
  const piece = Buffer.from(input.subarray(s.off, s.off + keep));
  if (piece.length >= 8) writeLength(piece, 5, keep);
  const block = Buffer.concat([piece, Buffer.alloc(((keep + 3) & ~3) - keep)]);
  return edit(input, spans, s.parent, s.off, Math.min(padded, input.length - s.off), block);
};

const avpRemove: Mutation = (input, r) => {
  const spans = walk(input);
  if (spans.length === 0) return input;
  const s = pick(r, spans);
  return edit(input, spans, s.parent, s.off, Math.min((s.length + 3) & ~3, input.length - s.off), Buffer.alloc(0));
};

export const avpDuplicate: Mutation = (input, r) => {
  const spans = walk(input);
  if (spans.length === 0) return input;
  const s = pick(r, spans);
  const one = input.subarray(s.off, Math.min(input.length, s.off + ((s.length + 3) & ~3)));
  // Width bomb now and then: thousands of copies of one AVP.
  const copies = r.float() < 0.1 ? 100 + r.int(Math.max(1, Math.floor(MAX_INPUT / Math.max(one.length, 8)) - 100)) : 1;
  const block = copies === 1 ? Buffer.from(one) : Buffer.alloc(Math.max(0, Math.min(one.length * copies, MAX_INPUT - input.length)), one);
  return edit(input, spans, s.parent, s.off, 0, block);
};

const avpSwap: Mutation = (input, r) => {
  const spans = walk(input).filter((s) => s.parent === -1);
  if (spans.length < 2) return input;
  const a = spans[r.int(spans.length)]!;
  const b = spans[r.int(spans.length)]!;
  if (a === b) return input;
  const [x, y] = a.off < b.off ? [a, b] : [b, a];
  const xe = Math.min(input.length, x.off + ((x.length + 3) & ~3));
  const ye = Math.min(input.length, y.off + ((y.length + 3) & ~3));
  return Buffer.concat([input.subarray(0, x.off), input.subarray(y.off, ye), input.subarray(xe, y.off), input.subarray(x.off, xe), input.subarray(ye)]);
};

const avpInsert: Mutation = (input, r) => {
  if (input.length < HEADER) return input;
  const spans = walk(input);
  const [code, vendor] = r.float() < 0.3 ? pick(r, GROUPED) : r.float() < 0.85 ? pick(r, SCALAR) : [r.u32(), r.float() < 0.5 ? 0 : VENDOR_3GPP];
  const flags = pick(r, [0x40, 0x00, 0xc0, 0x80, 0x60, 0x41, r.int(256)]);
  const block = avpBytes(code, vendor, flags, payloadFor(r));
  // Into a grouped AVP sometimes, at the top level otherwise.
  const inside = spans.length > 0 && r.float() < 0.4 ? pick(r, spans) : undefined;
  if (inside) return edit(input, spans, spans.indexOf(inside), inside.off + inside.header, 0, block);
  const at = spans.length > 0 && r.float() < 0.7 ? pick(r, spans.filter((s) => s.parent === -1).concat([{ off: input.length, length: 0, header: 8, parent: -1 }])).off : input.length;
  return edit(input, spans, -1, Math.min(at, input.length), 0, block);
};

/** Nests an AVP (or a fresh one) inside `depth` grouped AVPs, every length right: only the depth limit can stop it. */
export const depthBomb: Mutation = (input, r) => {
  const spans = walk(input);
  const s = spans.length > 0 ? pick(r, spans) : undefined;
  let inner: Buffer = s ? Buffer.from(input.subarray(s.off, Math.min(input.length, s.off + ((s.length + 3) & ~3)))) : avpBytes(1, 0, 0x40, Buffer.from('x'));
  const depth = pick(r, [2, 8, 15, 16, 17, 18, 32, 64, 200, 1000, 3000]);
  const [code, vendor] = pick(r, GROUPED);
  const header = vendor ? 12 : 8;
  const total = inner.length + depth * header;
  if (total > MAX_INPUT) return input;
  // Built from the inside out into one buffer, without a copy per level.
  const out = Buffer.alloc(total);
  inner.copy(out, depth * header);
  for (let d = depth - 1; d >= 0; d--) {
    const off = d * header;
    out.writeUInt32BE(code, off);
    out[off + 4] = 0x40 | (vendor ? V_BIT : 0);
    writeLength(out, off + 5, total - off);
    if (vendor) out.writeUInt32BE(vendor, off + 8);
  }
  inner = out;
  if (!s) return edit(input, spans, -1, input.length, 0, inner);
  return edit(input, spans, s.parent, s.off, Math.min(input.length - s.off, (s.length + 3) & ~3), inner);
};

const hugeAvp: Mutation = (input, r) => {
  const [code, vendor] = pick(r, SCALAR);
  const size = pick(r, [1000, 4096, 65_535, 65_536, 100_000]);
  const block = avpBytes(code, vendor, 0x40, Buffer.alloc(Math.max(0, Math.min(size, MAX_INPUT - input.length - 16)), 0x61));
  return edit(input, walk(input), -1, input.length, 0, block);
};

/** Splices the AVPs of another seed behind this one's header: the command says one thing, the AVPs another. */
const avpSplice: Mutation = (input, r, ctx) => {
  const other = ctx.other();
  if (input.length < HEADER || other.length < HEADER) return input;
  const a = HEADER + r.int(input.length - HEADER + 1);
  const b = HEADER + r.int(other.length - HEADER + 1);
  const out = Buffer.concat([input.subarray(0, a & ~3), other.subarray(b & ~3)]);
  writeLength(out, 1, out.length);
  return out.subarray(0, MAX_INPUT);
};

export const DIAMETER_MUTATIONS: readonly Mutation[] = [
  headerLength, headerFields, headerFields, avpLength, avpLength, avpFlags, avpCode, avpCode, avpVendor, avpTruncate, avpTruncate, avpRemove,
  avpDuplicate, avpSwap, avpInsert, avpInsert, depthBomb, depthBomb, hugeAvp, avpSplice,
];

export const DIAMETER_MESSAGE_MUTATIONS: readonly Mutation[] = [...DIAMETER_MUTATIONS, ...DIAMETER_MUTATIONS, ...BYTE_MUTATIONS];

/**
 * After the mutations: most of the time make the Message Length match the buffer (padded to four octets) so
 * that the decoder gets past §3's length check and into the AVPs; the rest of the time leave it lying.
 */
export function fixMessageLength(input: Buffer, r: SeededRandom): Buffer {
  if (input.length < 4 || r.float() < 0.2) return input;
  let out = input;
  if (out.length % 4 !== 0 && r.float() < 0.8) out = Buffer.concat([out, Buffer.alloc(4 - (out.length % 4))]);
  else out = Buffer.from(out);
  if (readLength(out, 1) !== out.length) writeLength(out, 1, out.length);
  return out;
}
