/**
 * Sessions through the P-CSCF (TS 24.229 §5.2.6) with the real chain: two simulated UEs registered with IMS AKA
 * and sec-agree through P-CSCF → I-CSCF → S-CSCF ↔ HSS, each node in its own container on 127.0.51.x. What the
 * P-CSCF put on the wire is read back from the trace (every socket send is there with its bytes).
 */
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import type { Pcscf } from '../../src/pcscf/index.js';
import { Headers, SipRequest, isRequest, type SipMessage, type SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import type { NoteEvent, PacketEvent, TraceEvent } from '../../src/trace/events.js';
import { bindUe, type Ue, type UeState } from '../../src/ue/index.js';
import { PORT, RawSip, until } from './helpers.js';
import { labRun, startRealCore } from './real-core.js';

const DOMAIN = 'ims.sessions.test';
const IP = { pcscf: '127.0.51.21', icscf: '127.0.51.22', scscf: '127.0.51.23', hss: '127.0.51.24', alice: '127.0.51.30', bob: '127.0.51.31', stranger: '127.0.51.40' };
const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;
const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OP = Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex');
const P_RR = `<sip:${IP.pcscf}:${PORT};lr>`;
const SERVICE_ROUTE = `<sip:orig@${IP.scscf}:${PORT};lr>`;

interface Chain {
  events: TraceEvent[];
  pcscf: Pcscf;
  alice: Ue;
  bob: Ue;
  stop(): Promise<void>;
}

let chain: Chain | undefined;
const sockets: RawSip[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) await s.close();
  await chain?.stop();
  chain = undefined;
});

async function build(bobSettings: Record<string, unknown> = {}): Promise<Chain> {
  const { run, events } = labRun('pcscf-sessions', DOMAIN, IP, { alice: IP.alice, bob: IP.bob });
  const store = new MemorySubscriberStore();
  for (const [user, tel] of [['alice', '+15550001'], ['bob', '+15550002']] as const) {
    store.put({
      impi: `${user}@${DOMAIN}`,
      impus: [{ uri: `sip:${user}@${DOMAIN}`, barred: false }, { uri: `tel:${tel}`, barred: false }],
      authSchemes: ['AKAv1-MD5'],
      k: K, op: OP, amf: Buffer.from('8000', 'hex'), sqn: 0x40n, allowedVisitedNetworks: [],
    });
  }
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const { pcscf, node } = await startRealCore({ run, domain: DOMAIN, store, ip: IP, stops });
    const ue = (name: 'alice' | 'bob', extra: Record<string, unknown>) =>
      node<Ue>(
        {
          name, kind: 'ue', address: IP[name], ports: { udp: 0 }, domain: DOMAIN,
          settings: {
            impi: `${name}@${DOMAIN}`, impu: `sip:${name}@${DOMAIN}`, pcscf: 'pcscf1', transport: 'udp', secAgree: true, auth: 'aka',
            k: K.toString('hex'), op: OP.toString('hex'), amf: '8000', sqn: '000000000040', expires: 600000, ...extra,
          },
        },
        bindUe,
      );
    const alice = await ue('alice', {});
    const bob = await ue('bob', bobSettings);
    for (const u of [alice, bob]) {
      const registered = stateOf(u, (s) => s.state === 'registered' || s.state === 'failed');
      await u.register();
      expect((await registered).state).toBe('registered');
    }
    return { events, pcscf, alice, bob, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function stateOf(ue: Ue, want: (s: UeState) => boolean): Promise<UeState> {
  return firstValueFrom(ue.state$.pipe(filter(want), timeout(5000)));
}

/** SIP the P-CSCF sent to `to` (an address), parsed from the trace bytes. */
function sentBy(events: TraceEvent[], node: string, to?: string): SipMessage[] {
  return events
    .filter((e): e is PacketEvent => e.type === 'packet' && e.node === node && e.direction === 'send' && e.protocol === 'sip' && (to === undefined || e.remote.address === to))
    .map((e) => parseMessage(e.bytes));
}

function requestsSent(events: TraceEvent[], method: string, to: string): SipRequest[] {
  return sentBy(events, 'pcscf1', to).filter((m): m is SipRequest => isRequest(m) && m.method === method);
}

function notes(events: TraceEvent[]): NoteEvent[] {
  return events.filter((e): e is NoteEvent => e.type === 'note' && e.node === 'pcscf1');
}

/** A MESSAGE from a UE's own UA core with the headers and route set a test wants. */
function message(ue: Ue, target: string, o: { routeSet?: readonly string[]; headers?: Array<[string, string]>; text?: string } = {}) {
  return ue.ua!.request('MESSAGE', target, {
    routeSet: o.routeSet ?? ue.preloadedRoute,
    headers: o.headers ?? [],
    body: o.text ?? 'hello',
    contentType: 'text/plain',
  });
}

/** A request written by hand from a socket that is not a registered UE. */
function handmade(from: RawSip, method: string, uri: string, extra: Array<[string, string]> = []): { request: SipRequest; branch: string } {
  const branch = `z9hG4bKraw${Math.random().toString(36).slice(2, 10)}`;
  const h = new Headers();
  h.append('Via', `SIP/2.0/UDP ${from.address}:${from.port};branch=${branch};rport`);
  h.append('Max-Forwards', '70');
  h.append('From', `<${ALICE}>;tag=raw1`);
  h.append('To', `<${BOB}>`);
  h.append('Call-ID', `raw-${branch}`);
  h.append('CSeq', `1 ${method}`);
  for (const [n, v] of extra) h.append(n, v);
  h.append('Content-Length', '0');
  const request = new SipRequest(method, uri, h);
  from.send(request, { address: IP.pcscf, port: PORT });
  return { request, branch };
}

describe('P-CSCF sessions (TS 24.229 §5.2.6) on the real chain', () => {
  it('a call alice → bob: asserted identity, Service-Route, icid and Record-Route on the way out, delivery to bob on his Path, 200/ACK/BYE', async () => {
    chain = await build();
    const { events, alice, bob } = chain;
    const call = alice.call(BOB);
    const settled = await call.settled();
    expect(settled.state).toBe('confirmed');
    expect(settled.status).toBe(200);

    // Originating leg, P-CSCF → S-CSCF (TS 24.229 §5.2.6.3.2).
    const out = requestsSent(events, 'INVITE', IP.scscf);
    expect(out.length).toBeGreaterThanOrEqual(1);
    const mo = out[0]!;
    expect(mo.headers.getAll('P-Asserted-Identity')).toEqual([`<${ALICE}>`]);
    expect(mo.headers.has('P-Preferred-Identity')).toBe(false);
    expect(mo.headers.list('Route')).toEqual([SERVICE_ROUTE]);
    expect(mo.headers.list('Record-Route')[0]).toBe(P_RR);
    expect(mo.headers.get('P-Charging-Vector')).toMatch(/^icid-value="?[^;"]+"?;icid-generated-at=127\.0\.51\.21/);
    expect(mo.headers.has('Security-Verify')).toBe(false);
    expect(mo.headers.list('Proxy-Require').map((t) => t.toLowerCase())).not.toContain('sec-agree');

    // Terminating leg, P-CSCF → bob (TS 24.229 §5.2.6.4): his registered contact, both P-CSCF Record-Routes.
    const mt = requestsSent(events, 'INVITE', IP.bob)[0]!;
    expect(mt).toBeDefined();
    expect(mt.uri).toBe(chain.pcscf.registrations().find((r) => r.impus[0] === BOB)!.contact);
    expect(mt.headers.list('Route')).toEqual([]);
    const rr = mt.headers.list('Record-Route');
    expect(rr[0]).toBe(P_RR);
    expect(rr[rr.length - 1]).toBe(P_RR);
    expect(rr.length).toBeGreaterThanOrEqual(3);
    expect(mt.headers.getAll('P-Asserted-Identity')).toEqual([`<${ALICE}>`]);
    expect(mt.headers.get('P-Called-Party-ID')).toBe(`<${BOB}>`);
    expect(mt.headers.has('P-Charging-Vector')).toBe(false);

    // The 200 reaching alice asserts bob (RFC 3325 §9.1 on the terminating side).
    const ok = sentBy(events, 'pcscf1', IP.alice).find((m): m is SipResponse => !isRequest(m) && m.status === 200 && (m.headers.get('CSeq') ?? '').endsWith('INVITE'))!;
    expect(ok.headers.getAll('P-Asserted-Identity')).toEqual([`<${BOB}>`]);

    // ACK both ways through the P-CSCF, then BYE from alice along the route set, 200 back.
    await until(() => requestsSent(events, 'ACK', IP.bob).length > 0, 3000, 'ACK relayed to bob');
    expect(requestsSent(events, 'ACK', IP.scscf).length).toBeGreaterThan(0);
    expect(bob.calls).toHaveLength(1);
    const ended = await call.hangup();
    expect(ended.state).toBe('terminated');
    const byeOut = requestsSent(events, 'BYE', IP.scscf)[0]!;
    expect(byeOut.headers.getAll('P-Asserted-Identity')).toEqual([`<${ALICE}>`]);
    expect(requestsSent(events, 'BYE', IP.bob)).toHaveLength(1);
    await until(() => sentBy(events, 'pcscf1', IP.alice).some((m) => !isRequest(m) && m.status === 200 && (m.headers.get('CSeq') ?? '').endsWith('BYE')), 3000, '200 to BYE back at alice');
    await until(() => bob.calls.length === 0, 3000, 'bob hung up');
    expect(notes(events).some((n) => n.clause?.startsWith('TS 24.229 §5.2.6.3.2') && n.text.startsWith('originating INVITE'))).toBe(true);
    expect(notes(events).some((n) => n.clause?.startsWith('TS 24.229 §5.2.6.4') && n.text.startsWith('terminating INVITE'))).toBe(true);
  });

  it('MESSAGE alice → bob is 200, without Record-Route, and bob gets it with alice asserted', async () => {
    chain = await build();
    const outcome = await chain.alice.message(BOB, 'hi bob');
    expect(outcome.status).toBe(200);
    expect(chain.bob.messagesReceived.map((m) => m.text)).toEqual(['hi bob']);
    expect(chain.bob.messagesReceived[0]!.from).toContain(ALICE);
    const out = requestsSent(chain.events, 'MESSAGE', IP.scscf)[0]!;
    expect(out.headers.has('Record-Route')).toBe(false);
    expect(out.headers.get('P-Charging-Vector')).toContain('icid-value=');
    const toBob = requestsSent(chain.events, 'MESSAGE', IP.bob)[0]!;
    expect(toBob.headers.has('Record-Route')).toBe(false);
  });

  it('a P-Asserted-Identity sent by the UE is removed; a P-Preferred-Identity in the set is asserted, one outside it is not', async () => {
    chain = await build();
    const { alice, events } = chain;
    const spoof = await message(alice, BOB, { headers: [['P-Asserted-Identity', `<${BOB}>`]], text: 'spoof' });
    expect(spoof.response.status).toBe(200);
    const tel = await message(alice, BOB, { headers: [['P-Preferred-Identity', '<tel:+15550001>']], text: 'tel' });
    expect(tel.response.status).toBe(200);
    const foreign = await message(alice, BOB, { headers: [['P-Preferred-Identity', '<tel:+15550002>']], text: 'foreign' });
    expect(foreign.response.status).toBe(200);

    const out = requestsSent(events, 'MESSAGE', IP.scscf);
    const byText = (t: string) => out.find((m) => m.body.toString() === t)!;
    expect(byText('spoof').headers.getAll('P-Asserted-Identity')).toEqual([`<${ALICE}>`]);
    expect(byText('tel').headers.getAll('P-Asserted-Identity')).toEqual(['<tel:+15550001>']);
    expect(byText('foreign').headers.getAll('P-Asserted-Identity')).toEqual([`<${ALICE}>`]);
    for (const t of ['spoof', 'tel', 'foreign']) expect(byText(t).headers.has('P-Preferred-Identity')).toBe(false);
    const refused = notes(events).find((n) => n.text.includes('P-Preferred-Identity tel:+15550002') || n.text.includes('P-Preferred-Identity <tel:+15550002>'));
    expect(refused?.level).toBe('warn');
    expect(refused?.text).toContain('not in the registered set');
  });

  it('an INVITE with a P-Asserted-Identity of someone else leaves the P-CSCF with the UE’s own identity', async () => {
    chain = await build();
    const { alice, events } = chain;
    // To an identity nobody has: the core refuses it, which ends the transaction without a dialog.
    const result = await alice.ua!.request('INVITE', `sip:nobody@${DOMAIN}`, {
      routeSet: alice.preloadedRoute,
      headers: [['P-Asserted-Identity', `<${BOB}>`], ['P-Preferred-Identity', '<sip:mallory@elsewhere.test>']],
    });
    expect(result.response.status).toBeGreaterThanOrEqual(400);
    const out = requestsSent(events, 'INVITE', IP.scscf)[0]!;
    expect(out.headers.getAll('P-Asserted-Identity')).toEqual([`<${ALICE}>`]);
    expect(out.headers.has('P-Preferred-Identity')).toBe(false);
  });

  it('a Route that is not the stored Service-Route is replaced by it (TS 24.229 §5.2.6.3.2), with a warning on the trace', async () => {
    chain = await build();
    const { alice, events } = chain;
    // The S-CSCF without its `orig` marker, then a hop the UE made up.
    const wrong = [`<sip:${IP.pcscf}:${PORT};lr>`, `<sip:${IP.scscf}:${PORT};lr>`, `<sip:${IP.stranger}:5999;lr>`];
    const r1 = await message(alice, BOB, { routeSet: wrong, text: 'wrong route' });
    expect(r1.response.status).toBe(200);
    // No Route at all: the P-CSCF used as a plain outbound proxy.
    const r2 = await message(alice, BOB, { routeSet: [], text: 'no route' });
    expect(r2.response.status).toBe(200);
    const out = requestsSent(events, 'MESSAGE', IP.scscf);
    for (const t of ['wrong route', 'no route']) {
      expect(out.find((m) => m.body.toString() === t)!.headers.list('Route')).toEqual([SERVICE_ROUTE]);
    }
    expect(sentBy(events, 'pcscf1', IP.stranger)).toHaveLength(0);
    const replaced = notes(events).filter((n) => n.text.includes('is not the stored Service-Route: replaced'));
    expect(replaced).toHaveLength(2);
    expect(replaced.every((n) => n.level === 'warn' && n.clause?.includes('RFC 3608 §6'))).toBe(true);
    expect(chain.bob.messagesReceived.map((m) => m.text)).toEqual(['wrong route', 'no route']);
  });

  it('a request from a source that did not register is 403 with the reason, even from a registered UE’s address on another port', async () => {
    chain = await build();
    const stranger = await new RawSip(IP.stranger).start();
    const sameHost = await new RawSip(IP.alice).start();
    sockets.push(stranger, sameHost);
    for (const sock of [stranger, sameHost]) {
      const { branch } = handmade(sock, 'MESSAGE', BOB, [['Route', `<sip:${IP.pcscf}:${PORT};lr>, ${SERVICE_ROUTE}`]]);
      const r = await sock.finalFor(branch);
      expect(r.status).toBe(403);
      expect(r.headers.get('Warning')).toMatch(new RegExp(`^399 ${IP.pcscf.replace(/\./g, '\\.')} ".*holds no registration at this P-CSCF`));
    }
    // A made-up terminating request (our Path URI on top, bob's contact as Request-URI) from outside the core.
    const bobContact = chain.pcscf.registrations().find((r) => r.impus[0] === BOB)!.contact;
    const { branch } = handmade(stranger, 'INVITE', bobContact, [['Route', `<sip:term@${IP.pcscf}:${PORT};lr>`]]);
    expect((await stranger.finalFor(branch)).status).toBe(403);
    expect(requestsSent(chain.events, 'MESSAGE', IP.scscf)).toHaveLength(0);
    expect(requestsSent(chain.events, 'INVITE', IP.bob)).toHaveLength(0);
    expect(notes(chain.events).filter((n) => n.text.includes('answered 403') && n.level === 'warn')).toHaveLength(3);
  });

  it('a terminating request from the core for a contact not registered here is 404 with the reason', async () => {
    chain = await build();
    // From the I-CSCF's address (a node of the core), another port.
    const core = await new RawSip(IP.icscf).start();
    sockets.push(core);
    const { branch } = handmade(core, 'MESSAGE', `sip:ghost@${IP.stranger}:5060`, [['Route', `<sip:term@${IP.pcscf}:${PORT};lr>`]]);
    const r = await core.finalFor(branch);
    expect(r.status).toBe(404);
    expect(r.headers.get('Warning')).toContain('is not a contact registered through this P-CSCF');
    expect(sentBy(chain.events, 'pcscf1', IP.stranger)).toHaveLength(0);
  });

  it('CANCEL of a ringing call reaches bob’s branch through both P-CSCF legs, and the INVITE ends 487', async () => {
    chain = await build({ answer: 'noanswer' });
    const { alice, events } = chain;
    const call = alice.call(BOB);
    await firstValueFrom(call.state$.pipe(filter((s) => s.state === 'ringing' || s.state === 'terminated'), timeout(5000)));
    expect(call.state.state).toBe('ringing');
    const ended = await call.hangup();
    expect(ended.state).toBe('terminated');
    expect(ended.status).toBe(487);
    const toS = requestsSent(events, 'CANCEL', IP.scscf);
    const toBob = requestsSent(events, 'CANCEL', IP.bob);
    expect(toS).toHaveLength(1);
    expect(toBob).toHaveLength(1);
    // The CANCEL carries the branch of the INVITE it cancels on that hop (RFC 3261 §9.1).
    const inviteToBob = requestsSent(events, 'INVITE', IP.bob)[0]!;
    expect(toBob[0]!.headers.first('Via')).toBe(inviteToBob.headers.first('Via'));
    // bob's 487 came back to the P-CSCF on his branch, and the P-CSCF acknowledged it hop by hop (§17.1.1.3).
    const from = (node: string, address: string) =>
      events.filter((e): e is PacketEvent => e.type === 'packet' && e.node === node && e.direction === 'recv' && e.protocol === 'sip' && e.remote.address === address).map((e) => parseMessage(e.bytes));
    await until(() => from('pcscf1', IP.bob).some((m) => !isRequest(m) && m.status === 487), 3000, '487 from bob');
    await until(() => requestsSent(events, 'ACK', IP.bob).length === 1, 3000, 'ACK for the 487');
  });
});
