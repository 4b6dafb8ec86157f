import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hexDigest } from '../../src/util/hex-digest.js';

describe('hexDigest', () => {
  it('gives the hex createHash gives, for strings as UTF-8 and for bytes', () => {
    // RFC 1321 appendix A.5 test suite: MD5 ("abc").
    expect(hexDigest('md5', 'abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    for (const data of ['', 'Mufasa:testrealm@host.com:Circle Of Life', 'Zoë ☎', Buffer.from([0, 255, 128, 10])]) {
      for (const algorithm of ['md5', 'sha256', 'sha512-256']) {
        expect(hexDigest(algorithm, data)).toBe(createHash(algorithm).update(data).digest('hex'));
      }
    }
  });
});
