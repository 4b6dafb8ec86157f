import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Milenage, computeOpc } from '../../src/aka/milenage.js';
import { CxCommandCode } from '../../src/diameter/cx/constants.js';
import { parseChallenge } from '../../src/sip/headers/auth.js';
import { Headers, SipRequest } from '../../src/sip/message.js';
import { parseReginfoSafe } from './helpers/reginfo.js';
import { ALICE, BOB, CAROL, DOMAIN, K, Lab, OP, ScriptedUe, aliceUsim, until } from './helpers/lab.js';

let lab: Lab;
let ues: ScriptedUe[];

async function ue(who: 'alice' | 'bob' | 'carol' | 'nobody', opts: { sqnMs?: number; wrongK?: boolean; direct?: boolean } = {}): Promise<ScriptedUe> {
  const next = opts.direct ? { address: lab.ips.scscf, port: 5060 } : { address: lab.ips.icscf, port: 5060 };
  const impi = `${who}@${DOMAIN}`;
  const secret =
    who === 'bob'
      ? { password: 'bob-secret' }
      : {
          usim: opts.wrongK
            ? new (await import('../../src/aka/usim.js')).Usim({ k: Buffer.alloc(16, 7), op: OP })
            : aliceUsim(opts.sqnMs),
        };
  const u = await new ScriptedUe(lab.ips.ue, impi, `sip:${who}@${DOMAIN}`, secret, next).start();
  ues.push(u);
  return u;
}

beforeEach(async () => {
  ues = [];
  lab = await new Lab().start();
});

afterEach(async () => {
  for (const u of ues) await u.close();
  await lab.stop();
});

describe('IMS AKA registration through the I-CSCF (TS 24.229 §5.3.1.2, §5.4.1.2)', () => {
  it('401 with an AKA challenge from the MAA vector, then 200 with Path, Service-Route, P-Associated-URI, Contact; HSS says REGISTERED', async () => {
    const alice = await ue('alice');
    const { challenge, final } = await alice.registerFully();

    expect(challenge.status).toBe(401);
    const ch = parseChallenge(challenge.headers.get('WWW-Authenticate')!);
    expect(ch.realm).toBe(DOMAIN);
    expect(ch.algorithm).toBe('AKAv1-MD5');
    expect(ch.qop).toEqual(['auth', 'auth-int']);
    const raw = Buffer.from(ch.nonce!, 'base64');
    expect(raw).toHaveLength(32);
    // ck/ik are Milenage f3/f4 of the RAND in the nonce (TS 35.206), in hex for the P-CSCF.
    const m = new Milenage(K, computeOpc(K, OP));
    const { ck, ik } = m.f2345(raw.subarray(0, 16));
    expect(ch.ck).toBe(ck.toString('hex'));
    expect(ch.ik).toBe(ik.toString('hex'));

    expect(final.status).toBe(200);
    expect(final.headers.getAll('Path')).toEqual([`<sip:term@${alice.address}:${alice.port};lr>`]);
    expect(final.headers.get('Service-Route')).toBe(`<sip:orig@${lab.ips.scscf}:5060;lr>`);
    // Implicit set without the barred identity, default first (RFC 3455 §4.1, TS 29.228 Annex B.2.1).
    expect(final.headers.list('P-Associated-URI')).toEqual([`<sip:alice@${DOMAIN}>`, '<tel:+15550001>']);
    const contact = final.headers.get('Contact')!;
    expect(contact).toContain(`<${alice.contact}>`);
    expect(contact).toMatch(/;expires=600000\b/);
    expect(contact).toContain('+sip.instance=');
    expect(final.headers.get('Supported')).toBe('path');
    expect(final.headers.get('Date')).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(final.headers.has('Record-Route')).toBe(false);

    // The HSS: UAR, MAR, UAR, SAR, and the identities REGISTERED at this S-CSCF.
    expect(lab.hssReceived()).toEqual([CxCommandCode.UserAuthorization, CxCommandCode.MultimediaAuth, CxCommandCode.UserAuthorization, CxCommandCode.ServerAssignment]);
    for (const p of ALICE.impus) expect(lab.store.getRegistration(p.uri)).toMatchObject({ state: 'REGISTERED', serverName: lab.scscf.serverName });
    // The REGISTER reached the S-CSCF with the I-CSCF's Via under nothing of its own added in the path.
    const at200 = lab.sipSent('scscf1').find((s) => s.kind === 'response' && s.status === 200)!;
    expect(at200.headers.list('Via')).toHaveLength(2);
    expect(at200.headers.list('Via')[0]).toContain(lab.ips.icscf);
    expect(lab.scscf.store.byImpu('tel:+15550001')?.contacts).toHaveLength(1);
  });

  it('SIP Digest: 401 with a random nonce, qop auth, realm from the HSS; the answer verified with H(A1)', async () => {
    const bob = await ue('bob');
    const { challenge, final } = await bob.registerFully({ expires: 3600 });
    const ch = parseChallenge(challenge.headers.get('WWW-Authenticate')!);
    expect(ch).toMatchObject({ algorithm: 'MD5', qop: ['auth'], realm: DOMAIN });
    expect(ch.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(ch.ck).toBeUndefined();
    expect(final.status).toBe(200);
    expect(final.headers.get('Contact')).toMatch(/;expires=3600\b/);
    expect(lab.store.getRegistration(BOB.impus[0]!.uri).state).toBe('REGISTERED');
  });

  it('a UE with the wrong K: exactly one 401, then 403 with a reason, the doctor named, nothing registered', async () => {
    const eve = await ue('alice', { wrongK: true });
    const first = await eve.register();
    expect(first.status).toBe(401);
    const { authorization, outcome } = eve.answer(first.headers.get('WWW-Authenticate')!);
    expect(outcome).toBe('mac-failure');
    const second = await eve.register({ authorization });
    expect(second.status).toBe(403);
    expect(second.headers.get('Warning')).toMatch(/^399 127\.0\.42\.3:5060 "authentication failed: .*MAC failure/);
    expect(lab.notes('scscf1').some((t) => t.includes('imslab aka doctor'))).toBe(true);
    expect(lab.sipSent('scscf1').filter((s) => s.kind === 'response' && s.status === 401)).toHaveLength(1);
    expect(lab.store.getRegistration(ALICE.impus[0]!.uri).state).toBe('NOT_REGISTERED');
    expect(lab.scscf.store.byImpi(ALICE.impi)).toBeUndefined();
  });

  it('a wrong RES (right K, tampered response): 403, the challenge is spent — replaying it is challenged anew', async () => {
    const alice = await ue('alice');
    const first = await alice.register();
    const { authorization } = alice.answer(first.headers.get('WWW-Authenticate')!);
    const tampered = authorization.replace(/response="([0-9a-f])/, (_, c: string) => `response="${c === '0' ? '1' : '0'}`);
    expect((await alice.register({ authorization: tampered })).status).toBe(403);
    // The same nonce is no longer pending: a replay of the correct answer is not accepted but challenged.
    expect((await alice.register({ authorization })).status).toBe(401);
  });

  it('unknown IMPI: the I-CSCF answers 403 from UAA DIAMETER_ERROR_USER_UNKNOWN, no S-CSCF involved', async () => {
    const nobody = await ue('nobody');
    const r = await nobody.register();
    expect(r.status).toBe(403);
    expect(r.headers.get('Warning')).toContain('unknown user');
    expect(lab.sipSent('scscf1')).toHaveLength(0);
  });

  it('a subscription whose identities are all barred: 403 at the I-CSCF (UAA DIAMETER_AUTHORIZATION_REJECTED)', async () => {
    const carol = await ue('carol');
    const r = await carol.register();
    expect(r.status).toBe(403);
    expect(r.headers.get('Warning')).toContain('barred');
    expect(lab.store.getRegistration(CAROL.impus[0]!.uri).state).toBe('NOT_REGISTERED');
  });

  it('resync: the UE is ahead of the HSS, answers with auts; MAR carries RAND‖AUTS; the second challenge works', async () => {
    const alice = await ue('alice', { sqnMs: 5000 });
    const first = await alice.register();
    const a1 = alice.answer(first.headers.get('WWW-Authenticate')!);
    expect(a1.outcome).toBe('sync-failure');
    const second = await alice.register({ authorization: a1.authorization });
    expect(second.status).toBe(401);
    expect(second.headers.get('WWW-Authenticate')).not.toBe(first.headers.get('WWW-Authenticate'));
    const a2 = alice.answer(second.headers.get('WWW-Authenticate')!);
    expect(a2.outcome).toBe('ok');
    expect((await alice.register({ authorization: a2.authorization })).status).toBe(200);
    expect(lab.notes('hss1').some((t) => t.includes('resynchronised'))).toBe(true);
    expect(lab.notes('scscf1').some((t) => t.includes('synchronisation failure'))).toBe(true);
  });

  it('re-registration: challenged again without integrity protection (SAR RE_REGISTRATION); with integrity-protected="yes" straight to 200', async () => {
    const alice = await ue('alice');
    expect((await alice.registerFully()).final.status).toBe(200);
    const again = await alice.registerFully({ expires: 1200 });
    expect(again.challenge.status).toBe(401);
    expect(again.final.status).toBe(200);
    expect(again.final.headers.get('Contact')).toMatch(/;expires=1200\b/);
    const sars = lab.hssReceived().filter((c) => c === CxCommandCode.ServerAssignment).length;
    expect(sars).toBe(2);
    expect(lab.notes('hss1').filter((t) => t.startsWith('SAR RE_REGISTRATION'))).toHaveLength(1);

    const marsBefore = lab.hssReceived().filter((c) => c === CxCommandCode.MultimediaAuth).length;
    const protectedAuth = `Digest username="${ALICE.impi}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response="", integrity-protected="yes"`;
    const direct = await alice.register({ authorization: protectedAuth, expires: 900 });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('Contact')).toMatch(/;expires=900\b/);
    expect(lab.hssReceived().filter((c) => c === CxCommandCode.MultimediaAuth).length).toBe(marsBefore);
  });

  it('de-registration with Expires 0: SAR USER_DEREGISTRATION, 200 without contacts, HSS state back to NOT_REGISTERED', async () => {
    const alice = await ue('alice');
    expect((await alice.registerFully()).final.status).toBe(200);
    const { final } = await alice.registerFully({ expires: 0 });
    expect(final.status).toBe(200);
    expect(final.headers.has('Contact')).toBe(false);
    expect(lab.notes('hss1').some((t) => t.startsWith('SAR USER_DEREGISTRATION'))).toBe(true);
    expect(lab.store.getRegistration(ALICE.impus[0]!.uri).state).toBe('NOT_REGISTERED');
    expect(lab.scscf.store.byImpi(ALICE.impi)).toBeUndefined();
  });

  it('Contact: * with Expires: 0 removes every binding (RFC 3261 §10.3 step 6); "*" with another Expires is 400', async () => {
    const alice = await ue('alice');
    expect((await alice.registerFully()).final.status).toBe(200);
    const protectedAuth = `Digest username="${ALICE.impi}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response="", integrity-protected="yes"`;
    expect((await alice.register({ authorization: protectedAuth, contact: '*', expires: 10 })).status).toBe(400);
    expect(lab.scscf.store.byImpi(ALICE.impi)?.contacts).toHaveLength(1);
    const r = await alice.register({ authorization: protectedAuth, contact: '*', expires: 0 });
    expect(r.status).toBe(200);
    expect(lab.scscf.store.byImpi(ALICE.impi)).toBeUndefined();
    expect(lab.store.getRegistration(ALICE.impus[0]!.uri).state).toBe('NOT_REGISTERED');
  });

  it('an expiry below Min-Expires is 423 with Min-Expires (RFC 3261 §10.3 step 7)', async () => {
    await lab.stop();
    lab = await new Lab({ scscfSettings: { minExpires: 60 } }).start();
    const alice = await ue('alice');
    const r = await alice.registerFully({ expires: 30 });
    expect(r.final.status).toBe(423);
    expect(r.final.headers.get('Min-Expires')).toBe('60');
  });

  it('a binding that expires goes, and the HSS hears SAR TIMEOUT_DEREGISTRATION', async () => {
    const alice = await ue('alice');
    expect((await alice.registerFully({ expires: 1 })).final.status).toBe(200);
    expect(lab.store.getRegistration(ALICE.impus[0]!.uri).state).toBe('REGISTERED');
    await until(() => lab.store.getRegistration(ALICE.impus[0]!.uri).state === 'NOT_REGISTERED', 4000, 'timeout de-registration');
    expect(lab.notes('hss1').some((t) => t.startsWith('SAR TIMEOUT_DEREGISTRATION'))).toBe(true);
    expect(lab.scscf.store.byImpi(ALICE.impi)).toBeUndefined();
  });

  it('RTR from the HSS removes the registration, answers RTA 2001, and the reg event watcher gets a terminated NOTIFY', async () => {
    const alice = await ue('alice');
    expect((await alice.registerFully()).final.status).toBe(200);
    expect((await alice.subscribe({ address: lab.ips.scscf, port: 5060 })).status).toBe(200);
    await until(() => alice.notifies.length === 1, 3000, 'first NOTIFY');
    const rta = await lab.hss.deregister(ALICE.impi);
    expect(rta.resultCode).toBe(2001);
    expect(lab.scscf.store.byImpi(ALICE.impi)).toBeUndefined();
    expect(lab.store.getRegistration(ALICE.impus[0]!.uri).state).toBe('NOT_REGISTERED');
    await until(() => alice.notifies.length === 2, 3000, 'terminating NOTIFY');
    const last = alice.notifies[1]!;
    expect(last.headers.get('Subscription-State')).toBe('terminated;reason=rejected');
    const info = parseReginfoSafe(last.body.toString());
    expect(info.version).toBe(1);
    expect(info.registrations.map((r) => r.state)).toEqual(['terminated', 'terminated']);
    expect(info.registrations[0]!.contacts[0]).toMatchObject({ state: 'terminated', event: 'rejected' });
  });

  it('a REGISTER straight to the S-CSCF works the same (the I-CSCF is not needed for the registrar)', async () => {
    const alice = await ue('alice', { direct: true });
    expect((await alice.registerFully()).final.status).toBe(200);
  });
});

describe('reg event (RFC 3680, TS 24.229 §5.4.2.1)', () => {
  it('SUBSCRIBE → 200 with Expires, then a full NOTIFY version 0 listing every non-barred identity with the contact', async () => {
    const alice = await ue('alice');
    expect((await alice.registerFully()).final.status).toBe(200);
    const r = await alice.subscribe({ address: lab.ips.scscf, port: 5060 });
    expect(r.status).toBe(200);
    expect(r.headers.get('Expires')).toBe('600000');
    expect(r.headers.get('Contact')).toBe(`<sip:${lab.ips.scscf}:5060>`);
    await until(() => alice.notifies.length === 1, 3000, 'NOTIFY');
    const n = alice.notifies[0]!;
    expect(n.uri).toBe(alice.contact);
    expect(n.headers.get('Event')).toBe('reg');
    expect(n.headers.get('Subscription-State')).toMatch(/^active;expires=(600000|599999)$/);
    expect(n.headers.get('Content-Type')).toBe('application/reginfo+xml');
    expect(n.headers.get('To')).toBe(`<sip:alice@${DOMAIN}>;tag=${alice.tag}s`);
    const info = parseReginfoSafe(n.body.toString());
    expect(info).toMatchObject({ version: 0, state: 'full' });
    expect(info.registrations.map((x) => x.aor)).toEqual([`sip:alice@${DOMAIN}`, 'tel:+15550001']);
    const c = info.registrations[0]!.contacts[0]!;
    expect(c).toMatchObject({ state: 'active', event: 'registered', uri: alice.contact, callId: alice.callId });
    expect(c.unknownParams.map(([k]) => k)).toContain('+sip.instance');

    // A re-registration is a partial NOTIFY with the refreshed contact.
    const protectedAuth = `Digest username="${ALICE.impi}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response="", integrity-protected="yes"`;
    expect((await alice.register({ authorization: protectedAuth, expires: 300 })).status).toBe(200);
    await until(() => alice.notifies.length === 2, 3000, 'partial NOTIFY');
    const p = parseReginfoSafe(alice.notifies[1]!.body.toString());
    expect(p).toMatchObject({ version: 1, state: 'partial' });
    expect(p.registrations[0]!.contacts[0]).toMatchObject({ event: 'shortened', expires: 300 });

    // User de-registration ends the subscription with a terminated NOTIFY.
    expect((await alice.register({ authorization: protectedAuth, expires: 0 })).status).toBe(200);
    await until(() => alice.notifies.length === 3, 3000, 'terminated NOTIFY');
    expect(alice.notifies[2]!.headers.get('Subscription-State')).toBe('terminated;reason=noresource');
    const t = parseReginfoSafe(alice.notifies[2]!.body.toString());
    expect(t.registrations[0]!.contacts[0]).toMatchObject({ state: 'terminated', event: 'unregistered' });
    expect(lab.scscf.regEvent.subscriptions).toHaveLength(0);
  });

  it('SUBSCRIBE for an identity not registered here is refused with a reason; another event package is 489', async () => {
    const alice = await ue('alice');
    const r = await alice.subscribe({ address: lab.ips.scscf, port: 5060 });
    expect(r.status).toBe(480);
    expect(r.headers.get('Warning')).toContain('not registered');
    expect(alice.notifies).toHaveLength(0);

    expect((await alice.registerFully()).final.status).toBe(200);
    const presence = new SipRequest('SUBSCRIBE', alice.impu, Headers.from([
      ['Via', `SIP/2.0/UDP ${alice.address}:${alice.port};branch=z9hG4bKpresence1`],
      ['Max-Forwards', '70'],
      ['From', `<${alice.impu}>;tag=p1`],
      ['To', `<${alice.impu}>`],
      ['Call-ID', 'presence-1'],
      ['CSeq', '1 SUBSCRIBE'],
      ['Contact', `<${alice.contact}>`],
      ['Event', 'presence'],
    ]));
    const bad = await alice.send(presence, { address: lab.ips.scscf, port: 5060 });
    expect(bad.status).toBe(489);
    expect(bad.headers.get('Allow-Events')).toBe('reg');
  });

  it('a watcher that is neither the user nor its P-CSCF gets 403', async () => {
    const alice = await ue('alice');
    expect((await alice.registerFully()).final.status).toBe(200);
    const stranger = new SipRequest('SUBSCRIBE', alice.impu, Headers.from([
      ['Via', `SIP/2.0/UDP ${alice.address}:${alice.port};branch=z9hG4bKstranger1`],
      ['Max-Forwards', '70'],
      ['From', `<sip:mallory@elsewhere.test>;tag=m1`],
      ['To', `<${alice.impu}>`],
      ['Call-ID', 'stranger-1'],
      ['CSeq', '1 SUBSCRIBE'],
      ['Contact', '<sip:mallory@127.0.42.99:5060>'],
      ['Event', 'reg'],
    ]));
    // Sent from an address that is not on alice's Path.
    const other = await new ScriptedUe('127.0.42.11', 'mallory@elsewhere.test', 'sip:mallory@elsewhere.test', {}, { address: lab.ips.scscf, port: 5060 }).start();
    ues.push(other);
    stranger.headers.set('Via', `SIP/2.0/UDP 127.0.42.11:${other.port};branch=z9hG4bKstranger1`);
    const r = await other.send(stranger);
    expect(r.status).toBe(403);
    expect(lab.scscf.regEvent.subscriptions).toHaveLength(0);
  });
});

describe('an HSS that does not answer', () => {
  it('HSS down: the I-CSCF answers 504 at once with the reason', async () => {
    await lab.hss.stop();
    const alice = await ue('alice');
    const t0 = Date.now();
    const r = await alice.register();
    expect(r.status).toBe(504);
    expect(r.headers.get('Warning')).toContain('HSS not reachable');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a silent HSS (accepts TCP, never answers): 504 within the Diameter timeout', async () => {
    await lab.stop();
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((res) => silent.listen(3868, '127.0.42.4', () => res()));
    try {
      lab = await new Lab({ noHss: true, icscfSettings: { diameterTimeoutMs: 800 } }).start();
      const alice = await ue('alice');
      const t0 = Date.now();
      const r = await alice.register();
      expect(r.status).toBe(504);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => silent.close(() => res()));
    }
  });
});
