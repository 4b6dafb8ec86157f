import { describe, expect, it } from 'vitest';
import { canonicalHeaderName, headerKey } from '../../src/sip/header-names.js';

describe('header names (RFC 3261 §7.3.1 case-insensitive, §7.3.3 compact forms)', () => {
  it('resolves every spelling of a known name, compact or long, to one key and the canonical name', () => {
    for (const spelling of ['Call-ID', 'call-id', 'CALL-ID', 'Call-Id', 'i', 'I', Buffer.from('Call-ID').toString('latin1')]) {
      expect(headerKey(spelling), spelling).toBe('call-id');
      expect(canonicalHeaderName(spelling), spelling).toBe('Call-ID');
    }
    expect([headerKey('v'), headerKey('V'), headerKey('VIA'), canonicalHeaderName('vIa')]).toEqual(['via', 'via', 'via', 'Via']);
    expect([headerKey('P-Charging-Function-Addresses'), canonicalHeaderName('p-charging-function-addresses')]).toEqual([
      'p-charging-function-addresses', 'P-Charging-Function-Addresses',
    ]);
    expect([headerKey('WWW-Authenticate'), canonicalHeaderName('www-authenticate')]).toEqual(['www-authenticate', 'WWW-Authenticate']);
  });

  it('keeps an unknown name as written and keys it in lowercase, whatever its length or first character', () => {
    for (const name of ['X-Custom', 'g', 'Q', 'T-Unknown', 'Tx', '\u00e9t\u00e9', 'A'.repeat(200), '-']) {
      expect(canonicalHeaderName(name)).toBe(name);
      expect(headerKey(name)).toBe(name.toLowerCase());
    }
    expect(headerKey('')).toBe('');
  });
});
