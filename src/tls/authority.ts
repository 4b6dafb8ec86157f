import { createHash, generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';

/**
 * The certificate authority of one topology: one self-signed CA, one certificate per node with the node's IP
 * addresses and host names as subjectAltName (RFC 5280 §4.2.1.6; RFC 5922 §7.1 for SIP, where a client
 * matches the server's identity against the SAN). Generated once into `<dataDir>/tls/` as PEM files and
 * reused on the next run while they are valid, so clients that were told to trust ca.pem keep trusting it.
 *
 * Keys come from Node's crypto (RSA 2048, generated off the event loop in libuv's thread pool); node-forge
 * builds and signs the X.509 certificates.
 */

export interface NodeIdentity {
  /** Node name: also the file name, so letters, digits, '.', '_' and '-' only. */
  name: string;
  /** IP addresses the node listens on (iPAddress SAN entries). */
  addresses: readonly string[];
  /** Host names of the node (dNSName SAN entries), e.g. its FQDN. */
  hostNames?: readonly string[];
}

/** What a TLS transport needs: its key and certificate chain, and the CA it trusts for peers. */
export interface TlsCredentials {
  key: string;
  cert: string;
  ca: string;
  keyPath: string;
  certPath: string;
  caPath: string;
  /** SHA-256 fingerprint of the certificate, colon-separated hex (as `openssl x509 -fingerprint` prints). */
  fingerprint: string;
  /** Whether this call generated the certificate (false when it was reused from the data directory). */
  created: boolean;
}

export class CertificateAuthorityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateAuthorityError';
  }
}

const DAY = 86_400_000;
const CA_VALIDITY_DAYS = 3650;
const NODE_VALIDITY_DAYS = 825;
/** Certificates that expire sooner than this are renewed rather than reused. */
const RENEW_MARGIN_DAYS = 7;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Where the CA certificate of a data directory lives (printed by `imslab serve` for outside clients). */
export function caCertificatePath(dataDir: string): string {
  return join(dataDir, 'tls', 'ca.pem');
}

export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

export class CertificateAuthority {
  private readonly pending = new Map<string, Promise<TlsCredentials>>();

  private constructor(
    readonly directory: string,
    readonly caPath: string,
    readonly caPem: string,
    private readonly caCert: forge.pki.Certificate,
    private readonly caKey: forge.pki.rsa.PrivateKey,
    /** Whether open() generated the CA (false when it was reused). */
    readonly created: boolean,
    private readonly now: () => number,
  ) {}

  get fingerprint(): string {
    return certificateFingerprint(this.caPem);
  }

  /** Opens the CA of a data directory, creating it when absent, unreadable or about to expire. */
  static async open(
    dataDir: string,
    options: { commonName?: string; now?: () => number } = {},
  ): Promise<CertificateAuthority> {
    const now = options.now ?? Date.now;
    const directory = join(dataDir, 'tls');
    const caPath = join(directory, 'ca.pem');
    const caKeyPath = join(directory, 'ca.key');
    await mkdir(directory, { recursive: true, mode: 0o700 });

    const existing = await readPair(caPath, caKeyPath);
    if (existing) {
      try {
        const cert = forge.pki.certificateFromPem(existing.cert);
        const key = forge.pki.privateKeyFromPem(existing.key) as forge.pki.rsa.PrivateKey;
        if (isCa(cert) && keyMatches(cert, key) && validFor(cert, now()) && cert.verify(cert)) {
          return new CertificateAuthority(directory, caPath, existing.cert, cert, key, false, now);
        }
      } catch {
        // Unreadable PEM: fall through and make a new CA.
      }
    }

    const key = await newRsaKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    cert.serialNumber = serialNumber();
    setValidity(cert, now(), CA_VALIDITY_DAYS);
    const subject = [
      { name: 'commonName', value: options.commonName ?? 'imslab topology CA' },
      { name: 'organizationName', value: 'imslab' },
    ];
    cert.setSubject(subject);
    cert.setIssuer(subject);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    cert.sign(key, forge.md.sha256.create());
    const pem = forge.pki.certificateToPem(cert);
    await writeAtomic(caKeyPath, forge.pki.privateKeyToPem(key), 0o600);
    await writeAtomic(caPath, pem, 0o644);
    return new CertificateAuthority(directory, caPath, pem, cert, key, true, now);
  }

  /**
   * The credentials of one node: reused from `<name>.pem` / `<name>.key` when they were signed by this CA,
   * cover the requested addresses and names and are not about to expire; generated otherwise.
   */
  issue(node: NodeIdentity): Promise<TlsCredentials> {
    if (!NAME.test(node.name)) {
      return Promise.reject(new CertificateAuthorityError(`tls: "${node.name}" is not a usable node name for a certificate file`));
    }
    for (const a of node.addresses) {
      if (isIP(a) === 0) return Promise.reject(new CertificateAuthorityError(`tls: "${a}" is not an IP address`));
    }
    // Two callers asking for the same node at once share one generation instead of racing on the files.
    const running = this.pending.get(node.name);
    if (running) return running;
    const p = this.issueNow(node).finally(() => this.pending.delete(node.name));
    this.pending.set(node.name, p);
    return p;
  }

  private async issueNow(node: NodeIdentity): Promise<TlsCredentials> {
    const certPath = join(this.directory, `${node.name}.pem`);
    const keyPath = join(this.directory, `${node.name}.key`);
    const hostNames = node.hostNames ?? [];
    const base = { keyPath, certPath, caPath: this.caPath, ca: this.caPem };

    const existing = await readPair(certPath, keyPath);
    if (existing) {
      try {
        const cert = forge.pki.certificateFromPem(existing.cert);
        const key = forge.pki.privateKeyFromPem(existing.key) as forge.pki.rsa.PrivateKey;
        if (
          keyMatches(cert, key) &&
          validFor(cert, this.now()) &&
          this.caCert.verify(cert) &&
          coversNames(existing.cert, node.addresses, hostNames)
        ) {
          return { ...base, ...existing, fingerprint: certificateFingerprint(existing.cert), created: false };
        }
      } catch {
        // Unreadable or signed by an earlier CA: issue a new one.
      }
    }

    const key = await newRsaKey();
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    cert.serialNumber = serialNumber();
    setValidity(cert, this.now(), NODE_VALIDITY_DAYS);
    cert.setSubject([
      { name: 'commonName', value: hostNames[0] ?? node.name },
      { name: 'organizationName', value: 'imslab' },
    ]);
    cert.setIssuer(this.caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      // A SIP node is a TLS server towards its clients and a TLS client towards the next hop.
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...node.addresses.map((ip) => ({ type: 7, ip })),
          ...hostNames.map((value) => ({ type: 2, value })),
        ],
      },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.caCert.generateSubjectKeyIdentifier().getBytes() },
    ]);
    cert.sign(this.caKey, forge.md.sha256.create());
    const certPem = forge.pki.certificateToPem(cert);
    const keyPem = forge.pki.privateKeyToPem(key);
    await writeAtomic(keyPath, keyPem, 0o600);
    await writeAtomic(certPath, certPem, 0o644);
    return { ...base, key: keyPem, cert: certPem, fingerprint: certificateFingerprint(certPem), created: true };
  }
}

async function newRsaKey(): Promise<forge.pki.rsa.PrivateKey> {
  const pem = await new Promise<string>((resolve, reject) =>
    generateKeyPair(
      'rsa',
      { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    ),
  );
  return forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
}

/** A positive serial of 16 random octets (RFC 5280 §4.1.2.2: positive, at most 20 octets). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

function setValidity(cert: forge.pki.Certificate, now: number, days: number): void {
  // An hour of slack before now, for clocks of peers that are slightly behind.
  cert.validity.notBefore = new Date(now - 3_600_000);
  cert.validity.notAfter = new Date(now + days * DAY);
}

function validFor(cert: forge.pki.Certificate, now: number): boolean {
  return cert.validity.notBefore.getTime() <= now && cert.validity.notAfter.getTime() > now + RENEW_MARGIN_DAYS * DAY;
}

function isCa(cert: forge.pki.Certificate): boolean {
  const bc = cert.getExtension('basicConstraints') as { cA?: boolean } | undefined;
  return !!bc?.cA;
}

function keyMatches(cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey): boolean {
  const pub = cert.publicKey as forge.pki.rsa.PublicKey;
  return pub.n.equals(key.n) && pub.e.equals(key.e);
}

/** Whether the certificate's SAN holds every address and name asked for (compared as Node's TLS will). */
function coversNames(pem: string, addresses: readonly string[], hostNames: readonly string[]): boolean {
  const x = new X509Certificate(pem);
  return addresses.every((a) => x.checkIP(a) !== undefined) && hostNames.every((h) => x.checkHost(h) !== undefined);
}

async function readPair(certPath: string, keyPath: string): Promise<{ cert: string; key: string } | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key };
  } catch {
    return undefined;
  }
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${createHash('sha1').update(randomBytes(8)).digest('hex').slice(0, 8)}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}
