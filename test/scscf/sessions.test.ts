import { afterEach, describe, expect, it } from 'vitest';
import { CxCommandCode } from '../../src/diameter/cx/constants.js';
import { parsePChargingVector } from '../../src/sip/headers/p-headers.js';
import { Headers, SipRequest, isRequest, type SipMessage } from '../../src/sip/message.js';
import { FakeClock } from '../../src/util/clock.js';
import { Callee, Caller, type CalleeMode } from './helpers/calls.js';
import { DOMAIN, Lab, ScriptedUe, aliceUsim, until, type LabOptions } from './helpers/lab.js';

// 127.0.49.x: apart from the registration tests (127.0.42.x). S-CSCF .3, I-CSCF .2, HSS .4, UEs .10-.13.
const BASE = '127.0.49.';
const S_IP = `${BASE}3`;
const I_IP = `${BASE}2`;
const SCSCF = { address: S_IP, port: 5060 };
const RR = `<sip:${S_IP}:5060;lr>`;
const BOB = `sip:bob@${DOMAIN}`;
const ALICE = `sip:alice@${DOMAIN}`;

let lab: Lab;
let ues: ScriptedUe[] = [];

async function startLab(options: LabOptions = {}): Promise<Lab> {
  lab = await new Lab({ base: BASE, ...options }).start();
  return lab;
}

afterEach(async () => {
  for (const u of ues) await u.close();
  ues = [];
  await lab?.stop();
});

/** A UE registered through the I-CSCF, its Path pointing at its own socket (it plays its P-CSCF too). */
async function registered(who: 'alice' | 'bob', address: string): Promise<{ ue: ScriptedUe; serviceRoute: string }> {
  const secret = who === 'bob' ? { password: 'bob-secret' } : { usim: aliceUsim() };
  const ue = await new ScriptedUe(address, `${who}@${DOMAIN}`, `sip:${who}@${DOMAIN}`, secret, { address: I_IP, port: 5060 }).start();
  ues.push(ue);
  const { final } = await ue.registerFully();
  expect(final.status).toBe(200);
  return { ue, serviceRoute: final.headers.get('Service-Route')! };
}

async function unregistered(who: string, address: string): Promise<ScriptedUe> {
  const ue = await new ScriptedUe(address, `${who}@${DOMAIN}`, `sip:${who}@${DOMAIN}`, {}, SCSCF).start();
  ues.push(ue);
  return ue;
}

function sent(node: string, method: string): SipRequest[] {
  return lab.sipSent(node).filter((m: SipMessage): m is SipRequest => isRequest(m) && m.method === method);
}

function noteAt(node: string, part: string): { text: string; clause?: string } | undefined {
  for (const e of lab.events) if (e.type === 'note' && e.node === node && e.text.includes(part)) return e;
  return undefined;
}

describe('a call through the core (TS 24.228 §7, TS 24.229 §5.4.3.2, §5.3.2.1, §5.4.3.3)', () => {
  it('INVITE travels S → I (LIR) → S → B with Record-Route, P-Called-Party-ID and charging IOIs; 180/200 back; ACK, INFO and BYE follow the route set', async () => {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    const bob = await registered('bob', `${BASE}11`);
    const callee = new Callee(bob.ue, 'answer');
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    expect(alice.serviceRoute).toBe(`<sip:orig@${S_IP}:5060;lr>`);
    const cxBefore = lab.hssReceived().length;

    const ok = await caller.call(BOB);
    expect(ok.status).toBe(200);
    expect(alice.ue.responses.map((r) => r.status)).toContain(180);
    // The location query of the terminating I-CSCF, and nothing else asked of the HSS.
    expect(lab.hssReceived().slice(cxBefore)).toEqual([CxCommandCode.LocationInfo]);

    // Originating S-CSCF → I-CSCF: Request-URI untouched, Record-Route ours, orig-ioi, no Route (next hop by policy).
    const toI = sent('scscf1', 'INVITE')[0]!;
    expect(toI.uri).toBe(BOB);
    expect(toI.headers.list('Record-Route')).toEqual([RR]);
    expect(toI.headers.has('Route')).toBe(false);
    const pcv = parsePChargingVector(toI.headers.get('P-Charging-Vector')!);
    expect(pcv).toMatchObject({ icidValue: 'icid-test-1', origIoi: DOMAIN });
    // I-CSCF → S-CSCF: the Server-Name as topmost Route, no Record-Route of its own (§5.3.2.1).
    const toS = sent('icscf1', 'INVITE')[0]!;
    expect(toS.headers.list('Route')).toEqual([`<sip:scscf1.${DOMAIN}:5060;lr>`]);
    expect(toS.headers.list('Record-Route')).toEqual([RR]);

    // What reached B: its contact, its Path as Route, the S-CSCF record-routed on both legs.
    const inv = callee.received('INVITE')[0]!;
    expect(inv.uri).toBe(bob.ue.contact);
    expect(inv.headers.list('Route')).toEqual([`<sip:term@${bob.ue.address}:${bob.ue.port};lr>`]);
    expect(inv.headers.list('Record-Route')).toEqual([RR, RR]);
    expect(inv.headers.get('P-Called-Party-ID')).toBe(`<${BOB}>`);
    expect(inv.headers.get('P-Asserted-Identity')).toBe(`<${ALICE}>`);
    expect(inv.headers.list('Via').map((v) => v.split(';')[0])).toEqual([
      `SIP/2.0/UDP ${S_IP}:5060`,
      `SIP/2.0/UDP ${I_IP}:5060`,
      `SIP/2.0/UDP ${S_IP}:5060`,
      `SIP/2.0/UDP ${alice.ue.address}:${alice.ue.port}`,
    ]);
    expect(Number(inv.headers.get('Max-Forwards'))).toBe(67);

    // The 200 at A: the callee asserted by its S-CSCF, term-ioi added, the Record-Route set intact.
    expect(ok.headers.get('P-Asserted-Identity')).toBe(`<${BOB}>`);
    expect(parsePChargingVector(ok.headers.get('P-Charging-Vector')!)).toMatchObject({ icidValue: 'icid-test-1', origIoi: DOMAIN, termIoi: DOMAIN });
    expect(ok.headers.list('Record-Route')).toEqual([RR, RR]);

    // ACK for the 2xx, end to end along the route set (the I-CSCF is not in it).
    const icscfIn = lab.events.filter((e) => e.type === 'packet' && e.node === 'icscf1' && e.direction === 'recv').length;
    alice.ue.transmit(caller.inDialog('ACK', ok, 1), SCSCF);
    await until(() => callee.received('ACK').length === 1, 3000, 'ACK at B');
    const ack = callee.received('ACK')[0]!;
    expect(ack.uri).toBe(bob.ue.contact);
    expect(ack.headers.has('Route')).toBe(false);
    expect(ack.headers.list('Via')).toHaveLength(2);

    // B → A inside the dialog: its route set is the Record-Route as it received it.
    const info = new SipRequest('INFO', alice.ue.contact, Headers.from([
      ['Via', `SIP/2.0/UDP ${bob.ue.address}:${bob.ue.port};branch=z9hG4bKinfo1`],
      ['Max-Forwards', '70'],
      ...inv.headers.list('Record-Route').map((v) => ['Route', v] as [string, string]),
      ['From', ok.headers.get('To')!],
      ['To', inv.headers.get('From')!],
      ['Call-ID', inv.headers.get('Call-ID')!],
      ['CSeq', '1 INFO'],
    ]));
    expect((await bob.ue.send(info, SCSCF)).status).toBe(200);
    expect(alice.ue.requests.find((r) => r.method === 'INFO')?.uri).toBe(alice.ue.contact);

    const bye = await alice.ue.send(caller.inDialog('BYE', ok, 2), SCSCF);
    expect(bye.status).toBe(200);
    const byeAtB = callee.received('BYE')[0]!;
    expect(byeAtB.uri).toBe(bob.ue.contact);
    expect(byeAtB.headers.list('Via').map((v) => v.split(';')[0])).toEqual([`SIP/2.0/UDP ${S_IP}:5060`, `SIP/2.0/UDP ${alice.ue.address}:${alice.ue.port}`]);
    expect(lab.events.filter((e) => e.type === 'packet' && e.node === 'icscf1' && e.direction === 'recv').length).toBe(icscfIn);
    expect(noteAt('scscf1', `originating INVITE from ${ALICE}`)?.clause).toBe('TS 24.229 §5.4.3.2');
    expect(noteAt('scscf1', `terminating INVITE for ${BOB}`)?.clause).toBe('TS 24.229 §5.4.3.3');
  });

  it('MESSAGE A → B is 200, not record-routed (RFC 3428 §4: no dialog)', async () => {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    const bob = await registered('bob', `${BASE}11`);
    new Callee(bob.ue, 'answer');
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    const r = await alice.ue.send(caller.initial('MESSAGE', BOB, { body: 'hello bob' }), SCSCF);
    expect(r.status).toBe(200);
    const m = bob.ue.requests.find((q) => q.method === 'MESSAGE')!;
    expect(m.body.toString()).toBe('hello bob');
    expect(m.uri).toBe(bob.ue.contact);
    expect(m.headers.has('Record-Route')).toBe(false);
    expect(m.headers.get('P-Called-Party-ID')).toBe(`<${BOB}>`);
    expect(lab.hssReceived()).toContain(CxCommandCode.LocationInfo);
  });

  it('without an I-CSCF the originating S-CSCF terminates the request itself (TS 24.229 §5.4.3.2 lets it skip the I-CSCF)', async () => {
    await startLab({ scscfSettings: { icscf: 'no-such-icscf' } });
    const alice = await registered('alice', `${BASE}10`);
    const bob = await registered('bob', `${BASE}11`);
    const callee = new Callee(bob.ue, 'answer');
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    expect(noteAt('scscf1', 'settings.icscf "no-such-icscf" names no node')).toBeDefined();
    const ok = await caller.call(BOB);
    expect(ok.status).toBe(200);
    expect(sent('icscf1', 'INVITE')).toHaveLength(0);
    expect(lab.hssReceived()).not.toContain(CxCommandCode.LocationInfo);
    const inv = callee.received('INVITE')[0]!;
    expect(inv.uri).toBe(bob.ue.contact);
    expect(inv.headers.get('P-Called-Party-ID')).toBe(`<${BOB}>`);
    expect(inv.headers.list('Via')).toHaveLength(3);
    alice.ue.transmit(caller.inDialog('ACK', ok, 1), SCSCF);
    await until(() => callee.received('ACK').length === 1, 3000, 'ACK at B');
  });

  it('a tel: target is located through the I-CSCF (no ENUM) and reaches the user whose implicit set holds it', async () => {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    const bob = await registered('bob', `${BASE}11`);
    const caller = new Caller(bob.ue, bob.serviceRoute, SCSCF);
    const r = await bob.ue.send(caller.initial('MESSAGE', 'tel:+15550001', { body: 'to a number' }), SCSCF);
    expect(r.status).toBe(200);
    expect(sent('scscf1', 'MESSAGE')[0]!.uri).toBe('tel:+15550001');
    const m = alice.ue.requests.find((q) => q.method === 'MESSAGE')!;
    expect(m.uri).toBe(alice.ue.contact);
    expect(m.headers.get('P-Called-Party-ID')).toBe('<tel:+15550001>');
    expect(m.headers.get('P-Asserted-Identity')).toBe(`<${BOB}>`);
  });
});

describe('failure cases, each with its status, reason and clause', () => {
  it('callee not registered: 480 from the I-CSCF (LIA IDENTITY_NOT_REGISTERED), for INVITE and MESSAGE', async () => {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    const r = await caller.call(BOB);
    caller.ackFailure(r);
    expect(r.status).toBe(480);
    expect(r.headers.get('Warning')).toMatch(new RegExp(`^399 ${I_IP.replace(/\./g, '\\.')} ".*not registered`));
    expect(noteAt('icscf1', 'INVITE answered 480')?.clause).toBe('TS 24.229 §5.3.2.1');
    const m = await alice.ue.send(caller.initial('MESSAGE', BOB, { body: 'anyone?' }), SCSCF);
    expect(m.status).toBe(480);
  });

  it('a terminating request reaching the S-CSCF for a user it does not hold: 480 with the reason', async () => {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    const msg = new SipRequest('MESSAGE', BOB, Headers.from([
      ['Via', `SIP/2.0/UDP ${alice.ue.address}:${alice.ue.port};branch=z9hG4bKterm480`],
      ['Max-Forwards', '70'],
      ['From', `<${ALICE}>;tag=t1`],
      ['To', `<${BOB}>`],
      ['Call-ID', 'term-480'],
      ['CSeq', '1 MESSAGE'],
    ]));
    const r = await alice.ue.send(msg, SCSCF);
    expect(r.status).toBe(480);
    expect(r.headers.get('Warning')).toContain(`${BOB} is not registered at this S-CSCF`);
    expect(noteAt('scscf1', 'MESSAGE answered 480')?.clause).toBe('TS 24.229 §5.4.3.3');
  });

  it('unknown callee: 404 from the I-CSCF (LIA DIAMETER_ERROR_USER_UNKNOWN)', async () => {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    const r = await caller.call(`sip:nobody@${DOMAIN}`);
    caller.ackFailure(r);
    expect(r.status).toBe(404);
    expect(r.headers.get('Warning')).toContain('not a subscriber');
  });

  it('originating user not registered, asserting a barred identity, sending past its P-CSCF, or asserting nothing: 403, nothing forwarded', async () => {
    await startLab();
    const bobUe = await unregistered('bob', `${BASE}11`);
    const asBob = new Caller(bobUe, `<sip:orig@${S_IP}:5060;lr>`, SCSCF);
    const r1 = await asBob.call(ALICE);
    asBob.ackFailure(r1);
    expect(r1.status).toBe(403);
    expect(r1.headers.get('Warning')).toContain(`${BOB} is not registered at this S-CSCF`);
    expect(noteAt('scscf1', 'INVITE answered 403')?.clause).toBe('TS 24.229 §5.4.3.2');

    const alice = await registered('alice', `${BASE}10`);
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    const r2 = await caller.call(BOB, { asserted: `sip:alice-hidden@${DOMAIN}` });
    caller.ackFailure(r2);
    expect(r2.status).toBe(403);
    expect(r2.headers.get('Warning')).toContain('barred');

    const r3 = await caller.call(BOB, { asserted: null });
    caller.ackFailure(r3);
    expect(r3.status).toBe(403);
    expect(r3.headers.get('Warning')).toContain('no P-Asserted-Identity');

    // Mallory claims to be alice from an address that is not alice's P-CSCF.
    const mallory = await unregistered('mallory', `${BASE}13`);
    const spoof = new Caller(mallory, alice.serviceRoute, SCSCF);
    const r4 = await mallory.send(spoof.initial('MESSAGE', BOB, { asserted: ALICE, body: 'spoofed' }), SCSCF);
    expect(r4.status).toBe(403);
    expect(r4.headers.get('Warning')).toContain('did not come from the P-CSCF on its Path');

    expect(sent('scscf1', 'INVITE')).toHaveLength(0);
    expect(sent('scscf1', 'MESSAGE')).toHaveLength(0);
  });

  it('HSS down when the callee is located: 504 from the I-CSCF at once, with the reason', async () => {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    await lab.hss.stop();
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    const r = await alice.ue.send(caller.initial('MESSAGE', BOB, { body: 'x' }), SCSCF);
    expect(r.status).toBe(504);
    expect(r.headers.get('Warning')).toContain('HSS');
    expect(noteAt('icscf1', 'MESSAGE answered 504')?.clause).toBe('TS 24.229 §5.3.1.2');
  });

  it('Max-Forwards exhausted: 483 from the proxy core; a dialog request that does not name us: 403', async () => {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    const req = caller.initial('MESSAGE', BOB, { body: 'x' });
    req.headers.set('Max-Forwards', '0');
    expect((await alice.ue.send(req, SCSCF)).status).toBe(483);

    const stray = new SipRequest('BYE', `sip:ue@${BASE}11:5060`, Headers.from([
      ['Via', `SIP/2.0/UDP ${alice.ue.address}:${alice.ue.port};branch=z9hG4bKstray`],
      ['Max-Forwards', '70'],
      ['From', `<${ALICE}>;tag=a`],
      ['To', `<${BOB}>;tag=b`],
      ['Call-ID', 'stray-1'],
      ['CSeq', '2 BYE'],
    ]));
    const r = await alice.ue.send(stray, SCSCF);
    expect(r.status).toBe(403);
    expect(r.headers.get('Warning')).toContain('did not record-route');
  });
});

describe('forking to every contact of the callee (RFC 3261 §16.6, TS 24.229 §5.4.3.3)', () => {
  async function twoDevices(m1: CalleeMode, m2: CalleeMode) {
    await startLab();
    const alice = await registered('alice', `${BASE}10`);
    const b1 = await registered('bob', `${BASE}11`);
    const b2 = await registered('bob', `${BASE}12`);
    expect(lab.scscf.store.byImpu(BOB)!.contacts).toHaveLength(2);
    return { alice, b1: new Callee(b1.ue, m1), b2: new Callee(b2.ue, m2), caller: new Caller(alice.ue, alice.serviceRoute, SCSCF) };
  }

  it('one busy, one answering: the INVITE reaches both (each by its own Path), the caller gets the 200', async () => {
    const { b1, b2, caller } = await twoDevices('busy', 'answer');
    const ok = await caller.call(BOB);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('To')).toContain(`tag=${b2.tag}`);
    for (const b of [b1, b2]) {
      const inv = b.received('INVITE')[0]!;
      expect(inv.uri).toBe(b.ue.contact);
      expect(inv.headers.list('Route')).toEqual([`<sip:term@${b.ue.address}:${b.ue.port};lr>`]);
    }
    expect(noteAt('scscf1', 'forking to its 2 contacts')?.clause).toBe('TS 24.229 §5.4.3.3, RFC 3261 §16.6');
    caller.ue.transmit(caller.inDialog('ACK', ok, 1), SCSCF);
    await until(() => b2.received('ACK').length === 1, 3000, 'ACK at the answering device');
  });

  it('one ringing, one answering: the ringing one is cancelled ("Call completed elsewhere"), its 487 stays in the core', async () => {
    const { b1, caller } = await twoDevices('ring', 'answer');
    const ok = await caller.call(BOB);
    expect(ok.status).toBe(200);
    await until(() => b1.received('CANCEL').length > 0, 3000, 'CANCEL at the ringing device');
    expect(b1.received('CANCEL')[0]!.headers.get('Reason')).toBe('SIP;cause=200;text="Call completed elsewhere"');
    await until(() => lab.events.some((e) => e.type === 'packet' && e.node === 'scscf1' && e.direction === 'recv' && e.bytes.toString().startsWith('SIP/2.0 487')), 3000, '487 at the S-CSCF');
    expect(caller.ue.responses.filter((r) => r.status >= 300 && r.headers.get('CSeq') === '1 INVITE')).toHaveLength(0);
    caller.ue.transmit(caller.inDialog('ACK', ok, 1), SCSCF);
  });

  it('both busy: 486 Busy Here reaches the caller', async () => {
    const { caller } = await twoDevices('busy', 'busy');
    const r = await caller.call(BOB);
    caller.ackFailure(r);
    expect(r.status).toBe(486);
  });

  it('the caller cancels while both ring: each device gets a CANCEL, the caller 487', async () => {
    const { b1, b2, caller } = await twoDevices('ring', 'ring');
    const final = caller.call(BOB);
    await until(() => b1.received('INVITE').length > 0 && b2.received('INVITE').length > 0 && caller.ue.responses.some((r) => r.status === 180), 3000, 'ringing');
    expect((await caller.cancel()).status).toBe(200);
    const r = await final;
    caller.ackFailure(r);
    expect(r.status).toBe(487);
    expect(b1.received('CANCEL')).toHaveLength(1);
    expect(b2.received('CANCEL')).toHaveLength(1);
  });
});

describe('no answer (RFC 3261 §16.8 Timer C, §17.1.1.2 Timer B) on a fake clock', () => {
  it('a callee that rings and never answers is cancelled by Timer C: 487', async () => {
    const clock = new FakeClock();
    await startLab({ clock, scscfSettings: { timerC: 90_000 } });
    const alice = await registered('alice', `${BASE}10`);
    const bob = await registered('bob', `${BASE}11`);
    const callee = new Callee(bob.ue, 'ring');
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    const final = caller.call(BOB);
    await until(() => alice.ue.responses.some((r) => r.status === 180), 3000, '180 at the caller');
    expect(callee.received('CANCEL')).toHaveLength(0);
    clock.advance(90_000);
    await until(() => callee.received('CANCEL').length > 0, 3000, 'CANCEL from Timer C');
    const r = await final;
    caller.ackFailure(r);
    expect(r.status).toBe(487);
  });

  it('a contact that never answers at all: Timer B ends the branch, the caller gets 480 with the reason', async () => {
    const clock = new FakeClock();
    await startLab({ clock });
    const alice = await registered('alice', `${BASE}10`);
    const bob = await registered('bob', `${BASE}11`);
    const callee = new Callee(bob.ue, 'silent');
    const caller = new Caller(alice.ue, alice.serviceRoute, SCSCF);
    const final = caller.call(BOB);
    await until(() => callee.received('INVITE').length > 0, 3000, 'INVITE at the silent contact');
    clock.advance(32_000);
    const r = await final;
    caller.ackFailure(r);
    expect(r.status).toBe(480);
    expect(r.headers.get('Warning')).toContain(`no contact of ${BOB} answered`);
    expect(noteAt('scscf1', 'answered 480 instead of 408')?.clause).toBe('TS 24.229 §5.4.3.3, RFC 3261 §21.4.18');
    // Timer A retransmitted the INVITE to the silent contact on the way (500 ms, 1 s, 2 s …).
    expect(callee.received('INVITE').length).toBeGreaterThan(1);
  });
});
