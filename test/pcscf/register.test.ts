import { afterEach, describe, expect, it } from 'vitest';
import { parseChallenge } from '../../src/sip/headers/auth.js';
import type { SipRequest } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { FakeClock } from '../../src/util/clock.js';
import { CK, DOMAIN, IK, IMPI, IMPU, PcscfLab, ScriptedUe, StubCore, imsHeaders, PORT, until, type LabOptions } from './helpers.js';

const PCSCF = { address: '127.0.41.1', port: PORT };
let lab: PcscfLab | undefined;
let closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers = [];
  await lab?.stop();
  lab = undefined;
});

async function setUp(options: LabOptions = {}, withCore = true): Promise<{ ue: ScriptedUe; core: StubCore }> {
  lab = await new PcscfLab(options).start();
  const core = new StubCore('127.0.41.2');
  if (withCore) {
    await core.start();
    closers.push(() => core.close());
  }
  const ue = await new ScriptedUe('127.0.41.10', PCSCF).start();
  closers.push(() => ue.close());
  return { ue, core };
}

/** The raw bytes of the n-th REGISTER the core received, as text. */
function rawRegister(core: StubCore, n: number): string {
  const r = core.received.filter((x) => x.message.kind === 'request' && (x.message as SipRequest).method === 'REGISTER')[n];
  if (!r) throw new Error(`no REGISTER #${n} at the core`);
  return r.raw.toString('latin1');
}

function header(text: string, name: string): string[] {
  return text
    .split('\r\n')
    .filter((l) => l.toLowerCase().startsWith(name.toLowerCase() + ':'))
    .map((l) => l.slice(name.length + 1).trim());
}

/** Runs the two-step IMS AKA registration with sec-agree and returns the 401 and the 200 as the UE saw them. */
async function registerWithSecAgree(ue: ScriptedUe, core: StubCore) {
  const first = ue.register({ headers: imsHeaders(ue) });
  const challenge = await ue.finalFor(first.branch);
  const server = challenge.headers.get('Security-Server')!;
  const nonce = parseChallenge(challenge.headers.get('WWW-Authenticate')!).nonce;
  const second = ue.register({
    headers: imsHeaders(ue, {
      verify: server,
      authorization: `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="${nonce}", response="0123456789abcdef0123456789abcdef", algorithm=AKAv1-MD5, qop=auth, nc=00000001, cnonce="c1"`,
    }),
  });
  const ok = await ue.finalFor(second.branch);
  await until(() => core.requests('REGISTER').length === 2, 2000, 'second REGISTER at the core');
  return { challenge, ok, server };
}

describe('IMS AKA registration with sec-agree through the P-CSCF (TS 24.229 §5.2.2, TS 24.228 §6.2)', () => {
  it('forwards the first REGISTER with Path, Require: path, P-Visited-Network-ID, P-Charging-Vector and no sec-agree', async () => {
    const { ue, core } = await setUp();
    const first = ue.register({ headers: imsHeaders(ue) });
    await ue.finalFor(first.branch);
    const wire = rawRegister(core, 0);
    expect(header(wire, 'Path')[0]).toBe(`<sip:term@127.0.41.1:${PORT};lr>`);
    expect(header(wire, 'Require')).toEqual(['path']);
    expect(header(wire, 'Proxy-Require')).toEqual([]);
    expect(header(wire, 'Security-Client')).toEqual([]);
    expect(header(wire, 'P-Visited-Network-ID')).toEqual(['visited.pcscf.test']);
    const pcv = header(wire, 'P-Charging-Vector')[0]!;
    expect(pcv).toMatch(/^icid-value=[0-9a-f]{32};icid-generated-at=127\.0\.41\.1;orig-ioi=visited\.pcscf\.test$/);
    expect(header(wire, 'Authorization')[0]).toMatch(/integrity-protected="no"$/);
    expect(header(wire, 'Via')[0]).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.41\\.1:${PORT};branch=z9hG4bK`));
    expect(header(wire, 'Record-Route')).toEqual([]);
    expect(header(wire, 'Max-Forwards')).toEqual(['69']);
    // What the UE sent and the core does not need stays: P-Access-Network-Info, Supported.
    expect(header(wire, 'P-Access-Network-Info')).toHaveLength(1);
    expect(header(wire, 'Supported')).toEqual(['path']);
  });

  it('takes ck/ik out of the 401, adds Security-Server, and marks the protected REGISTER integrity-protected="yes"', async () => {
    const { ue, core } = await setUp();
    const { challenge, ok, server } = await registerWithSecAgree(ue, core);
    expect(challenge.status).toBe(401);
    const raw401 = ue.received.find((r) => r.message === challenge)!.raw.toString('latin1');
    expect(raw401).not.toContain(CK);
    expect(raw401).not.toContain(IK);
    expect(raw401).not.toMatch(/\b(ck|ik)=/);
    const www = parseChallenge(challenge.headers.get('WWW-Authenticate')!);
    expect(www.algorithm).toBe('AKAv1-MD5');
    expect(www.qop).toEqual(['auth', 'auth-int']);
    expect(server).toMatch(new RegExp(`^ipsec-3gpp;q=0\\.1;prot=esp;mod=trans;spi-c=\\d+;spi-s=\\d+;port-c=${PORT};port-s=${PORT};alg=hmac-sha-1-96;ealg=null$`));

    const wire2 = rawRegister(core, 1);
    expect(header(wire2, 'Authorization')[0]).toMatch(/integrity-protected="yes"$/);
    expect(header(wire2, 'Security-Verify')).toEqual([]);
    expect(header(wire2, 'Security-Client')).toEqual([]);
    expect(header(wire2, 'Require')).toEqual(['path']);
    // A fresh icid per REGISTER (TS 24.229 §5.2.2.1).
    expect(header(wire2, 'P-Charging-Vector')[0]).not.toBe(header(rawRegister(core, 0), 'P-Charging-Vector')[0]);

    expect(ok.status).toBe(200);
    expect(ok.headers.get('Service-Route')).toBe(core.serviceRoute);
    expect(lab!.notes().some((n) => n.startsWith('sec-agree: SAs recorded (alg hmac-sha-1-96') && n.includes('protection is simulated, no kernel IPsec'))).toBe(true);
  });

  it('stores the registration after the 200: contact, IMPU set, Service-Route, UE address and the SA in use', async () => {
    const { ue, core } = await setUp({ regEvent: false });
    const { server } = await registerWithSecAgree(ue, core);
    const regs = lab!.pcscf.registrations();
    expect(regs).toHaveLength(1);
    const r = regs[0]!;
    expect(r.contact).toBe(ue.contact);
    expect(r.impus).toEqual([IMPU, 'tel:+15550001']);
    expect(r.impi).toBe(IMPI);
    expect(r.serviceRoute).toEqual([core.serviceRoute]);
    expect(r.ue).toEqual({ transport: 'udp', address: '127.0.41.10', port: ue.port });
    expect(r.path).toBe(`<sip:term@127.0.41.1:${PORT};lr>`);
    expect(r.expiresAt - r.registeredAt).toBe(600000 * 1000);
    expect(r.sa?.state).toBe('in-use');
    expect(r.sa?.keys).toEqual({ ck: CK, ik: IK });
    expect(r.sa?.ue).toMatchObject({ spiC: 1111, spiS: 2222 });
    expect(server).toContain(`spi-c=${r.sa!.pcscf.spiC};spi-s=${r.sa!.pcscf.spiS}`);
    expect(lab!.pcscf.pendingSecurityAssociations).toBe(0);
  });

  it('a re-REGISTER over the SA in use is integrity-protected="yes"; Expires 0 removes the registration', async () => {
    const { ue, core } = await setUp({ regEvent: false });
    const { server } = await registerWithSecAgree(ue, core);
    const re = ue.register({ headers: imsHeaders(ue, { verify: server, authorization: `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response=""` }) });
    expect((await ue.finalFor(re.branch)).status).toBe(401); // the stub challenges anything without a response
    expect(header(rawRegister(core, 2), 'Authorization')[0]).toMatch(/integrity-protected="yes"$/);

    const dereg = ue.register({ expires: 0, headers: imsHeaders(ue, { verify: server, authorization: `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="x", response="0123456789abcdef0123456789abcdef"` }) });
    expect((await ue.finalFor(dereg.branch)).status).toBe(200);
    expect(lab!.pcscf.registrations()).toHaveLength(0);
  });

  it('refuses a Security-Verify that does not repeat the Security-Server with 494 and the reason, forwarding nothing', async () => {
    const { ue, core } = await setUp();
    const first = ue.register({ headers: imsHeaders(ue) });
    const challenge = await ue.finalFor(first.branch);
    const server = challenge.headers.get('Security-Server')!;
    const forged = server.replace(/spi-s=(\d+)/, (_m, n: string) => `spi-s=${Number(n) + 1}`);
    const second = ue.register({ headers: imsHeaders(ue, { verify: forged }) });
    const r = await ue.finalFor(second.branch);
    expect(r.status).toBe(494);
    expect(r.reason).toBe('Security Agreement Required');
    expect(r.headers.get('Warning')).toMatch(/^399 127\.0\.41\.1 "Security-Verify does not repeat the Security-Server sent: spi-s=/);
    expect(core.requests('REGISTER')).toHaveLength(1);
    expect(lab!.pcscf.registrations()).toHaveLength(0);
  });

  it('takes a Security-Verify that repeats the Security-Server in other case and spacing (RFC 3329 §2.3.1: compared as parsed)', async () => {
    const { ue, core } = await setUp({ regEvent: false });
    const first = ue.register({ headers: imsHeaders(ue) });
    const server = (await ue.finalFor(first.branch)).headers.get('Security-Server')!;
    const respelled = server.replace('ipsec-3gpp', 'IPSEC-3gpp').replace('alg=', 'ALG=').replace(';q=0.1', ' ; q = 0.1');
    expect(respelled).not.toBe(server);
    const second = ue.register({
      headers: imsHeaders(ue, {
        verify: respelled,
        authorization: `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="n", response="0123456789abcdef0123456789abcdef", algorithm=AKAv1-MD5`,
      }),
    });
    expect((await ue.finalFor(second.branch)).status).toBe(200);
    expect(header(rawRegister(core, 1), 'Authorization')[0]).toMatch(/integrity-protected="yes"$/);
    expect(lab!.pcscf.registrations()[0]?.sa?.state).toBe('in-use');
  });

  it('a Security-Verify for SPIs it never agreed is 494 too', async () => {
    const { ue, core } = await setUp();
    const r = await ue.finalFor(ue.register({ headers: imsHeaders(ue, { verify: 'ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;spi-c=5;spi-s=6;port-c=1;port-s=2' }) }).branch);
    expect(r.status).toBe(494);
    expect(r.headers.get('Warning')).toContain('no security association');
    expect(core.requests('REGISTER')).toHaveLength(0);
  });

  it('overwrites an integrity-protected="yes" that the UE wrote itself', async () => {
    const { ue, core } = await setUp();
    const h = imsHeaders(ue, { authorization: `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response="", integrity-protected="yes"` });
    await ue.finalFor(ue.register({ headers: h }).branch);
    const auth = header(rawRegister(core, 0), 'Authorization')[0]!;
    expect(auth).toMatch(/integrity-protected="no"$/);
    expect(auth.match(/integrity-protected/g)).toHaveLength(1);
  });
});

describe('clients without sec-agree (baresip, linphone, SIPp)', () => {
  it('forwards a plain REGISTER without Security-Server in the 401, still without ck/ik', async () => {
    const { ue, core } = await setUp();
    const r = await ue.finalFor(ue.register().branch);
    expect(r.status).toBe(401);
    expect(r.headers.has('Security-Server')).toBe(false);
    expect(r.headers.get('WWW-Authenticate')).not.toMatch(/\b(ck|ik)=/);
    const wire = rawRegister(core, 0);
    expect(header(wire, 'Path')[0]).toBe(`<sip:term@127.0.41.1:${PORT};lr>`);
    expect(header(wire, 'Require')).toEqual(['path']);
    expect(header(wire, 'Authorization')).toEqual([]);
    expect(lab!.notes().some((n) => n.includes('the UE did not ask for sec-agree'))).toBe(true);
  });

  it('marks SIP digest credentials ip-assoc-pending, then ip-assoc-yes from the registered address', async () => {
    const { ue, core } = await setUp({ regEvent: false });
    const digest = (resp: string) => [['Authorization', `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="n1", response="${resp}", algorithm=MD5`]] as Array<[string, string]>;
    expect((await ue.finalFor(ue.register({ headers: digest('0123456789abcdef0123456789abcdef') }).branch)).status).toBe(200);
    expect(header(rawRegister(core, 0), 'Authorization')[0]).toMatch(/integrity-protected="ip-assoc-pending"$/);
    expect(lab!.pcscf.registrations()[0]?.sa).toBeUndefined();
    expect((await ue.finalFor(ue.register({ headers: digest('0123456789abcdef0123456789abcdef') }).branch)).status).toBe(200);
    expect(header(rawRegister(core, 1), 'Authorization')[0]).toMatch(/integrity-protected="ip-assoc-yes"$/);
  });

  it('an IMS AKA client without sec-agree never gets ip-assoc-yes: its REGISTERs stay integrity-protected="no"', async () => {
    const { ue, core } = await setUp({ regEvent: false });
    const aka: Array<[string, string]> = [['Authorization', `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="n1", response="0123456789abcdef0123456789abcdef", algorithm=AKAv1-MD5`]];
    expect((await ue.finalFor(ue.register({ headers: aka }).branch)).status).toBe(200);
    expect(lab!.pcscf.registrations()[0]?.authentication).toBe('ims-aka');
    const empty: Array<[string, string]> = [['Authorization', `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response=""`]];
    await ue.finalFor(ue.register({ headers: empty }).branch);
    expect(header(rawRegister(core, 1), 'Authorization')[0]).toMatch(/integrity-protected="ip-assoc-pending"$/);
    await ue.finalFor(ue.register({ headers: aka }).branch);
    expect(header(rawRegister(core, 2), 'Authorization')[0]).toMatch(/integrity-protected="no"$/);
  });

  it('with sec-agree switched off, Proxy-Require: sec-agree is 420 Unsupported (RFC 3329 §2.3.1)', async () => {
    const { ue, core } = await setUp({ secAgree: false });
    const r = await ue.finalFor(ue.register({ headers: imsHeaders(ue) }).branch);
    expect(r.status).toBe(420);
    expect(r.headers.get('Unsupported')).toBe('sec-agree');
    expect(core.requests('REGISTER')).toHaveLength(0);
  });
});

describe('bad input and failures', () => {
  it('a REGISTER without Contact, or with an unreadable one, is 400 with the reason; nothing is forwarded', async () => {
    const { ue, core } = await setUp();
    const a = await ue.finalFor(ue.register({ omit: ['Contact'] }).branch);
    expect(a.status).toBe(400);
    expect(a.headers.get('Warning')).toContain('REGISTER without Contact');
    const b = await ue.finalFor(ue.register({ omit: ['Contact'], headers: [['Contact', '<sip:x@127.0.41.10>;q=7']] }).branch);
    expect(b.status).toBe(400);
    expect(b.headers.get('Warning')).toContain('unreadable REGISTER');
    const c = await ue.finalFor(ue.register({ omit: ['Contact'], headers: [['Contact', '*']] }).branch);
    expect(c.status).toBe(400);
    expect(c.headers.get('Warning')).toContain('Contact * needs Expires: 0');
    expect(core.requests('REGISTER')).toHaveLength(0);
    // The node still serves.
    expect((await ue.finalFor(ue.register({ headers: imsHeaders(ue) }).branch)).status).toBe(401);
  });

  it('a REGISTER without From cannot be answered (§8.2.6.2 copies From): dropped with a note, the node keeps serving', async () => {
    const { ue, core } = await setUp();
    ue.register({ omit: ['From'] });
    await until(() => lab!.events.some((e) => e.type === 'note' && e.node === 'pcscf1' && e.text.includes('Missing From')), 2000, 'drop note');
    expect(core.requests('REGISTER')).toHaveLength(0);
    expect((await ue.finalFor(ue.register().branch)).status).toBe(401);
  });

  it('a garbage Security-Client is refused, not crashed on', async () => {
    const { ue, core } = await setUp();
    const h = imsHeaders(ue).map(([n, v]) => (n === 'Security-Client' ? [n, 'ipsec-3gpp;alg=hmac-sha-1-96;spi-c=notanumber;spi-s=2;port-c=1;port-s=2'] : [n, v])) as Array<[string, string]>;
    const r = await ue.finalFor(ue.register({ headers: h }).branch);
    expect(r.status).toBe(400);
    expect(r.headers.get('Warning')).toContain('spi-c');
    const noOffer = imsHeaders(ue).map(([n, v]) => (n === 'Security-Client' ? [n, 'ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1'] : [n, v])) as Array<[string, string]>;
    const r2 = await ue.finalFor(ue.register({ headers: noOffer }).branch);
    expect(r2.status).toBe(494);
    expect(r2.headers.get('Warning')).toContain('lacks spi-s, port-c, port-s');
    expect(core.requests('REGISTER')).toHaveLength(0);
  });

  it('an I-CSCF that never answers is a 504 Server Time-out with the reason, after Timer F', async () => {
    const { ue } = await setUp({ icscf: `sip:127.0.41.3:${PORT}`, t1: 10 }, false);
    const started = Date.now();
    const r = await ue.finalFor(ue.register({ headers: imsHeaders(ue) }).branch, 5000);
    expect(r.status).toBe(504);
    expect(r.reason).toBe('Server Time-out');
    expect(r.headers.get('Warning')).toContain('did not answer in time (Timer F)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(64 * 10 - 50);
    expect(lab!.pcscf.registrations()).toHaveLength(0);
  });

  it('an I-CSCF name the directory does not know is a 504 at once', async () => {
    const { ue } = await setUp({ icscf: 'icscf-missing' }, false);
    const r = await ue.finalFor(ue.register().branch);
    expect(r.status).toBe(504);
    expect(r.headers.get('Warning')).toContain('cannot be resolved');
  });
});

describe('registration lifetime', () => {
  it('expires a registration on its own timer (FakeClock)', async () => {
    const clock = new FakeClock();
    const { ue, core } = await setUp({ clock, regEvent: false });
    core.decide = (r) => (/response="[0-9a-f]+"/.test(r.headers.get('Authorization') ?? '') ? core.ok(r, 120) : undefined);
    const digest: Array<[string, string]> = [['Authorization', `Digest username="${IMPI}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="n1", response="00", algorithm=MD5`]];
    expect((await ue.finalFor(ue.register({ headers: digest }).branch)).status).toBe(200);
    expect(lab!.pcscf.registrations()).toHaveLength(1);
    clock.advance(119_000);
    expect(lab!.pcscf.registrations()).toHaveLength(1);
    clock.advance(1_000);
    expect(lab!.pcscf.registrations()).toHaveLength(0);
  });
});

describe('reg event (TS 24.229 §5.2.3, §5.2.5.1)', () => {
  it('subscribes toward the Service-Route after the 200, answers NOTIFYs, and forgets a deactivated contact', async () => {
    const { ue, core } = await setUp();
    await registerWithSecAgree(ue, core);
    await until(() => core.subscribe !== undefined, 3000, 'SUBSCRIBE at the core');
    const sub = core.subscribe!;
    const raw = core.received.find((x) => x.message === sub)!.raw.toString('latin1');
    expect(sub.uri).toBe(IMPU);
    expect(header(raw, 'Route')).toEqual([core.serviceRoute]);
    expect(header(raw, 'Event')).toEqual(['reg']);
    expect(header(raw, 'Expires')).toEqual(['600000']);
    expect(header(raw, 'Accept')).toEqual(['application/reginfo+xml']);
    expect(header(raw, 'From')[0]).toMatch(new RegExp(`^<sip:pcscf@127\\.0\\.41\\.1:${PORT}>;tag=`));
    expect(header(raw, 'To')[0]).toBe(`<${IMPU}>`);
    expect(header(raw, 'P-Asserted-Identity')).toEqual([`<sip:pcscf@127.0.41.1:${PORT}>`]);
    expect(header(raw, 'P-Charging-Vector')[0]).toMatch(/^icid-value=[0-9a-f]{32}/);
    expect(header(raw, 'Contact')[0]).toBe(`<sip:pcscf@127.0.41.1:${PORT}>`);

    // The full NOTIFY the stub sent at once is answered 200 by the P-CSCF's UA.
    await until(() => core.responses().some((r) => r.status === 200 && (r.headers.get('CSeq') ?? '').endsWith('NOTIFY')), 3000, '200 to NOTIFY');
    expect(lab!.pcscf.registrations()).toHaveLength(1);
    expect(lab!.pcscf.regEventSubscriber?.size).toBe(1);

    const n = core.notify(sub, 1, 'active;expires=599000', core.reginfo(1, 'partial', 'active', 'terminated', 'deactivated'));
    await until(() => core.responses().some((r) => r.headers.get('CSeq') === n.headers.get('CSeq') && r.status === 200), 3000, '200 to the second NOTIFY');
    await until(() => lab!.pcscf.registrations().length === 0, 3000, 'registration removed');
    expect(lab!.notes().some((t) => t.includes('deactivated') && t.includes('forgotten'))).toBe(true);
    // No registration left for the default identity: the subscription is dropped locally.
    expect(lab!.pcscf.regEventSubscriber?.size).toBe(0);
  });

  it('a NOTIFY with a terminated registration element removes every contact of that identity', async () => {
    const { ue, core } = await setUp();
    await registerWithSecAgree(ue, core);
    await until(() => core.subscribe !== undefined, 3000, 'SUBSCRIBE');
    await until(() => core.responses().some((r) => (r.headers.get('CSeq') ?? '').endsWith('NOTIFY')), 3000, 'first NOTIFY answered');
    core.notify(core.subscribe!, 1, 'terminated;reason=rejected', core.reginfo(1, 'partial', 'terminated', 'terminated', 'rejected'));
    await until(() => lab!.pcscf.registrations().length === 0, 3000, 'registration removed');
  });

  it('a NOTIFY with an unreadable body is answered and changes nothing', async () => {
    const { ue, core } = await setUp();
    await registerWithSecAgree(ue, core);
    await until(() => core.subscribe !== undefined, 3000, 'SUBSCRIBE');
    const n = core.notify(core.subscribe!, 1, 'active;expires=500', '<reginfo><oops');
    await until(() => core.responses().some((r) => r.headers.get('CSeq') === n.headers.get('CSeq')), 3000, 'answer to the bad NOTIFY');
    expect(lab!.pcscf.registrations()).toHaveLength(1);
    expect(lab!.notes().some((t) => t.includes('unreadable reginfo body'))).toBe(true);
  });
});

describe('reg-event refresh and shutdown', () => {
  it('re-SUBSCRIBEs in the dialog before the subscription expires, and leaves no timer behind on stop (FakeClock)', async () => {
    const clock = new FakeClock();
    const { ue, core } = await setUp({ clock });
    core.subscriptionExpires = 1200;
    await registerWithSecAgree(ue, core);
    await until(() => core.subscribe !== undefined, 3000, 'SUBSCRIBE');
    await until(() => core.responses().some((r) => (r.headers.get('CSeq') ?? '').endsWith('NOTIFY')), 3000, 'NOTIFY answered');
    expect(core.requests('SUBSCRIBE')).toHaveLength(1);
    clock.advance(599_000);
    expect(core.requests('SUBSCRIBE')).toHaveLength(1);
    clock.advance(1_000); // TS 24.229 §5.1.1.3 rule, shared: half of a grant up to 1200 s
    await until(() => core.requests('SUBSCRIBE').length === 2, 3000, 'refreshing SUBSCRIBE');
    const refresh = core.requests('SUBSCRIBE')[1]!;
    expect(refresh.headers.get('Call-ID')).toBe(core.subscribe!.headers.get('Call-ID'));
    expect(refresh.headers.get('To')).toContain('tag=stubsub');
    expect(refresh.headers.get('Event')).toBe('reg');
    await lab!.stop();
    lab = undefined;
    expect(clock.pending).toBe(0);
  });
});

describe('trace', () => {
  it('every packet of the P-CSCF is on the trace bus with its bytes', async () => {
    const { ue, core } = await setUp({ regEvent: false });
    await registerWithSecAgree(ue, core);
    const sent = lab!.events.filter((e) => e.type === 'packet' && e.node === 'pcscf1' && e.direction === 'send');
    const methods = sent.map((e) => parseMessage((e as { bytes: Buffer }).bytes)).map((m) => (m.kind === 'request' ? m.method : String(m.status)));
    expect(methods).toEqual(expect.arrayContaining(['REGISTER', '401', 'REGISTER', '200']));
  });
});
