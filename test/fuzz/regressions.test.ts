/**
 * Bugs `imslab fuzz` found, one test each, named after the finding that showed them. The inputs are the
 * saved reproducers, reduced to the part that matters.
 */
import { describe, expect, it } from 'vitest';
import { formatNameAddr, parseNameAddr } from '../../src/sip/headers/name-addr.js';
import { formatPChargingVector, parsePChargingVector } from '../../src/sip/headers/p-headers.js';
import { SipParseError } from '../../src/sip/parser.js';

describe('regressions found by fuzzing', () => {
  it('sip-headers property: P-Charging-Vector with a base64 icid-value formats to a header that parses again', () => {
    // TS 24.229 §7.2A.5's own example value: "=" is not a token character, so it only travels quoted.
    const value = 'icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";icid-generated-at=[2001:db8::1];orig-ioi=home1.net;term-ioi="visited net"';
    const v = parsePChargingVector(value);
    expect(v.icidValue).toBe('AyretyU0dm+6O2IrT5tAFrbHLso=023551024');
    const text = formatPChargingVector(v);
    expect(text).toBe('icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";icid-generated-at=[2001:db8::1];orig-ioi=home1.net;term-ioi="visited net"');
    const again = parsePChargingVector(text);
    expect(again.icidValue).toBe(v.icidValue);
    expect(again.termIoi).toBe('visited net');
    expect(formatPChargingVector(again)).toBe(text);
  });

  it('sip-headers property: an addr-spec with a stray ">" is refused instead of formatting to "<…>>"', () => {
    // Reproducers: To "g.bell@example.com>;tag=43", To "org>", To ">:bob@ims.lab" (a truncated "<" before them).
    for (const bad of ['g.bell@example.com>;tag=43', 'org>', '>:bob@ims.lab', 'sip:bob@>']) {
      expect(() => parseNameAddr(bad), bad).toThrow(SipParseError);
    }
    // What stays accepted still round-trips.
    for (const good of ['sip:bob@ims.lab;tag=43', '<sip:bob@ims.lab>;tag=43', '"Bob" <sip:bob@ims.lab>', 'Bob <sip:bob@ims.lab;lr>;tag=x']) {
      const n = parseNameAddr(good);
      expect(parseNameAddr(formatNameAddr(n))).toEqual(n);
    }
  });
});
