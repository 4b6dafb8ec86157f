import 'reflect-metadata';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { Directory } from '../../src/topology/directory.js';
import type { NodeSpec, UeSettings } from '../../src/topology/node-spec.js';
import { TraceBus, type NoteEvent } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { parseCredentials } from '../../src/sip/headers/auth.js';
import { parseContact } from '../../src/sip/headers/contact.js';
import { ipsecParams, parseSecurityMechanisms } from '../../src/sip/headers/security.js';
import { decodeAuts } from '../../src/sip/auth/digest.js';
import { resynchronise } from '../../src/aka/resync.js';
import { computeOpc } from '../../src/aka/milenage.js';
import { sqnToNumber } from '../../src/aka/sqn.js';
import type { SipRequest } from '../../src/sip/message.js';
import { type Ue, type UeState } from '../../src/ue/index.js';
import { nextMessage } from '../sip/ua/stack.js';
import { DOMAIN, K, OP, ScriptedRegistrar, type RegistrarOptions } from './scripted-registrar.js';
import { ueNode, type UeNode } from './helpers/ue-node.js';

const UE_ADDR = '127.0.43.30';
const REG_ADDR = '127.0.43.31';
const IMPU = `sip:alice@${DOMAIN}`;
const IMPI = `alice@${DOMAIN}`;

interface World {
  clock: FakeClock;
  bus: TraceBus;
  registrar: ScriptedRegistrar;
  ue: Ue;
  notes: NoteEvent[];
}

let worlds: World[] = [];

async function world(settings: Partial<UeSettings> = {}, registrar: RegistrarOptions = { sqn: 0x40 }): Promise<World> {
  const clock = new FakeClock();
  const bus = new TraceBus(clock);
  const notes: NoteEvent[] = [];
  bus.events$.subscribe((e) => {
    if (e.type === 'note') notes.push(e);
  });
  const reg = await ScriptedRegistrar.start(REG_ADDR, bus, clock, registrar);
  const directory = new Directory(
    [
      { name: 'pcscf1', kind: 'pcscf', address: REG_ADDR, ports: { udp: reg.stack.port }, domain: DOMAIN },
      { name: 'alice', kind: 'ue', address: UE_ADDR, ports: { udp: 0 }, domain: DOMAIN },
    ],
    DOMAIN,
  );
  const ueSettings: UeSettings = {
    impi: IMPI,
    impu: IMPU,
    pcscf: 'pcscf1',
    transport: 'udp',
    secAgree: true,
    auth: 'aka',
    k: K.toString('hex'),
    op: OP.toString('hex'),
    amf: '8000',
    sqn: '000000000040',
    expires: 600000,
    instanceId: 'urn:gsma:imei:35209900-176148-0',
    ...settings,
  };
  const spec: NodeSpec = { name: 'alice', kind: 'ue', address: UE_ADDR, ports: { udp: 0 }, domain: DOMAIN, settings: ueSettings as unknown as Record<string, unknown> };
  let node: UeNode | undefined;
  try {
    node = ueNode({ clock, bus, directory, spec });
    await node.ue.start();
  } catch (err) {
    node?.transactions.close();
    await node?.transport.close();
    await reg.close();
    throw err;
  }
  const ue = node.ue;
  const w = { clock, bus, registrar: reg, ue, notes };
  worlds.push(w);
  return w;
}

function stateOf(ue: Ue, want: (s: UeState) => boolean): Promise<UeState> {
  return firstValueFrom(ue.state$.pipe(filter(want), timeout(3000)));
}

/** Lets the last response reach the registrar's transaction before the FakeClock jumps. */
function registrarReceives(w: World, what: (text: string) => boolean) {
  return firstValueFrom(
    w.bus.events$.pipe(
      filter((e) => e.type === 'packet' && e.node === 'registrar' && e.direction === 'recv' && what(e.bytes.toString())),
      timeout(3000),
    ),
  );
}

afterEach(async () => {
  for (const w of worlds) {
    await w.ue.stop();
    await w.registrar.close();
  }
  worlds = [];
});

describe('UE IMS registration (TS 24.229 §5.1.1) against a scripted registrar', () => {
  it('sends the initial REGISTER of §5.1.1.2.1: empty Authorization, Security-Client, sec-agree, path, +sip.instance', async () => {
    const w = await world();
    await w.ue.register();
    const first = w.registrar.registers[0]!;
    const port = w.ue.ua!.contact.match(/:(\d+);/)![1]!;
    expect(first.uri).toBe(`sip:${DOMAIN}`);
    expect(first.headers.get('From')).toMatch(new RegExp(`^<${IMPU}>;tag=`));
    expect(first.headers.get('To')).toBe(`<${IMPU}>`);
    expect(first.headers.get('Max-Forwards')).toBe('70');
    expect(first.headers.get('CSeq')).toBe('1 REGISTER');
    expect(first.headers.get('Expires')).toBe('600000');
    expect(first.headers.has('Route')).toBe(false);
    expect(first.headers.get('Authorization')).toBe(`Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response=""`);
    const contact = parseContact(first.headers.get('Contact')!);
    expect(contact.uri).toBe(`sip:alice@${UE_ADDR}:${port};transport=udp`);
    expect(contact.expires).toBe(600000);
    expect(contact.instance).toBe('<urn:gsma:imei:35209900-176148-0>');
    const [mech] = parseSecurityMechanisms(first.headers.getAll('Security-Client'));
    expect(mech!.mechanism).toBe('ipsec-3gpp');
    const p = ipsecParams(mech!);
    expect(p.alg).toBe('hmac-sha-1-96');
    expect(p.ealg).toBe('null');
    expect(p.spiC).toBeGreaterThanOrEqual(256);
    expect(p.spiS).toBeGreaterThanOrEqual(256);
    expect(p.portC).toBe(Number(port));
    expect(p.portS).toBe(Number(port));
    expect(first.headers.get('Require')).toBe('sec-agree');
    expect(first.headers.get('Proxy-Require')).toBe('sec-agree');
    expect(first.headers.list('Supported')).toContain('path');
    expect(first.headers.get('P-Access-Network-Info')).toBe('3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=001010001000019B');
    expect(first.headers.has('Security-Verify')).toBe(false);
  });

  it('answers the AKA challenge: RES-based response the registrar verifies, Security-Verify, same Call-ID, CSeq + 1; then registered', async () => {
    const w = await world();
    await w.ue.register();
    const [first, second] = w.registrar.registers;
    expect(w.registrar.registers).toHaveLength(2);
    expect(second!.headers.get('Call-ID')).toBe(first!.headers.get('Call-ID'));
    expect(second!.headers.get('CSeq')).toBe('2 REGISTER');
    expect(second!.headers.get('Security-Client')).toBe(first!.headers.get('Security-Client'));
    expect(second!.headers.get('Security-Verify')).toBe('ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=null;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064');
    const creds = parseCredentials(second!.headers.get('Authorization')!);
    expect(creds.username).toBe(IMPI);
    expect(creds.algorithm).toBe('AKAv1-MD5');
    expect(creds.qop).toBe('auth');
    expect(creds.nc).toBe('00000001');
    expect(creds.cnonce).toMatch(/^[0-9a-f]{16}$/);
    expect(creds.response).toMatch(/^[0-9a-f]{32}$/);
    const s = w.ue.state;
    expect(s.state).toBe('registered');
    expect(s.impus).toEqual([IMPU, 'tel:+15551234']);
    expect(s.serviceRoute).toEqual([w.registrar.serviceRoute]);
    expect(s.expires).toBe(600);
    expect(w.ue.preloadedRoute).toEqual([`<sip:${REG_ADDR}:${w.registrar.stack.port};lr>`, w.registrar.serviceRoute]);
    // The USIM accepted SQN 0x41 (HSS at 0x40 sent SEQ + 1); the note says why the UE answered.
    expect(w.notes.some((n) => n.node === 'alice' && n.text.startsWith('USIM accepted AUTN') && n.clause?.includes('RFC 3310'))).toBe(true);
  });

  it('resynchronises when its SQN is ahead of the HSS: auts with empty response, then a fresh challenge (RFC 3310 §3.4)', async () => {
    const w = await world({ sqn: '000000100000' }, { sqn: 0x40 });
    await w.ue.register();
    expect(w.registrar.registers).toHaveLength(3);
    const resync = parseCredentials(w.registrar.registers[1]!.headers.get('Authorization')!);
    expect(resync.response).toBe('');
    expect(resync.auts).toBeDefined();
    // AUTS carries SQN_MS = the card's highest SQN, concealed with AK* (TS 33.102 §6.3.3).
    const rand = Buffer.from(resync.nonce!, 'base64').subarray(0, 16);
    const r = resynchronise({ k: K, opc: computeOpc(K, OP), rand, auts: decodeAuts(resync.auts!) });
    expect(r.valid).toBe(true);
    expect(sqnToNumber(r.sqnMs) >> 5).toBe(0x100000 >> 5);
    const third = parseCredentials(w.registrar.registers[2]!.headers.get('Authorization')!);
    expect(third.auts).toBeUndefined();
    expect(third.nonce).not.toBe(resync.nonce);
    expect(w.registrar.registers[2]!.headers.get('CSeq')).toBe('3 REGISTER');
    expect(w.ue.state.state).toBe('registered');
  });

  it('fails without a second REGISTER when AUTN does not verify (MAC failure, TS 33.102 §6.3.3)', async () => {
    const w = await world({ k: '00112233445566778899aabbccddeeff' });
    await expect(w.ue.register()).rejects.toThrow('network authentication failed (MAC)');
    expect(w.registrar.registers).toHaveLength(1);
    expect(w.ue.state).toEqual({ state: 'failed', reason: 'network authentication failed (MAC)' });
    expect(w.notes.some((n) => n.node === 'alice' && n.level === 'warn' && n.clause === 'TS 33.102 §6.3.3')).toBe(true);
  });

  it('re-registers when half of a ≤1200 s registration has passed (FakeClock), answering the same nonce with nc=2', async () => {
    const w = await world();
    const answered = registrarReceives(w, (t) => t.startsWith('SIP/2.0 200') && t.includes('NOTIFY'));
    await w.ue.register();
    await answered;
    w.clock.advance(299_000);
    expect(w.registrar.registers).toHaveLength(2);
    const again = nextMessage(w.bus, (m, e) => e.node === 'registrar' && e.direction === 'send' && 'status' in m && m.status === 200 && (m.headers.get('CSeq') ?? '') === '3 REGISTER');
    w.clock.advance(1000);
    await again;
    const third = w.registrar.registers[2]!;
    expect(third.headers.get('Call-ID')).toBe(w.registrar.registers[0]!.headers.get('Call-ID'));
    const c2 = parseCredentials(w.registrar.registers[1]!.headers.get('Authorization')!);
    const c3 = parseCredentials(third.headers.get('Authorization')!);
    expect(c3.nonce).toBe(c2.nonce);
    expect(c3.nc).toBe('00000002');
    expect(third.headers.has('Security-Verify')).toBe(true);
    await stateOf(w.ue, (s) => s.state === 'registered');
  });

  it('deregisters with Expires 0 (contact expires=0) and ends deregistered', async () => {
    const w = await world();
    await w.ue.register();
    await w.ue.deregister();
    const last = w.registrar.registers.at(-1)!;
    expect(last.headers.get('Expires')).toBe('0');
    expect(parseContact(last.headers.get('Contact')!).expires).toBe(0);
    expect(parseCredentials(last.headers.get('Authorization')!).response).toMatch(/^[0-9a-f]{32}$/);
    expect(w.ue.state.state).toBe('deregistered');
  });

  it('reports a refusal with the status and the Warning text the network gave', async () => {
    const w = await world({}, { sqn: 0x40, refuse: { status: 403, reason: 'Forbidden', warning: 'IMPU not in the implicit set (TS 24.229 §5.4.1.2)' } });
    await expect(w.ue.register()).rejects.toThrow('403 Forbidden (IMPU not in the implicit set (TS 24.229 §5.4.1.2))');
    expect(w.ue.state.state).toBe('failed');
    expect(w.registrar.registers).toHaveLength(1);
  });

  it('subscribes to its reg event through the P-CSCF and the Service-Route (§5.1.1.3)', async () => {
    const w = await world();
    const sub = nextMessage(w.bus, (m, e) => e.node === 'registrar' && e.direction === 'recv' && 'method' in m && m.method === 'SUBSCRIBE');
    await w.ue.register();
    const s = (await sub).message as SipRequest;
    expect(s.uri).toBe(IMPU);
    expect(s.headers.list('Route')).toEqual(w.ue.preloadedRoute);
    expect(s.headers.get('Event')).toBe('reg');
    expect(s.headers.get('Accept')).toBe('application/reginfo+xml');
    expect(s.headers.get('Expires')).toBe('600000');
    expect(s.headers.get('From')).toMatch(new RegExp(`^<${IMPU}>;tag=`));
    expect(s.headers.get('Contact')).toBe(`<${w.ue.ua!.contact}>`);
  });

  it('follows a network-initiated deregistration: rejected → deregistered (§5.1.1.7)', async () => {
    const w = await world();
    const answered = registrarReceives(w, (t) => t.startsWith('SIP/2.0 200') && t.includes('NOTIFY'));
    await w.ue.register();
    await answered;
    for (const c of w.registrar.contacts.values()) Object.assign(c, { state: 'terminated', event: 'rejected', expires: 0 });
    await w.registrar.notifier!.notify(w.registrar.regInfo(IMPU, 'partial'));
    const s = await stateOf(w.ue, (x) => x.state === 'deregistered');
    expect(s.reason).toBe('network-initiated deregistration (rejected)');
  });

  it('follows a network-initiated deregistration: deactivated → registers again from scratch (§5.1.1.7)', async () => {
    const w = await world();
    const answered = registrarReceives(w, (t) => t.startsWith('SIP/2.0 200') && t.includes('NOTIFY'));
    await w.ue.register();
    await answered;
    for (const c of w.registrar.contacts.values()) Object.assign(c, { state: 'terminated', event: 'deactivated', expires: 0 });
    const registering = stateOf(w.ue, (x) => x.state === 'registering');
    await w.registrar.notifier!.notify(w.registrar.regInfo(IMPU, 'partial'));
    await registering;
    await stateOf(w.ue, (x) => x.state === 'registered');
    const again = w.registrar.registers.slice(2);
    expect(again).toHaveLength(2);
    expect(parseCredentials(again[0]!.headers.get('Authorization')!).response).toBe('');
    expect(again[0]!.headers.has('Security-Verify')).toBe(false);
  });

  it('registers with SIP digest (MD5, qop=auth) when the subscriber has a password', async () => {
    const w = await world({ auth: 'digest', password: 'secret', secAgree: false, k: undefined, op: undefined }, { sqn: 0, password: 'secret' });
    await w.ue.register();
    const second = w.registrar.registers[1]!;
    const creds = parseCredentials(second.headers.get('Authorization')!);
    expect(creds.algorithm).toBe('MD5');
    expect(creds.qop).toBe('auth');
    expect(second.headers.has('Security-Client')).toBe(false);
    expect(second.headers.has('Require')).toBe(false);
    expect(w.ue.state.state).toBe('registered');
  });

  it('refuses bad settings with the field named, before any socket opens', async () => {
    await expect(world({ k: 'zz' })).rejects.toThrow(/k: not an even-length hex string/);
  });
});
