import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipResponse } from '../../src/sip/message.js';
import { CertificateAuthority, caCertificatePath } from '../../src/tls/authority.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import type { PacketEvent } from '../../src/trace/events.js';
import { nextNote, tempDir } from './helpers.js';

/**
 * SIP over TLS on the P-CSCF with certificate checks (issue 8 point 4; RFC 3261 §26.3.1, RFC 5922 §7.1): the
 * topology's CA (<dataDir>/tls/ca.pem) signs the P-CSCF's certificate with its IP address as subjectAltName.
 * A client that trusts the CA completes the handshake and is served; one that does not trust it refuses the
 * server. The P-CSCF asks no certificate of clients: UEs do not have one (TS 33.203 authenticates them with
 * IMS AKA or digest inside SIP, TS 24.229 §5.2.2.1 marks "tls-pending"/"tls-yes"), so a client without a
 * certificate is served. Addresses 127.0.56.30-39.
 */

const DOMAIN = 'ims.mnc056.mcc001.3gppnetwork.org';
const P = '127.0.56.31';
const TLS_PORT = 5061;
const CLIENT = '127.0.56.38';

const TOPOLOGY = `
name: tls-checks
domains: [${DOMAIN}]
seed: 56
nodes:
  - { name: pcscf1, kind: pcscf, address: ${P}, transports: { udp: 5060, tcp: 5060, tls: ${TLS_PORT} }, icscf: icscf1, secAgree: false }
  - { name: icscf1, kind: icscf, address: 127.0.56.32, transports: { udp: 5060, tcp: 5060 }, hss: hss1, scscfs: [scscf1] }
  - { name: scscf1, kind: scscf, address: 127.0.56.33, transports: { udp: 5060, tcp: 5060 }, hss: hss1, capabilities: [0] }
  - { name: hss1, kind: hss, address: 127.0.56.34, transports: { diameter: 3868 } }
subscribers:
  - { impi: alice@${DOMAIN}, impus: ['sip:alice@${DOMAIN}'], auth: aka, k: 465b5ce8b199b49faa5f0a2ee238a6bc, op: cdc202d5123e20f62b6d676ac72cb318, amf: "8000", sqn: 0 }
`;

let run: RunningTopology;
let dir: { path: string; remove(): void };
const sockets: tls.TLSSocket[] = [];

beforeAll(async () => {
  dir = tempDir('imstls-');
  run = await startTopology(parseTopology(TOPOLOGY), { dataDir: dir.path, ues: false });
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await run?.stop();
  dir?.remove();
});

/** Connects to the P-CSCF's TLS port; resolves when the handshake is done, rejects with the handshake error. */
function connect(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: P, port: TLS_PORT, localAddress: CLIENT, minVersion: 'TLSv1.2', ...options } as tls.ConnectionOptions & { localAddress: string });
    sockets.push(socket);
    const timer = setTimeout(() => reject(new Error('no handshake outcome within 5 s')), 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Sends one request on the connection and resolves with the first final response read from the stream. */
function exchange(socket: tls.TLSSocket, request: string): Promise<SipResponse> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('no final response within 5 s')), 5000);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const length = Number(/\r\n(?:Content-Length|l)\s*:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const message = parseMessage(buffer.subarray(0, end + 4 + length));
        buffer = buffer.subarray(end + 4 + length);
        if ('status' in message && message.status >= 200) {
          clearTimeout(timer);
          socket.off('data', onData);
          resolve(message);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.write(request.split('\n').join('\r\n'));
  });
}

function register(socket: tls.TLSSocket, branch: string): string {
  const me = `${socket.localAddress}:${socket.localPort}`;
  return `REGISTER sips:${DOMAIN} SIP/2.0
Via: SIP/2.0/TLS ${me};branch=z9hG4bK${branch};rport
Max-Forwards: 70
From: <sip:alice@${DOMAIN}>;tag=${branch}
To: <sip:alice@${DOMAIN}>
Call-ID: ${branch}@${CLIENT}
CSeq: 1 REGISTER
Contact: <sips:alice@${me};transport=tls>;expires=600
Supported: path
Authorization: Digest username="alice@${DOMAIN}", realm="${DOMAIN}", uri="sips:${DOMAIN}", nonce="", response=""
Content-Length: 0

`;
}

describe('SIP over TLS at the P-CSCF with the topology CA (issue 8 point 4, RFC 5922 §7.1)', () => {
  it('a client trusting <dataDir>/tls/ca.pem completes the handshake without a certificate of its own, and its REGISTER gets the 401', async () => {
    expect(run.caPath).toBe(caCertificatePath(dir.path));
    const ca = readFileSync(caCertificatePath(dir.path), 'utf8');
    const socket = await connect({ ca, rejectUnauthorized: true });
    expect(socket.authorized).toBe(true);
    // The server's identity is its IP address, in the certificate's subjectAltName (RFC 5922 §7.1).
    const peer = socket.getPeerX509Certificate();
    expect(peer?.subjectAltName ?? '').toContain(`IP Address:${P}`);
    expect(peer?.checkIssued(new X509Certificate(ca))).toBe(true);
    const received: PacketEvent[] = [];
    const sub = run.bus.events$.subscribe((e) => {
      if (e.type === 'packet' && e.node === 'pcscf1' && e.direction === 'recv' && e.transport === 'tls') received.push(e);
    });
    const r = await exchange(socket, register(socket, 'tlsok1'));
    sub.unsubscribe();
    expect(r.status).toBe(401);
    expect(r.headers.get('WWW-Authenticate')).toMatch(/^Digest .*algorithm=AKAv1-MD5/);
    // The keys for the P-CSCF never reach the UE (TS 33.203 §7.1).
    expect(r.headers.get('WWW-Authenticate')).not.toMatch(/\bck=|\bik=/);
    expect(received.some((e) => e.bytes.toString('latin1').startsWith('REGISTER ') && e.remote.address === CLIENT)).toBe(true);
  }, 30_000);

  it('a client that does not trust the topology CA refuses the P-CSCF at the handshake; the P-CSCF stays up', async () => {
    const noted = nextNote(run.bus, 'pcscf1', /handshake/, 3000).then((n) => n.text, (e: Error) => `no note: ${e.message}`);
    const error = await connect({ rejectUnauthorized: true }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    // The P-CSCF's log names the client whose handshake failed.
    expect(await noted).toContain(`handshake with ${CLIENT}:`);
    expect(error).toBeDefined();
    expect(error!.code).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    // Still serving: a client with the CA gets through right after.
    const ca = readFileSync(caCertificatePath(dir.path), 'utf8');
    const socket = await connect({ ca });
    expect((await exchange(socket, register(socket, 'tlsok2'))).status).toBe(401);
  }, 30_000);

  it('a client that trusts the CA but expects another identity (not the P-CSCF\'s IP) refuses the certificate', async () => {
    const ca = readFileSync(caCertificatePath(dir.path), 'utf8');
    const error = await connect({ ca, checkServerIdentity: (_host, cert) => tls.checkServerIdentity('127.0.56.99', cert) }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(error?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  }, 30_000);

  it('the P-CSCF does not verify client certificates: one from a CA it does not know is no reason to refuse (UEs have none)', async () => {
    // A client certificate from a foreign CA: a server that asked for and checked client certificates would end
    // the handshake here; the P-CSCF serves the client as it serves one without a certificate.
    const foreign = tempDir('imstls-foreign-');
    try {
      const stranger = await (await CertificateAuthority.open(foreign.path, { commonName: 'not the topology CA' })).issue({ name: 'stranger', addresses: [CLIENT] });
      const ca = readFileSync(caCertificatePath(dir.path), 'utf8');
      const socket = await connect({ ca, key: stranger.key, cert: stranger.cert });
      expect(socket.authorized).toBe(true);
      expect((await exchange(socket, register(socket, 'tlsok3'))).status).toBe(401);
    } finally {
      foreign.remove();
    }
  }, 30_000);
});
