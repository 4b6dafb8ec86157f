import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Scscf } from '../../src/scscf/index.js';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipResponse } from '../../src/sip/message.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import { runScenario } from '../../src/topology/scenario.js';
import type { NoteEvent, PacketEvent } from '../../src/trace/events.js';
import { tempDir } from './helpers.js';

/**
 * The trust domain (TS 33.203 §7, TS 33.210, TS 24.229 §4.4): only a P-CSCF of the network vouches for a UE's
 * protection (integrity-protected, TS 24.229 §5.2.2.1) and identity (P-Asserted-Identity, RFC 3325 §5). An
 * outside client that sends its REGISTER or INVITE straight to the I-CSCF or S-CSCF with those marks forged
 * must be challenged or refused, and change nothing. Addresses 127.0.56.1-29 (TLS tests use .30 and up).
 */

const DOMAIN = 'ims.mnc056.mcc001.3gppnetwork.org';
const ALICE = `sip:alice@${DOMAIN}`;
const ALICE_IMPI = `alice@${DOMAIN}`;

function topology(base: number, options: { icscf?: string; scscf?: string } = {}): string {
  const a = (i: number) => `127.0.56.${base + i}`;
  return `
name: trust-${base}
domains: [${DOMAIN}]
seed: 56
nodes:
  - { name: pcscf1, kind: pcscf, address: ${a(0)}, transports: { udp: 5060, tcp: 5060 }, icscf: icscf1, secAgree: false }
  - { name: icscf1, kind: icscf, address: ${a(1)}, transports: { udp: 5060, tcp: 5060 }, hss: hss1, scscfs: [scscf1]${options.icscf ?? ''} }
  - { name: scscf1, kind: scscf, address: ${a(2)}, transports: { udp: 5060, tcp: 5060 }, hss: hss1, capabilities: [0]${options.scscf ?? ''} }
  - { name: hss1, kind: hss, address: ${a(3)}, transports: { diameter: 3868 } }
subscribers:
  - { impi: ${ALICE_IMPI}, impus: ['${ALICE}'], auth: aka, k: 465b5ce8b199b49faa5f0a2ee238a6bc, op: cdc202d5123e20f62b6d676ac72cb318, amf: "8000", sqn: 0 }
  - { impi: bob@${DOMAIN}, impus: ['sip:bob@${DOMAIN}'], auth: aka, k: 0396eb317b6d1c36f19c1c84cd6ffd16, op: ff53bade17df5d4e793073ce9d7579fa, amf: "8000", sqn: 0 }
ues:
  - { name: alice, subscriber: ${ALICE_IMPI}, pcscf: pcscf1, address: ${a(5)}, port: 5060, transport: udp }
  - { name: bob, subscriber: bob@${DOMAIN}, pcscf: pcscf1, address: ${a(6)}, port: 5060, transport: udp }
scenarios:
  reg: [ { register: alice }, { register: bob } ]
`;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(base: number, options: { icscf?: string; scscf?: string } = {}): Promise<RunningTopology> {
  const dir = tempDir('imstrust-');
  cleanups.push(() => dir.remove());
  const t = parseTopology(topology(base, options));
  const run = await startTopology(t, { dataDir: dir.path });
  cleanups.push(() => run.stop());
  const result = await runScenario(run, 'reg', t.scenarios.reg!);
  expect(result.ok).toBe(true);
  return run;
}

/** A UDP client outside the topology: sends what it is told and hands back the final response. */
class Outsider {
  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: string,
    readonly port: number,
  ) {}

  static async open(address: string): Promise<Outsider> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, address, () => r()));
    const o = new Outsider(socket, address, socket.address().port);
    cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
    return o;
  }

  /** Sends `text` to address:5060; resolves with the first final response (a 100 Trying is skipped). */
  send(text: string, to: string): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.off('message', onMessage);
        reject(new Error(`no final response from ${to} within 5 s`));
      }, 5000);
      const onMessage = (m: Buffer) => {
        const msg = parseMessage(m);
        if (!('status' in msg) || msg.status < 200) return;
        clearTimeout(timer);
        this.socket.off('message', onMessage);
        resolve(msg);
      };
      this.socket.on('message', onMessage);
      this.socket.send(text.split('\n').join('\r\n'), 5060, to);
    });
  }

  /** A REGISTER for alice from here, claiming the P-CSCF's marks: a Path to this socket and integrity-protected. */
  register(integrity: string, branch: string): string {
    const me = `${this.address}:${this.port}`;
    return `REGISTER sip:${DOMAIN} SIP/2.0
Via: SIP/2.0/UDP ${me};branch=z9hG4bK${branch};rport
Max-Forwards: 70
From: <${ALICE}>;tag=evil${branch}
To: <${ALICE}>
Call-ID: hijack-${branch}@${this.address}
CSeq: 1 REGISTER
Contact: <sip:evil@${me}>;expires=600
Path: <sip:term@${me};lr>
Supported: path
P-Visited-Network-ID: "${DOMAIN}"
Authorization: Digest username="${ALICE_IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response="", integrity-protected="${integrity}"
Content-Length: 0

`;
  }
}

function aliceContacts(run: RunningTopology): string[] {
  return (run.node<Scscf>('scscf1').store.byImpi(ALICE_IMPI)?.contacts ?? []).map((c) => c.uri);
}

function notes(run: RunningTopology, node: string): string[] {
  const out: string[] = [];
  run.bus.events$.subscribe((e) => {
    if (e.type === 'note' && (e as NoteEvent).node === node) out.push((e as NoteEvent).text);
  });
  return out;
}

describe('integrity-protected from outside the trust domain is not believed (TS 33.203 §7, TS 24.229 §5.2.2.1, §5.4.1.2.1)', () => {
  for (const [i, value] of (['yes', 'tls-yes', 'ip-assoc-yes'] as const).entries()) {
    it(`a REGISTER with integrity-protected="${value}" and a forged Path straight to the I-CSCF is challenged; alice keeps her binding`, async () => {
      const run = await start(1);
      const before = aliceContacts(run);
      expect(before).toHaveLength(1);
      const icscfNotes = notes(run, 'icscf1');
      const attacker = await Outsider.open('127.0.56.20');
      const r = await attacker.send(attacker.register(value, `icscf${i}`), '127.0.56.2');
      expect(r.status).toBe(401);
      expect(r.headers.get('WWW-Authenticate')).toMatch(/^Digest .*nonce="/);
      expect(aliceContacts(run)).toEqual(before);
      expect(icscfNotes.some((t) => t.includes('integrity-protected') && t.includes('127.0.56.20') && t.includes('outside the trust domain'))).toBe(true);
    }, 30_000);
  }

  it('the same REGISTER straight to the S-CSCF is challenged as well', async () => {
    const run = await start(1);
    const before = aliceContacts(run);
    const scscfNotes = notes(run, 'scscf1');
    const attacker = await Outsider.open('127.0.56.21');
    const r = await attacker.send(attacker.register('yes', 'direct'), '127.0.56.3');
    expect(r.status).toBe(401);
    expect(aliceContacts(run)).toEqual(before);
    expect(scscfNotes.some((t) => t.includes('integrity-protected') && t.includes('127.0.56.21') && t.includes('outside the trust domain'))).toBe(true);
    expect(scscfNotes.some((t) => t.includes('no new challenge'))).toBe(false);
  }, 30_000);

  it('an outside P-CSCF named in trustedPeers (e.g. Kamailio) is believed: its integrity-protected="yes" re-registration skips the challenge', async () => {
    const run = await start(11, { icscf: ', trustedPeers: [127.0.56.22]' });
    const scscfNotes = notes(run, 'scscf1');
    const peer = await Outsider.open('127.0.56.22');
    const r = await peer.send(peer.register('yes', 'trusted'), '127.0.56.12');
    expect(r.status).toBe(200);
    expect(scscfNotes.some((t) => t.includes('no new challenge'))).toBe(true);
    expect(aliceContacts(run)).toContain(`sip:evil@127.0.56.22:${peer.port}`);
  }, 30_000);

  it('the schema refuses a trustedPeers entry that is not an IP address', () => {
    expect(() => parseTopology(topology(0, { icscf: ', trustedPeers: [kamailio.example]' }))).toThrow(/trustedPeers/);
  });
});

function forgedRequest(method: 'INVITE' | 'MESSAGE', from: Outsider, route: string | undefined, tag: string): string {
  const me = `${from.address}:${from.port}`;
  return `${method} sip:bob@${DOMAIN} SIP/2.0
Via: SIP/2.0/UDP ${me};branch=z9hG4bK${tag};rport
Max-Forwards: 70
${route ? `Route: <${route}>\n` : ''}From: <${ALICE}>;tag=${tag}
To: <sip:bob@${DOMAIN}>
Call-ID: ${tag}@${from.address}
CSeq: 1 ${method}
Contact: <sip:evil@${me}>
P-Asserted-Identity: <${ALICE}>
${method === 'MESSAGE' ? 'Content-Type: text/plain\nContent-Length: 5\n\nhello' : 'Content-Length: 0\n'}`;
}

function sentBy(run: RunningTopology, node: string, method: string): PacketEvent[] {
  const out: PacketEvent[] = [];
  run.bus.events$.subscribe((e) => {
    if (e.type === 'packet' && e.node === node && e.direction === 'send' && e.protocol === 'sip' && e.bytes.toString('latin1').startsWith(`${method} `)) out.push(e);
  });
  return out;
}

describe('P-Asserted-Identity from outside the trust domain (RFC 3325 §5, TS 24.229 §4.4, §5.4.3.2)', () => {
  it('an INVITE on the orig route with alice forged in P-Asserted-Identity from an outside address gets 403 and reaches no one', async () => {
    const run = await start(1);
    const forwarded = sentBy(run, 'scscf1', 'INVITE');
    const scscfNotes = notes(run, 'scscf1');
    const attacker = await Outsider.open('127.0.56.23');
    const r = await attacker.send(forgedRequest('INVITE', attacker, 'sip:orig@127.0.56.3:5060;lr', 'forgedpai'), '127.0.56.3');
    expect(r.status).toBe(403);
    expect(r.headers.get('Warning') ?? '').toMatch(/P-Asserted-Identity/);
    expect(scscfNotes.some((t) => t.includes('P-Asserted-Identity') && t.includes('127.0.56.23') && t.includes('removed'))).toBe(true);
    expect(forwarded).toHaveLength(0);
  }, 30_000);

  it('from a trusted peer that is not on alice\'s Path the forged assertion still gets 403 (the originating check of §5.4.3.2)', async () => {
    const run = await start(11, { scscf: ', trustedPeers: [127.0.56.24]' });
    const forwarded = sentBy(run, 'scscf1', 'INVITE');
    const attacker = await Outsider.open('127.0.56.24');
    const r = await attacker.send(forgedRequest('INVITE', attacker, 'sip:orig@127.0.56.13:5060;lr', 'peerpai'), '127.0.56.13');
    expect(r.status).toBe(403);
    expect(r.headers.get('Warning') ?? '').toMatch(/did not come from the P-CSCF on its Path/);
    expect(forwarded).toHaveLength(0);
  }, 30_000);

  it('a MESSAGE to bob through the I-CSCF with alice forged in P-Asserted-Identity reaches bob without that assertion', async () => {
    const run = await start(1);
    const delivered = sentBy(run, 'scscf1', 'MESSAGE');
    const icscfNotes = notes(run, 'icscf1');
    const attacker = await Outsider.open('127.0.56.25');
    const r = await attacker.send(forgedRequest('MESSAGE', attacker, undefined, 'forgedmsg'), '127.0.56.2');
    expect(r.status).toBeLessThan(300);
    expect(delivered).toHaveLength(1);
    const toBob = parseMessage(delivered[0]!.bytes);
    expect(toBob.headers.getAll('P-Asserted-Identity').join(',')).not.toContain(ALICE);
    expect(icscfNotes.some((t) => t.includes('P-Asserted-Identity') && t.includes('127.0.56.25') && t.includes('removed'))).toBe(true);
  }, 30_000);
});
