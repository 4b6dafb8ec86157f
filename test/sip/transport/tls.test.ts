import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, caCertificatePath, type TlsCredentials } from '../../../src/tls/authority.js';
import { Headers, SipRequest, SipResponse } from '../../../src/sip/message.js';
import { TransportError } from '../../../src/sip/transport/types.js';
import { closeAll, newTrace, packets, startNode } from './helpers.js';

const A = '127.0.20.1';
const B = '127.0.20.2';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imslab-tls-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(closeAll);

describe('CertificateAuthority', () => {
  it('creates the CA and a node certificate once, and reuses both on the next run', async () => {
    const ca1 = await CertificateAuthority.open(dir);
    expect(ca1.created).toBe(true);
    expect(ca1.caPath).toBe(caCertificatePath(dir));
    const a1 = await ca1.issue({ name: 'pcscf', addresses: [A], hostNames: ['pcscf.ims.example.org'] });
    expect(a1.created).toBe(true);

    const x = new X509Certificate(a1.cert);
    expect(x.subjectAltName).toContain(`IP Address:${A}`);
    expect(x.subjectAltName).toContain('DNS:pcscf.ims.example.org');
    expect(x.verify(new X509Certificate(ca1.caPem).publicKey)).toBe(true);
    expect(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(a1.key))).toBe(true);
    expect((await stat(a1.keyPath)).mode & 0o077).toBe(0);

    const ca2 = await CertificateAuthority.open(dir);
    expect(ca2.created).toBe(false);
    expect(ca2.fingerprint).toBe(ca1.fingerprint);
    const a2 = await ca2.issue({ name: 'pcscf', addresses: [A], hostNames: ['pcscf.ims.example.org'] });
    expect(a2.created).toBe(false);
    expect(a2.fingerprint).toBe(a1.fingerprint);
    expect(await readFile(a2.certPath, 'utf8')).toBe(a1.cert);
  });

  it('reissues a certificate that no longer covers the node or cannot be read', async () => {
    const ca = await CertificateAuthority.open(dir);
    const first = await ca.issue({ name: 'scscf', addresses: [A] });
    const moved = await ca.issue({ name: 'scscf', addresses: ['127.0.20.9'] });
    expect(moved.created).toBe(true);
    expect(moved.fingerprint).not.toBe(first.fingerprint);
    await writeFile(moved.certPath, 'not a certificate');
    const repaired = await ca.issue({ name: 'scscf', addresses: ['127.0.20.9'] });
    expect(repaired.created).toBe(true);
    expect(new X509Certificate(repaired.cert).checkIP('127.0.20.9')).toBe('127.0.20.9');
  });

  it('refuses names that are not file names and addresses that are not IPs', async () => {
    const ca = await CertificateAuthority.open(dir);
    await expect(ca.issue({ name: '../evil', addresses: [A] })).rejects.toThrow(/not a usable node name/);
    await expect(ca.issue({ name: 'x', addresses: ['localhost'] })).rejects.toThrow(/not an IP address/);
  });
});

describe('SIP over TLS', () => {
  let credsA: TlsCredentials;
  let credsB: TlsCredentials;
  beforeAll(async () => {
    const ca = await CertificateAuthority.open(dir);
    [credsA, credsB] = await Promise.all([
      ca.issue({ name: 'a', addresses: [A] }),
      ca.issue({ name: 'b', addresses: [B] }),
    ]);
  });

  it('carries a request and its response, verifying the server against the topology CA', async () => {
    const { trace, events } = newTrace();
    const a = await startNode('a', A, trace, { ports: { tls: 0 }, tls: credsA });
    const b = await startNode('b', B, trace, { ports: { tls: 0 }, tls: credsB });
    const from = a.layer.localAddress('tls');
    const h = new Headers()
      .append('Via', `SIP/2.0/TLS ${A}:${from.port};branch=z9hG4bK-tls1`)
      .append('Max-Forwards', '70')
      .append('From', '<sips:alice@example.org>;tag=a1')
      .append('To', '<sips:bob@example.org>')
      .append('Call-ID', 'tls1@example.org')
      .append('CSeq', '1 OPTIONS');
    const atB = b.next();
    await a.layer.send(new SipRequest('OPTIONS', `sips:bob@${B}`, h), b.layer.localAddress('tls'));
    const [got] = await atB;
    expect(got!.source.transport).toBe('tls');
    expect(got!.connectionId).toMatch(/^tls-/);

    const r = new Headers();
    for (const [n, v] of got!.message.headers.entries()) if (n !== 'Max-Forwards') r.append(n, v);
    r.set('To', '<sips:bob@example.org>;tag=b1');
    const atA = a.next();
    await b.layer.send(new SipResponse(200, 'OK', r), got!.source, { connectionId: got!.connectionId });
    expect(((await atA)[0]!.message as SipResponse).status).toBe(200);
    const p = packets(events);
    expect(p.map((e) => `${e.node} ${e.direction} ${e.transport}`)).toEqual(['a send tls', 'b recv tls', 'b send tls', 'a recv tls']);
    expect(p[1]!.bytes.equals(p[0]!.bytes)).toBe(true);
    expect(p[3]!.bytes.equals(p[2]!.bytes)).toBe(true);
  });

  it('refuses a server whose certificate does not name its address, or comes from another CA', async () => {
    const { trace } = newTrace();
    const other = await CertificateAuthority.open(join(dir, 'other'));
    const stranger = await other.issue({ name: 'b', addresses: [B] });
    const a = await startNode('a', A, trace, { ports: { tls: 0 }, tls: credsA });
    // b presents a's certificate (made for 127.0.20.1) on 127.0.20.2.
    const wrongName = await startNode('b', B, trace, { ports: { tls: 0 }, tls: credsA });
    const foreign = await startNode('c', '127.0.20.3', trace, { ports: { tls: 0 }, tls: { ...stranger, ca: stranger.ca } });
    const req = () =>
      new SipRequest(
        'OPTIONS',
        `sips:x@${B}`,
        new Headers()
          .append('Via', `SIP/2.0/TLS ${A}:5061;branch=z9hG4bK-bad${Math.random()}`)
          .append('From', '<sips:a@x>;tag=1')
          .append('To', '<sips:b@x>')
          .append('Call-ID', 'x')
          .append('CSeq', '1 OPTIONS'),
      );
    const e1 = await a.layer.send(req(), wrongName.layer.localAddress('tls')).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(TransportError);
    expect((e1 as Error).message).toMatch(/IP: 127\.0\.20\.2 is not in the cert's list|altnames/i);
    const e2 = await a.layer.send(req(), foreign.layer.localAddress('tls')).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(TransportError);
    expect((e2 as Error).message).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });
});
