import { describe, expect, it } from 'vitest';
import { computeOpc, Milenage } from '../../src/aka/milenage.js';
import { joinSqn } from '../../src/aka/sqn.js';
import { generateVector } from '../../src/aka/vector.js';
import { ConformanceReport } from '../../src/report/conformance.js';
import type { ReportJson, UeJson } from '../../src/report/model.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderJson } from '../../src/report/render-json.js';
import { DEFAULT_LOG_LIMITS } from '../../src/report/ue-log.js';
import { akaPassword, computeDigestResponse, encodeAkaNonce } from '../../src/sip/auth/digest.js';
import { TraceBus } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { DOMAIN, PCSCF, register, request, respond, SERVICE_ROUTE, sip, Trace } from './flows.js';

const KNOWN = ['127.0.1.1', '127.0.2.1', '127.0.3.1', '127.0.4.1', '127.0.10.1', '127.0.10.2'];
const newReport = (extra: Partial<ConstructorParameters<typeof ConformanceReport>[0]> = {}) =>
  new ConformanceReport({ knownAddresses: KNOWN, pcscfAddresses: ['127.0.1.1'], ...extra });

const h = (s: string) => Buffer.from(s, 'hex');
const K = h('0396eb317b6d1c36f19c1c84cd6ffd16');
const OP = h('ff53bade17df5d4e793073ce9d7579fa');
const OPC = computeOpc(K, OP);
const AMF = h('8000');
const random = new SeededRandom('report');

function akaChallenge() {
  const v = generateVector({ k: K, opc: OPC, sqn: joinSqn(42, 1), amf: AMF, rand: random.bytes(16) });
  return encodeAkaNonce(v);
}

/** The Authorization a UE holding OPc = `opc` sends for that nonce (RFC 3310 §3.2, AKAv1-MD5). */
function akaAuthorization(impi: string, nonce: string, opc: Buffer): string {
  const rand = Buffer.from(nonce, 'base64').subarray(0, 16);
  const { res } = new Milenage(K, opc).f2345(rand);
  const base = { username: impi, realm: DOMAIN, uri: `sip:${DOMAIN}`, method: 'REGISTER', nonce, nc: '00000001', cnonce: 'c0ffee01', qop: 'auth' as const, algorithm: 'AKAv1-MD5' };
  const response = computeDigestResponse({ ...base, password: akaPassword(1, res) });
  return `Digest username="${impi}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="${nonce}", response="${response}", algorithm=AKAv1-MD5, qop=auth, nc=00000001, cnonce="c0ffee01"`;
}

function req(ue: UeJson, id: string) {
  const r = ue.requirements.find((x) => x.id === id);
  if (!r) throw new Error(`no requirement ${id}`);
  return r;
}

function statuses(ue: UeJson): Record<string, string> {
  return Object.fromEntries(ue.requirements.map((r) => [r.id, r.status]));
}

const ALICE = { address: '127.0.0.1', port: 5070 };
const ALICE_C = { address: '127.0.0.1', port: 5072 };
const SEC_CLIENT = 'Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=1111;spi-s=2222;port-c=5072;port-s=5073';
const SEC_SERVER_VALUE = 'ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=null;spi-c=3333;spi-s=4444;port-c=5062;port-s=5064';
const IMS_HEADERS = ['Supported: path, sec-agree', SEC_CLIENT, 'Require: sec-agree', 'Proxy-Require: sec-agree'];
const ALICE_CONTACT = '<sip:alice@127.0.0.1:5073>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-00000000a11c>"';
const PCSCF_ROUTE = 'Route: <sip:127.0.1.1:5064;lr>, ' + SERVICE_ROUTE;

/** A UE doing everything TS 24.229 §5.1 asks: AKA with sec-agree, reg event, refresh at half time, de-registration. */
function conformingUe(t: Trace): void {
  const impi = `alice@${DOMAIN}`;
  const reg1 = register({
    ue: ALICE, user: 'alice', cseq: 1, branch: 'z9hG4bKa1', contact: ALICE_CONTACT, extra: IMS_HEADERS,
    authorization: `Digest username="${impi}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response=""`,
  });
  t.fromUe(0, ALICE, reg1);
  const nonce = akaChallenge();
  t.toUe(40, ALICE, respond(reg1, '401 Unauthorized', [`WWW-Authenticate: Digest realm="${DOMAIN}", nonce="${nonce}", algorithm=AKAv1-MD5, qop="auth"`, `Security-Server: ${SEC_SERVER_VALUE}`]));
  const verify = [`Security-Verify: ${SEC_SERVER_VALUE}`];
  const protectedRegister = (cseq: number, branch: string, expires: number) =>
    register({ ue: ALICE_C, user: 'alice', cseq, branch, contact: ALICE_CONTACT, extra: [...IMS_HEADERS, ...verify], authorization: akaAuthorization(impi, nonce, OPC), expires, callId: 'alice-reg@127.0.0.1' });
  const ok = (r: string, seconds: number) =>
    respond(r, '200 OK', [`Contact: ${ALICE_CONTACT};expires=${seconds}`, `Service-Route: ${SERVICE_ROUTE}`, `P-Associated-URI: <sip:alice@${DOMAIN}>, <tel:+15550001>`]);
  const reg2 = protectedRegister(2, 'z9hG4bKa2', 600000);
  t.fromUe(100, ALICE_C, reg2);
  t.toUe(150, ALICE_C, ok(reg2, 1200));
  const sub = request({ method: 'SUBSCRIBE', ue: ALICE_C, user: 'alice', uri: `sip:alice@${DOMAIN}`, branch: 'z9hG4bKs1', extra: [PCSCF_ROUTE, 'Event: reg', 'Expires: 600000', `P-Preferred-Identity: <sip:alice@${DOMAIN}>`] });
  t.fromUe(300, ALICE_C, sub);
  t.toUe(340, ALICE_C, respond(sub, '200 OK', ['Expires: 600000']));
  const msg = request({ method: 'MESSAGE', ue: ALICE_C, user: 'alice', uri: `sip:bob@${DOMAIN}`, branch: 'z9hG4bKm1', extra: [PCSCF_ROUTE, 'P-Preferred-Identity: <tel:+15550001>'] });
  // Over UDP, unanswered: retransmitted after T1 and 2·T1 (Timer E, RFC 3261 §17.1.2.2).
  t.fromUe(1000, ALICE_C, msg);
  t.fromUe(1500, ALICE_C, msg);
  t.fromUe(2500, ALICE_C, msg);
  t.toUe(2600, ALICE_C, respond(msg, '200 OK'));
  // Granted 1200 s: refresh when half has passed (TS 24.229 §5.1.1.4.1), i.e. by 600.150 s.
  const reg3 = protectedRegister(3, 'z9hG4bKa3', 600000);
  t.fromUe(590_000, ALICE_C, reg3);
  t.toUe(590_050, ALICE_C, ok(reg3, 1200));
  const dereg = protectedRegister(4, 'z9hG4bKa4', 0);
  t.fromUe(700_000, ALICE_C, dereg);
  t.toUe(700_050, ALICE_C, respond(dereg, '200 OK'));
}

const SIPP = { address: '127.0.0.1', port: 5080 };

/** SIPp's IMS AKA scenario: no initial Authorization, no Supported: path, no Security-Client, no +sip.instance. */
function sippUe(t: Trace, opts: { wrongOpc?: boolean } = {}): void {
  const impi = `sipp@${DOMAIN}`;
  const reg1 = register({ ue: SIPP, user: 'sipp', cseq: 1, branch: 'z9hG4bK-sipp-1', expires: 3600 });
  t.fromUe(0, SIPP, reg1);
  const nonce = akaChallenge();
  t.toUe(30, SIPP, respond(reg1, '401 Unauthorized', [`WWW-Authenticate: Digest realm="${DOMAIN}", nonce="${nonce}", algorithm=AKAv1-MD5, qop="auth"`]));
  const reg2 = register({ ue: SIPP, user: 'sipp', cseq: 2, branch: 'z9hG4bK-sipp-2', expires: 3600, authorization: akaAuthorization(impi, nonce, opts.wrongOpc ? OP : OPC) });
  t.fromUe(60, SIPP, reg2);
  if (opts.wrongOpc) {
    t.note(80, 'hss', 'MAR: the UE failed the challenge twice; check K/OP/AMF with `imslab aka doctor`', { impi, mars: 2 });
    t.toUe(90, SIPP, respond(reg2, '401 Unauthorized', [`WWW-Authenticate: Digest realm="${DOMAIN}", nonce="${akaChallenge()}", algorithm=AKAv1-MD5, qop="auth"`]));
  } else {
    t.toUe(90, SIPP, respond(reg2, '200 OK', [`Contact: <sip:sipp@127.0.0.1:5080>;expires=3600`, `Service-Route: ${SERVICE_ROUTE}`, `P-Associated-URI: <sip:sipp@${DOMAIN}>`]));
  }
}

const CAROL = { address: '127.0.0.1', port: 40001 };
const CAROL2 = { address: '127.0.0.1', port: 40002 };
const CAROL_CONTACT = '<sip:carol-x1@127.0.0.1:40001;transport=tcp>;+sip.instance="<urn:uuid:0c2a9f7e-0000-4000-8000-00000000ca01>"';

/** baresip-like: digest over TCP, outbound without reg-id, no Supported: path, late refresh, no preloaded Route, PAI. */
function baresipUe(t: Trace): void {
  const impi = `carol@${DOMAIN}`;
  const extra = ['Supported: replaces, outbound, gruu', 'User-Agent: baresip v1.0.0 (x86_64/linux)', 'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, SUBSCRIBE, INFO, MESSAGE, UPDATE'];
  const reg1 = register({ ue: CAROL, user: 'carol', cseq: 1, branch: 'z9hG4bK-c1', transport: 'TCP', contact: CAROL_CONTACT, extra, expires: 60, callId: 'carol-reg' });
  t.fromUe(0, CAROL, reg1, 'tcp');
  t.toUe(20, CAROL, respond(reg1, '401 Unauthorized', [`WWW-Authenticate: Digest realm="${DOMAIN}", nonce="bm9uY2UtMQ==", algorithm=MD5, qop="auth"`]), 'tcp');
  const auth = `Digest username="${impi}", realm="${DOMAIN}", nonce="bm9uY2UtMQ==", uri="sip:${DOMAIN}", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, qop=auth, nc=00000001, cnonce="b4b3"`;
  const reg2 = register({ ue: CAROL, user: 'carol', cseq: 2, branch: 'z9hG4bK-c2', transport: 'TCP', contact: CAROL_CONTACT, extra, expires: 60, authorization: auth, callId: 'carol-reg' });
  t.fromUe(40, CAROL, reg2, 'tcp');
  // A retransmission over TCP: the transport is reliable, Timer E is not set (RFC 3261 §17.1.2.2).
  t.fromUe(540, CAROL, reg2, 'tcp');
  const ok = (r: string) => respond(r, '200 OK', [`Contact: ${CAROL_CONTACT};expires=60`, `Service-Route: ${SERVICE_ROUTE}`, `P-Associated-URI: <sip:carol@${DOMAIN}>`]);
  t.toUe(560, CAROL, ok(reg2), 'tcp');
  const invite = request({
    method: 'INVITE', ue: CAROL, user: 'carol', uri: `sip:alice@${DOMAIN}`, branch: 'z9hG4bK-ci1', transport: 'TCP',
    extra: [`P-Asserted-Identity: <sip:carol@${DOMAIN}>`, `P-Preferred-Identity: <sip:mallory@${DOMAIN}>`],
  });
  t.fromUe(1000, CAROL, invite, 'tcp');
  t.toUe(1010, CAROL, respond(invite, '100 Trying'), 'tcp');
  t.toUe(1500, CAROL, respond(invite, '486 Busy Here'), 'tcp');
  // Granted 60 s at 0.560 s: the refresh is due at half time (30.560 s); baresip-like comes at 58 s, on a new connection.
  const reg3 = register({ ue: CAROL2, user: 'carol', cseq: 3, branch: 'z9hG4bK-c3', transport: 'TCP', contact: CAROL_CONTACT, extra, expires: 60, authorization: auth, callId: 'carol-reg' });
  t.fromUe(58_000, CAROL2, reg3, 'tcp');
  t.toUe(58_020, CAROL2, ok(reg3), 'tcp');
}

function only(report: ReportJson, impu: string): UeJson {
  const ue = report.ues.find((u) => u.identity.impu === impu);
  if (!ue) throw new Error(`no UE ${impu} in ${report.ues.map((u) => u.identity.impu).join(', ')}`);
  return ue;
}

describe('conformance report: a conforming IMS UE', () => {
  it('meets every requirement, with the header lines as evidence', () => {
    const t = new Trace();
    conformingUe(t);
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    const result = report.result(700_100);
    expect(result.ues).toHaveLength(1);
    const ue = result.ues[0]!;
    // The protected port-c traffic is the same UE as the unprotected initial REGISTER (TS 33.203 §7.1).
    expect(ue.identity).toEqual({ impi: `alice@${DOMAIN}`, impu: `sip:alice@${DOMAIN}` });
    expect(ue.endpoints).toContain('udp:127.0.0.1:5070');
    expect(ue.endpoints).toContain('udp:127.0.0.1:5072');
    const notMet = ue.requirements.filter((r) => r.status !== 'met');
    expect(notMet, JSON.stringify(notMet, null, 1)).toEqual([]);
    expect(ue.summary).toEqual({ met: ue.requirements.length, notMet: 0, notApplicable: 0 });
    expect(req(ue, 'supported-path').evidence).toContain('Supported: path, sec-agree');
    expect(req(ue, 'sec-agree').evidence).toContain('ipsec-3gpp;alg=hmac-sha-1-96');
    expect(req(ue, 'retransmission-timers').evidence).toContain('intervals 500, 1000 ms');
    expect(req(ue, 'register-call-id-cseq').evidence).toContain('1 → 2 → 3 → 4');
    // The two retransmissions of the MESSAGE are not counted as requests of their own.
    expect(ue.messages.seen).toBe(12);
  });

  it('judges the refresh by the granted expiry: a registration left to lapse is not met', () => {
    const t = new Trace();
    conformingUe(t);
    // Stop the trace before the refresh: at 1300 s the 1200 s registration of 0.150 s has expired.
    const report = newReport();
    for (const e of t.events) if (e.time < 590_000) report.ingest(e);
    const ue = report.result(1_300_000).ues[0]!;
    const r = req(ue, 'reregister-before-expiry');
    expect(r.status).toBe('not-met');
    expect(r.clause).toContain('TS 24.229 §5.1.1.4.1');
    expect(r.evidence).toContain('1200 s granted by SIP/2.0 200 OK');
    expect(r.evidence).toContain('expired at +1200.150 s');
    // Before expiry nothing is owed yet.
    expect(req(report.result(900_000).ues[0]!, 'reregister-before-expiry').status).toBe('not-applicable');
  });
});

describe('conformance report: a SIPp client', () => {
  it('names TS 24.229 §5.1.1.2 and Supported: path, and the other omissions', () => {
    const t = new Trace();
    sippUe(t);
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    const ue = only(report.result(10_000), `sip:sipp@${DOMAIN}`);
    expect(statuses(ue)).toEqual({
      'initial-register-authorization': 'not-met',
      'supported-path': 'not-met',
      'sec-agree': 'not-met',
      'contact-instance': 'not-met',
      'contact-expires': 'met',
      'challenge-answered-in-time': 'met',
      'security-verify': 'not-applicable',
      'register-call-id-cseq': 'met',
      'auth-response': 'met',
      'reg-event-subscription': 'not-met',
      'reregister-before-expiry': 'not-applicable',
      'preloaded-route': 'not-applicable',
      'preferred-identity': 'not-applicable',
      'no-asserted-identity': 'met',
      'retransmission-timers': 'not-applicable',
      deregistration: 'not-applicable',
    });
    const path = req(ue, 'supported-path');
    expect(path.clause).toContain('TS 24.229 §5.1.1.2');
    expect(path.evidence).toContain('Supported: path');
    expect(path.evidence).toContain('REGISTER sip:ims.test SIP/2.0 (#1, +0.000 s)');
    expect(path.evidence).toContain('no Supported header');
    expect(req(ue, 'initial-register-authorization').evidence).toContain('no Authorization header');
    expect(req(ue, 'sec-agree').evidence).toContain('no Security-Client header');
    expect(req(ue, 'sec-agree').evidence).toContain('no Require: sec-agree');
    expect(req(ue, 'contact-instance').evidence).toContain('no +sip.instance');
    expect(req(ue, 'reg-event-subscription').evidence).toContain('no SUBSCRIBE with Event: reg');
    // Rendered for a person, the same words appear.
    const html = renderHtml(report.result(10_000));
    expect(html).toContain('TS 24.229 §5.1.1.2.1, RFC 3327 §5');
    expect(html).toContain('no Supported: path');
  });

  it('a missing reg-event SUBSCRIBE is not held against a UE that registered moments ago', () => {
    const t = new Trace();
    sippUe(t);
    const report = newReport({ graceMs: 5000 });
    for (const e of t.events) report.ingest(e);
    expect(req(report.result(1000).ues[0]!, 'reg-event-subscription').status).toBe('not-applicable');
    expect(req(report.result(5091).ues[0]!, 'reg-event-subscription').status).toBe('not-met');
  });

  it('a wrong AKA response gets the AKA doctor diagnosis and the core note', () => {
    const t = new Trace();
    sippUe(t, { wrongOpc: true });
    const report = newReport({ subscriberOf: (impi) => (impi === `sipp@${DOMAIN}` ? { k: K, op: OP, amf: AMF } : undefined) });
    for (const e of t.events) report.ingest(e);
    const r = req(report.result(10_000).ues[0]!, 'auth-response');
    expect(r.status).toBe('not-met');
    expect(r.clause).toContain('RFC 3310 §3.2');
    expect(r.evidence).toContain('was answered SIP/2.0 401 Unauthorized');
    expect(r.evidence).toContain('hss: MAR: the UE failed the challenge twice');
    expect(r.advice).toContain('AKA doctor: op-used-as-opc');
    expect(r.advice).toContain(OPC.toString('hex'));
  });

  it('without a subscriber record the advice says so instead of guessing', () => {
    const t = new Trace();
    sippUe(t, { wrongOpc: true });
    const report = newReport({ subscriberOf: () => undefined });
    for (const e of t.events) report.ingest(e);
    const r = req(report.result(10_000).ues[0]!, 'auth-response');
    expect(r.status).toBe('not-met');
    expect(r.advice).toContain(`no subscriber record for sipp@${DOMAIN}`);
  });

  it('a challenge never answered within reg-await-auth is not met', () => {
    const t = new Trace();
    const reg1 = register({ ue: SIPP, user: 'sipp', cseq: 1, branch: 'z9hG4bK-q1' });
    t.fromUe(0, SIPP, reg1);
    t.toUe(10, SIPP, respond(reg1, '401 Unauthorized', [`WWW-Authenticate: Digest realm="${DOMAIN}", nonce="${akaChallenge()}", algorithm=AKAv1-MD5`]));
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    expect(req(report.result(60_000).ues[0]!, 'challenge-answered-in-time').status).toBe('not-applicable');
    const r = req(report.result(300_000).ues[0]!, 'challenge-answered-in-time');
    expect(r.status).toBe('not-met');
    expect(r.evidence).toContain('was never answered');
  });
});

describe('conformance report: a baresip-like client over TCP', () => {
  it('reports outbound without reg-id, the TCP retransmission, PAI, the Route and the late refresh', () => {
    const t = new Trace();
    baresipUe(t);
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    const result = report.result(60_000);
    // The refresh from a second TCP connection carries the same IMPI: one UE.
    expect(result.ues).toHaveLength(1);
    const ue = result.ues[0]!;
    expect(ue.transport).toBe('tcp');
    expect(ue.endpoints).toEqual(['tcp:127.0.0.1:40001', 'tcp:127.0.0.1:40002']);
    expect(ue.userAgent).toBe('baresip v1.0.0 (x86_64/linux)');
    expect(statuses(ue)).toMatchObject({
      'initial-register-authorization': 'not-met',
      'supported-path': 'not-met',
      'sec-agree': 'not-applicable',
      'contact-instance': 'not-met',
      'contact-expires': 'met',
      'register-call-id-cseq': 'met',
      'auth-response': 'met',
      'reg-event-subscription': 'not-met',
      'reregister-before-expiry': 'not-met',
      'preloaded-route': 'not-met',
      'preferred-identity': 'not-met',
      'no-asserted-identity': 'not-met',
      'retransmission-timers': 'not-met',
    });
    expect(req(ue, 'supported-path').evidence).toContain('Supported: replaces, outbound, gruu');
    expect(req(ue, 'contact-instance').evidence).toContain('outbound in use but no reg-id');
    expect(req(ue, 'retransmission-timers').evidence).toContain('retransmitted over TCP');
    expect(req(ue, 'no-asserted-identity').evidence).toContain(`P-Asserted-Identity: <sip:carol@${DOMAIN}>`);
    expect(req(ue, 'preferred-identity').evidence).toContain(`<sip:mallory@${DOMAIN}> is not among P-Associated-URI <sip:carol@${DOMAIN}>`);
    expect(req(ue, 'preloaded-route').evidence).toContain('INVITE sip:alice@ims.test SIP/2.0');
    expect(req(ue, 'preloaded-route').evidence).toContain('no Route header');
    expect(req(ue, 'reregister-before-expiry').evidence).toContain('later than §5.1.1.4.1 asks');
  });
});

describe('conformance report: UDP retransmission timers', () => {
  const OTTO = { address: '127.0.0.1', port: 5090 };
  function retransmit(times: number[], method = 'OPTIONS', provisionalAt?: number) {
    const t = new Trace();
    const r = request({ method, ue: OTTO, user: 'otto', uri: `sip:${DOMAIN}`, branch: 'z9hG4bK-r1' });
    for (const time of times) {
      if (provisionalAt !== undefined && provisionalAt < time && !t.events.some((e) => e.time === provisionalAt)) t.toUe(provisionalAt, OTTO, respond(r, '100 Trying'));
      t.fromUe(time, OTTO, r);
    }
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    return req(report.result().ues[0]!, 'retransmission-timers');
  }

  it('T1 doubling to the T2 cap is met', () => {
    const r = retransmit([0, 500, 1500, 3500, 7500, 11_500, 15_500]);
    expect(r.status).toBe('met');
    expect(r.evidence).toBe('6 retransmission(s) of 1 request(s), intervals 500, 1000, 2000, 4000, 4000, 4000 ms');
  });

  it('too fast a retransmission is not met, with the timer it breaks', () => {
    const r = retransmit([0, 100, 200]);
    expect(r.status).toBe('not-met');
    expect(r.evidence).toContain('retransmission 1 after 100 ms; Timer E (§17.1.2.2) expects ≈500 ms');
  });

  it('an INVITE retransmitted after a provisional is not met; a non-INVITE goes on at T2', () => {
    expect(retransmit([0, 500, 1500], 'INVITE', 700).evidence).toContain('after a provisional response');
    // Timer E set at 0.5 s for 1 s still fires at 1.5 s; from then on every T2 (§17.1.2.2).
    expect(retransmit([0, 500, 1500, 5500, 9500], 'OPTIONS', 700).status).toBe('met');
    expect(retransmit([0, 500, 4500, 8500], 'OPTIONS', 700).evidence).toContain('retransmission 2 after 4000 ms; Timer E (§17.1.2.2) expects ≈1000 ms');
  });

  it('retransmitting beyond 64·T1 is not met', () => {
    const times = [0, 500, 1500, 3500, 7500];
    for (let x = 11_500; x <= 31_500; x += 4000) times.push(x);
    expect(retransmit(times).status).toBe('met');
    const r = retransmit([...times, 35_500]);
    expect(r.status).toBe('not-met');
    expect(r.evidence).toContain('beyond Timer F');
  });
});

describe('conformance report: who is an outside UE', () => {
  it('ignores simulated UEs, other nodes and packets of nodes other than the P-CSCF', () => {
    const t = new Trace();
    const simulated = { address: '127.0.10.1', port: 5060 };
    t.fromUe(0, simulated, register({ ue: simulated, user: 'sim', cseq: 1, branch: 'z9hG4bK-s' }));
    // The I-CSCF receiving from an unknown address is not the P-CSCF's business.
    t.packet('recv', 1, { address: '127.0.0.9', port: 5060 }, register({ ue: SIPP, user: 'x', cseq: 1, branch: 'z9hG4bK-x' }), 'udp', { address: '127.0.2.1', port: 5060 }, 'icscf');
    // A known endpoint given with its port.
    const other = { address: '127.0.0.1', port: 6000 };
    t.fromUe(2, other, register({ ue: other, user: 'y', cseq: 1, branch: 'z9hG4bK-y' }));
    const report = newReport({ knownAddresses: [...KNOWN, '127.0.0.1:6000'] });
    for (const e of t.events) report.ingest(e);
    expect(report.result().ues).toEqual([]);
  });

  it('garbage and keep-alives are counted, never thrown', () => {
    const t = new Trace();
    t.fromUe(0, SIPP, Buffer.from([0x00, 0xff, 0x41, 0x0d, 0x0a]));
    t.fromUe(1, SIPP, Buffer.from('\r\n\r\n'));
    t.fromUe(2, SIPP, 'REGISTER sip:ims.test SIP/2.0\r\nVia: nonsense\r\nCSeq: x\r\nContact: <sip:a@b\r\n\r\n');
    const report = newReport();
    expect(() => {
      for (const e of t.events) report.ingest(e);
    }).not.toThrow();
    const ue = report.result().ues[0]!;
    expect(ue.messages).toEqual({ seen: 1, kept: 1, unparsable: 1 });
    // A REGISTER with an unreadable Contact is judged not met, not a crash.
    expect(req(ue, 'contact-expires').status).toBe('not-met');
    expect(req(ue, 'contact-expires').evidence).toContain('unreadable Contact');
    expect(() => renderHtml(report.result())).not.toThrow();
  });

  it('follows a live TraceBus through attach()', () => {
    const clock = new FakeClock(1_000);
    const bus = new TraceBus(clock);
    const report = newReport();
    const sub = report.attach(bus.events$);
    const reg = register({ ue: SIPP, user: 'sipp', cseq: 1, branch: 'z9hG4bK-live' });
    bus.packet({ node: 'pcscf', direction: 'recv', protocol: 'sip', transport: 'udp', local: PCSCF, remote: SIPP, bytes: Buffer.from(reg) });
    clock.advance(30);
    bus.packet({ node: 'pcscf', direction: 'send', protocol: 'sip', transport: 'udp', local: PCSCF, remote: SIPP, bytes: Buffer.from(respond(reg, '403 Forbidden')) });
    sub.unsubscribe();
    bus.packet({ node: 'pcscf', direction: 'recv', protocol: 'sip', transport: 'udp', local: PCSCF, remote: { address: '127.0.0.1', port: 1 }, bytes: Buffer.from(reg) });
    const result = report.result();
    expect(result.generatedAt).toBe(1_030);
    expect(result.ues).toHaveLength(1);
    expect(result.ues[0]!.messages.seen).toBe(2);
    expect(result.ues[0]!.firstSeen).toBe(1_000);
  });
});

describe('conformance report: rendering', () => {
  it('JSON has stable keys and round-trips', () => {
    const t = new Trace();
    sippUe(t);
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    const json = renderJson(report.result(10_000));
    expect(json.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(json) as ReportJson;
    expect(Object.keys(parsed)).toEqual(['kind', 'version', 'standard', 'generatedAt', 'ues', 'summary']);
    expect(Object.keys(parsed.ues[0]!)).toEqual(['identity', 'address', 'endpoints', 'transport', 'userAgent', 'firstSeen', 'lastSeen', 'messages', 'requirements', 'summary']);
    expect(Object.keys(parsed.ues[0]!.requirements[0]!)).toEqual(['id', 'clause', 'title', 'status', 'evidence', 'advice']);
    expect(parsed.ues[0]!.address).toBe('127.0.0.1:5080');
    expect(parsed.summary).toEqual({ ues: 1, met: 5, notMet: 5, notApplicable: 6, untracked: 0 });
    // The same trace gives the same bytes.
    const again = newReport();
    for (const e of t.events) again.ingest(e);
    expect(renderJson(again.result(10_000))).toBe(json);
  });

  it('HTML escapes hostile display names and header values', () => {
    const t = new Trace();
    const evil = { address: '127.0.0.1', port: 6666 };
    const reg = register({
      ue: evil, user: 'eve', cseq: 1, branch: 'z9hG4bK-evil',
      contact: '"<script>alert(1)</script>" <sip:eve@127.0.0.1:6666>',
      extra: ['User-Agent: <img src=x onerror=alert(2)>', 'Supported: "><script>alert(3)</script>'],
    });
    t.fromUe(0, evil, reg);
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    const html = renderHtml(report.result());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('class="not-met"');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  });
});

describe('conformance report: bounded memory', () => {
  it('keeps a bounded log of 10,000 messages of one UE and still judges its registration', () => {
    const t = new Trace();
    sippUe(t);
    for (let i = 0; i < 10_000; i++) {
      const m = request({ method: 'MESSAGE', ue: SIPP, user: 'sipp', uri: `sip:bob@${DOMAIN}`, branch: `z9hG4bK-bulk-${i}`, extra: [`Route: <sip:127.0.1.1;lr>, ${SERVICE_ROUTE}`] });
      t.fromUe(100 + i, SIPP, m);
    }
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    const ue = report.result(20_000).ues[0]!;
    expect(ue.messages.seen).toBe(10_004);
    // The registration is in the head, so the REGISTER ring has nothing to hold.
    expect(ue.messages.kept).toBe(DEFAULT_LOG_LIMITS.head + DEFAULT_LOG_LIMITS.tail);
    expect(req(ue, 'supported-path').status).toBe('not-met');
    expect(req(ue, 'preloaded-route').status).toBe('met');
    expect(req(ue, 'no-asserted-identity').evidence).toMatch(/^\d+ request\(s\), none/);
  });

  it('keeps a REGISTER exchange from the middle of a long trace', () => {
    const t = new Trace();
    sippUe(t);
    const bulk = (from: number, n: number) => {
      for (let i = 0; i < n; i++) {
        t.fromUe(from + i, SIPP, request({ method: 'MESSAGE', ue: SIPP, user: 'sipp', uri: `sip:bob@${DOMAIN}`, branch: `z9hG4bK-m${from}-${i}` }));
      }
    };
    bulk(1000, 300);
    const refresh = register({ ue: SIPP, user: 'sipp', cseq: 3, branch: 'z9hG4bK-sipp-3', expires: 3600 });
    t.fromUe(1_000_000, SIPP, refresh);
    t.toUe(1_000_010, SIPP, respond(refresh, '200 OK', ['Contact: <sip:sipp@127.0.0.1:5080>;expires=3600']));
    bulk(1_000_100, 500);
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    const ue = report.result(1_200_000).ues[0]!;
    expect(ue.messages.kept).toBe(DEFAULT_LOG_LIMITS.head + DEFAULT_LOG_LIMITS.tail + 2);
    expect(req(ue, 'register-call-id-cseq').evidence).toContain('CSeq 1 → 2 → 3');
    // Refreshed 1000 s into a 3600 s registration: in time.
    expect(req(ue, 'reregister-before-expiry').status).toBe('met');
  });

  it('tracks at most maxUes UEs and counts the rest', () => {
    const t = new Trace();
    for (let i = 0; i < 10_000; i++) {
      const ue = { address: '127.0.0.1', port: 10_000 + i };
      t.fromUe(i, ue, register({ ue, user: `u${i}`, cseq: 1, branch: `z9hG4bK-${i}` }));
    }
    const report = newReport({ maxUes: 64 });
    for (const e of t.events) report.ingest(e);
    const result = report.result();
    expect(result.ues).toHaveLength(64);
    expect(result.summary.untracked).toBe(10_000 - 64);
  });
});

describe('conformance report: body handling', () => {
  it('drops bodies but keeps their length', () => {
    const t = new Trace();
    const body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n';
    const lines = request({ method: 'MESSAGE', ue: SIPP, user: 'sipp', uri: `sip:bob@${DOMAIN}`, branch: 'z9hG4bK-b' }).split('\r\n').filter((l) => l && !l.startsWith('Content-Length'));
    t.fromUe(0, SIPP, sip([...lines, 'Content-Type: text/plain'], body));
    const report = newReport();
    for (const e of t.events) report.ingest(e);
    expect(report.result().ues[0]!.messages.kept).toBe(1);
  });
});

describe('conformance report: adapters for the CLI', () => {
  it('renders by file extension and refuses others with a clear error', async () => {
    const { renderForFile, ReportFormatError, doctorSubscriber } = await import('../../src/report/index.js');
    const report = newReport().result(0);
    expect(JSON.parse(renderForFile('out/REPORT.JSON', report))).toEqual(report);
    expect(renderForFile('r.html', report)).toContain('No outside UE talked to the P-CSCF.');
    expect(() => renderForFile('r.txt', report)).toThrow(ReportFormatError);
    expect(() => renderForFile('r.txt', report)).toThrow('must end in .json or .html');
    const s = doctorSubscriber({ k: K, op: OP, opc: OPC, amf: AMF, sqn: 0x0102030405n });
    expect(s).toEqual({ k: K, op: OP, amf: AMF, sqnHss: h('000102030405') });
    expect(doctorSubscriber({ amf: AMF })).toBeUndefined();
  });
});
