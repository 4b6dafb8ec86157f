/**
 * DTMF as RTP events (RFC 4733 §2.3): the 4-octet telephone-event payload and the digit ↔ event mapping.
 *
 *    0                   1                   2                   3
 *   |     event     |E|R| volume    |          duration             |
 */
export interface TelephoneEvent {
  /** 0-9, * = 10, # = 11, A-D = 12-15 (RFC 4733 §3.2, table 3). */
  event: number;
  end: boolean;
  /** Power level in −dBm0, 0-63 (§2.3.4). */
  volume: number;
  /** Duration so far, in timestamp units (§2.3.5). */
  duration: number;
}

export const TELEPHONE_EVENT_LENGTH = 4;
const DIGITS = '0123456789*#ABCD';

export function eventOfDigit(digit: string): number {
  const i = DIGITS.indexOf(digit.toUpperCase());
  if (digit.length !== 1 || i < 0) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return i;
}

export function digitOfEvent(event: number): string | undefined {
  return event >= 0 && event < DIGITS.length ? DIGITS[event] : undefined;
}

export function encodeTelephoneEvent(e: TelephoneEvent): Buffer {
  const out = Buffer.allocUnsafe(TELEPHONE_EVENT_LENGTH);
  out[0] = e.event & 0xff;
  // The R bit is reserved: sent as zero, ignored on receipt (§2.3.3).
  out[1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  // §2.5.2.2: a duration beyond 16 bits is cut into segments; a UE's digits never get there.
  out.writeUInt16BE(Math.min(0xffff, e.duration), 2);
  return out;
}

export function decodeTelephoneEvent(payload: Buffer): TelephoneEvent | undefined {
  if (payload.length < TELEPHONE_EVENT_LENGTH) return undefined;
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: payload.readUInt16BE(2),
  };
}
