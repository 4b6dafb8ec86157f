import * as crypto from 'node:crypto';

type OneShot = (algorithm: string, data: string | Buffer, outputEncoding: 'hex') => string;

/**
 * `crypto.hash` (Node ≥ 20.12) hashes in one native call — an MD5 of a short string in ≈ 0.3 µs against ≈ 0.7 µs
 * for createHash().update().digest(), which builds a Hash object per digest. Digest authentication and loop
 * detection take several per SIP request; an older Node gets the same hex from createHash.
 */
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

/** The hex digest of `data` (strings as UTF-8). */
export const hexDigest: (algorithm: string, data: string | Buffer) => string = oneShot
  ? (algorithm, data) => oneShot(algorithm, data, 'hex')
  : (algorithm, data) => crypto.createHash(algorithm).update(data).digest('hex');
