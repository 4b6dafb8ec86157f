import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerAssignmentType as SAT } from '../../src/diameter/cx/constants.js';
import type { HssLink } from '../../src/scscf/hss-link.js';
import { RegEventNotifier } from '../../src/scscf/scscf/reg-event.js';
import { Registrar } from '../../src/scscf/scscf/registrar.js';
import { parseUserProfile } from '../../src/scscf/user-profile.js';
import { MemoryRegistrationStore, type RegistrationStore } from '../../src/scscf/scscf/registration-store.js';
import { SqliteRegistrationStore } from '../../src/scscf/scscf/sqlite-registration-store.js';
import { computeDigestResponse } from '../../src/sip/auth/digest.js';
import { parseChallenge } from '../../src/sip/headers/auth.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import type { ReceivedMessage, TransportAddress } from '../../src/sip/transport/types.js';
import { Directory } from '../../src/topology/directory.js';
import { TraceBus } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { parseReginfoSafe } from './helpers/reginfo.js';

/**
 * The registrar and the reg event notifier driven in-process (no sockets): a scripted Cx answers MAR with an
 * AKA vector and SAR with a User-Data document, a recording transaction layer keeps every NOTIFY. What is
 * checked is what a UE, a P-CSCF and a restarted S-CSCF would see.
 */
const D = 'ims.lab.test';
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const xres = (impi: string) => createHash('md5').update(impi).digest().subarray(0, 8);
const userData = (impi: string, impus: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<IMSSubscription><PrivateID>${impi}</PrivateID><ServiceProfile>${impus
    .map((u) => `<PublicIdentity><Identity>${u}</Identity></PublicIdentity>`)
    .join('')}</ServiceProfile></IMSSubscription>`;

function rig(store: RegistrationStore = new MemoryRegistrationStore()) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0, 200));
  const random = new SeededRandom('in-process');
  const trace = new TraceBus(clock);
  const sars: number[] = [];
  const implicitSet = (impi: string) => [`sip:${impi}`, `tel:+1555${impi.length}`];
  const cx = {
    async mar(r: { userName: string }) {
      return {
        resultCode: 2001,
        sipAuthDataItems: [{ authenticationScheme: 'Digest-AKAv1-MD5', authenticate: random.bytes(32), authorization: xres(r.userName), confidentialityKey: random.bytes(16), integrityKey: random.bytes(16) }],
      };
    },
    async sar(r: { userName: string; serverAssignmentType: number }) {
      sars.push(r.serverAssignmentType);
      return { resultCode: 2001, ...(r.serverAssignmentType === SAT.REGISTRATION ? { userData: userData(r.userName, implicitSet(r.userName)) } : {}) };
    },
  };
  const hss = { cx: async () => cx } as unknown as HssLink;
  const directory = new Directory(
    [
      { name: 'pcscf1', kind: 'pcscf', address: '127.0.1.1', ports: { udp: 5060 }, domain: D },
      { name: 'icscf1', kind: 'icscf', address: '127.0.2.1', ports: { udp: 5060 }, domain: D },
      { name: 'scscf1', kind: 'scscf', address: '127.0.3.1', ports: { udp: 5060 }, domain: D },
    ],
    D,
  );
  const notifies: Array<{ request: SipRequest; to: TransportAddress }> = [];
  const transactions = {
    sendRequest(request: SipRequest, to: TransportAddress, h: { final: (r: SipResponse, cause: string) => void }) {
      notifies.push({ request, to });
      h.final({ status: 200 } as SipResponse, 'response');
    },
  };
  const regEvent = new RegEventNotifier({
    node: 'scscf1', clock, random, trace, directory, store, warnAgent: '127.0.3.1:5060', contact: () => 'sip:127.0.3.1:5060',
    transactions: transactions as never,
  });
  const registrar = new Registrar({
    node: 'scscf1', clock, random, trace, store, hss, serverName: `sip:scscf1.${D}:5060`, serviceRoute: 'sip:orig@127.0.3.1:5060;lr', realm: D,
    warnAgent: '127.0.3.1:5060', minExpires: 60, maxExpires: 600_000, defaultExpires: 3600, onChange: (c) => regEvent.changed(c),
  });
  cleanups.push(() => {
    registrar.stop();
    regEvent.stop();
  });
  const fromIcscf: ReceivedMessage = { source: { transport: 'udp', address: '127.0.2.1', port: 5060 }, local: { transport: 'udp', address: '127.0.3.1', port: 5060 } } as ReceivedMessage;

  let cseq = 0;
  const register = (user: string, auth: string, contacts: string[], expires = 600) =>
    registrar.register(
      parseMessage(
        Buffer.from(
          `REGISTER sip:${D} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.2.1:5060;branch=z9hG4bK${user}${++cseq}\r\nFrom: <sip:${user}@${D}>;tag=f${user}\r\nTo: <sip:${user}@${D}>\r\n` +
            `Call-ID: ${user}-call\r\nCSeq: ${cseq} REGISTER\r\n${contacts.map((c) => `Contact: <${c}>\r\n`).join('')}Expires: ${expires}\r\nAuthorization: ${auth}\r\n` +
            `Path: <sip:term@127.0.1.1:5060;lr>\r\nContent-Length: 0\r\n\r\n`,
        ),
      ) as SipRequest,
      fromIcscf,
    );
  /** REGISTER, 401, REGISTER with the answer: the final response. */
  const registerFully = async (user: string, contacts: string[], expires = 600) => {
    const impi = `${user}@${D}`;
    const first = await register(user, `Digest username="${impi}",realm="${D}",uri="sip:${D}",nonce="",response=""`, contacts, expires);
    expect(first.status).toBe(401);
    const ch = parseChallenge(first.headers.get('WWW-Authenticate')!);
    const response = computeDigestResponse({ username: impi, realm: D, password: xres(impi), method: 'REGISTER', uri: `sip:${D}`, nonce: ch.nonce!, qop: 'auth', nc: 1, cnonce: 'c0', algorithm: 'AKAv1-MD5' });
    return register(user, `Digest username="${impi}",realm="${D}",uri="sip:${D}",nonce="${ch.nonce}",response="${response}",algorithm=AKAv1-MD5,qop=auth,nc=00000001,cnonce="c0"`, contacts, expires);
  };
  /** A re-registration the P-CSCF vouches for (integrity-protected="yes", TS 24.229 §5.4.1.2.1): no challenge. */
  const reRegister = (user: string, contacts: string[], expires = 600) =>
    register(user, `Digest username="${user}@${D}",realm="${D}",uri="sip:${D}",nonce="",response="",integrity-protected="yes"`, contacts, expires);
  /** An initial SUBSCRIBE, or with `refresh` one within the dialog (RFC 6665 §4.2.1.2: its To tag, a higher CSeq). */
  const subscribe = (user: string, from: { address: string; uri: string }, refresh?: { toTag: string; cseq: number; expires: number }) =>
    regEvent.subscribe(
      parseMessage(
        Buffer.from(
          `SUBSCRIBE ${refresh ? 'sip:127.0.3.1:5060' : `sip:${user}@${D}`} SIP/2.0\r\nVia: SIP/2.0/UDP ${from.address}:5060;branch=z9hG4bKs${user}${refresh?.cseq ?? ''}\r\n` +
            `From: <${from.uri}>;tag=w${user}\r\nTo: <sip:${user}@${D}>${refresh ? `;tag=${refresh.toTag}` : ''}\r\n` +
            `Call-ID: sub-${user}\r\nCSeq: ${refresh?.cseq ?? 1} SUBSCRIBE\r\nEvent: reg\r\nExpires: ${refresh?.expires ?? 600000}\r\nContact: <sip:${from.address}:5060>\r\nContent-Length: 0\r\n\r\n`,
        ),
      ) as SipRequest,
      { source: { transport: 'udp', address: from.address, port: 5060 }, local: { transport: 'udp', address: '127.0.3.1', port: 5060 } } as ReceivedMessage,
    );
  /** The NOTIFY sent after the 200 (setImmediate), once the loop turns. */
  const turn = () => new Promise<void>((r) => setImmediate(r));
  return { clock, store, registrar, regEvent, notifies, sars, register, registerFully, reRegister, subscribe, turn };
}

const PCSCF = { address: '127.0.1.1', uri: `sip:pcscf1.${D}:5060` };

describe('S-CSCF registrar in-process', () => {
  it('the 200 carries Date as the clock reads it, to the second (RFC 3261 §20.17), and a new one when the second turns', async () => {
    const r = rig();
    const ok = await r.registerFully('alice', ['sip:alice@127.0.10.1:5070'], 7200);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('Date')).toBe('Thu, 01 Jan 2026 12:00:00 GMT');
    r.clock.advance(700);
    expect((await r.reRegister('alice', ['sip:alice@127.0.10.1:5070'], 7200)).headers.get('Date')).toBe('Thu, 01 Jan 2026 12:00:00 GMT');
    r.clock.advance(100);
    expect((await r.reRegister('alice', ['sip:alice@127.0.10.1:5070'], 7200)).headers.get('Date')).toBe('Thu, 01 Jan 2026 12:00:01 GMT');
    r.clock.advance(3_600_000);
    expect((await r.reRegister('alice', ['sip:alice@127.0.10.1:5070'], 7200)).headers.get('Date')).toBe('Thu, 01 Jan 2026 13:00:01 GMT');
  });

  it('the earliest contact expiry of the registration that was stored is the one that ends it: SAR TIMEOUT_DEREGISTRATION, terminated NOTIFY', async () => {
    const r = rig();
    await r.registerFully('bob', ['sip:bob@127.0.10.2:5070'], 120);
    expect(r.subscribe('bob', PCSCF).status).toBe(200);
    await r.turn();
    expect(r.notifies).toHaveLength(1);
    r.clock.advance(119_000);
    await r.turn();
    expect(r.store.byImpi(`bob@${D}`)?.contacts).toHaveLength(1);
    r.clock.advance(1_000);
    await r.turn();
    expect(r.store.byImpi(`bob@${D}`)).toBeUndefined();
    expect(r.sars).toEqual([SAT.REGISTRATION, SAT.TIMEOUT_DEREGISTRATION]);
    const last = r.notifies.at(-1)!.request;
    expect(last.headers.get('Subscription-State')).toBe('terminated;reason=noresource');
    expect(parseReginfoSafe(last.body.toString()).registrations[0]!.contacts[0]).toMatchObject({ state: 'terminated', event: 'expired', uri: 'sip:bob@127.0.10.2:5070' });
  });

  it('two watchers of one registration (its P-CSCF and the user, one Call-ID): each gets every NOTIFY, and both end with it', async () => {
    const r = rig();
    await r.registerFully('erin', ['sip:erin@127.0.10.5:5070']);
    expect(r.subscribe('erin', PCSCF).status).toBe(200);
    expect(r.subscribe('erin', { address: PCSCF.address, uri: `sip:erin@${D}` }).status).toBe(200);
    await r.turn();
    expect(r.regEvent.subscriptions).toHaveLength(2);
    expect(r.notifies).toHaveLength(2);
    const tags = new Set(r.notifies.map((n) => n.request.headers.get('From')));
    expect(tags.size).toBe(2);
    expect((await r.reRegister('erin', ['sip:erin@127.0.10.5:5070'], 300)).status).toBe(200);
    await r.turn();
    expect(r.notifies.slice(2).map((n) => n.request.headers.get('From')).sort()).toEqual([...tags].sort());
    expect((await r.reRegister('erin', ['sip:erin@127.0.10.5:5070'], 0)).status).toBe(200);
    await r.turn();
    const last = r.notifies.slice(4);
    expect(last).toHaveLength(2);
    for (const n of last) expect(n.request.headers.get('Subscription-State')).toBe('terminated;reason=noresource');
    expect(r.regEvent.subscriptions).toHaveLength(0);
  });

  it('subscriptions of one P-CSCF: each keeps its own dialog and expiry, the watcher as subscribed; a refresh moves the expiry', async () => {
    const r = rig();
    await r.registerFully('dave', ['sip:dave@127.0.10.6:5070'], 7200);
    await r.registerFully('fay', ['sip:fay@127.0.10.7:5070'], 7200);
    const t0 = r.clock.now();
    expect(r.subscribe('dave', PCSCF).status).toBe(200);
    await r.turn();
    r.clock.advance(5_000);
    const fay = r.subscribe('fay', PCSCF);
    await r.turn();
    const [d, f] = r.regEvent.subscriptions;
    expect([d!.impu, d!.localUri, d!.impi, d!.callId, d!.remoteTag]).toEqual([`sip:dave@${D}`, `sip:dave@${D}`, `dave@${D}`, 'sub-dave', 'wdave']);
    expect([f!.impu, f!.localUri, f!.impi, f!.callId, f!.localTag]).toEqual([`sip:fay@${D}`, `sip:fay@${D}`, `fay@${D}`, 'sub-fay', fay.headers.get('To')!.split('tag=')[1]]);
    for (const s of [d!, f!]) {
      expect([s.watcher, s.remoteUri, s.remoteTarget, s.routeSet, s.transport]).toEqual([PCSCF.uri, PCSCF.uri, 'sip:127.0.1.1:5060', [], 'udp']);
    }
    expect(d!.expiresAt).toBe(t0 + 600_000_000);
    expect(f!.expiresAt).toBe(t0 + 5_000 + 600_000_000);
    expect(r.notifies.map((n) => n.request.headers.get('Subscription-State'))).toEqual(['active;expires=600000', 'active;expires=600000']);
    const n = r.notifies[1]!.request;
    expect([n.uri, n.headers.get('From'), n.headers.get('To'), n.headers.get('Call-ID')]).toEqual([
      'sip:127.0.1.1:5060', `<sip:fay@${D}>;tag=${f!.localTag}`, `<${PCSCF.uri}>;tag=wfay`, 'sub-fay',
    ]);

    // A change 1,000 s on: the NOTIFY tells what is left of the subscription.
    r.clock.advance(1_000_000);
    expect((await r.reRegister('dave', ['sip:dave@127.0.10.6:5070'], 7200)).status).toBe(200);
    await r.turn();
    expect(r.notifies[2]!.request.headers.get('Subscription-State')).toBe('active;expires=598995');

    // RFC 6665 §4.2.1.2: a refresh within the dialog (its To tag, a higher CSeq) sets a new expiry.
    const refresh = r.subscribe('fay', PCSCF, { toTag: f!.localTag, cseq: 2, expires: 3600 });
    expect(refresh.status).toBe(200);
    await r.turn();
    expect(f!.expiresAt).toBe(r.clock.now() + 3_600_000);
    expect(f!.remoteCSeq).toBe(2);
    expect(r.notifies.at(-1)!.request.headers.get('Subscription-State')).toBe('active;expires=3600');
    expect(d!.expiresAt).toBe(t0 + 600_000_000);
    // Its expiry ends it alone: a terminated NOTIFY, and dave's subscription stays.
    r.clock.advance(3_600_000);
    await r.turn();
    expect(r.notifies.at(-1)!.request.headers.get('Subscription-State')).toBe('terminated;reason=timeout');
    expect(r.notifies.at(-1)!.request.headers.get('Call-ID')).toBe('sub-fay');
    expect(r.regEvent.subscriptions).toEqual([d]);
  });

  it('a watcher of an identity that leaves the implicit set (a new profile) still hears of the registration, to its end', async () => {
    const r = rig();
    const impi = `gina@${D}`;
    await r.registerFully('gina', ['sip:gina@127.0.10.8:5070'], 120);
    expect(r.subscribe('gina', PCSCF).status).toBe(200);
    await r.turn();
    expect(r.notifies).toHaveLength(1);
    // TS 29.228 §6.2.2: a PPR whose set no longer holds sip:gina (the identity watched).
    expect(r.registrar.updateProfile(impi, parseUserProfile(userData(impi, ['tel:+15550099'])))).toBe('new-set');
    await r.turn();
    expect(r.notifies).toHaveLength(2);
    expect(parseReginfoSafe(r.notifies[1]!.request.body.toString()).registrations.map((g) => g.aor)).toEqual(['tel:+15550099']);
    // A refresh within its dialog still finds it by its To, and the registration's end reaches it by its IMPI.
    const [sub] = r.regEvent.subscriptions;
    const refresh = r.subscribe('gina', PCSCF, { toTag: sub!.localTag, cseq: 2, expires: 600000 });
    expect(refresh.status).toBe(200);
    await r.turn();
    expect(r.notifies).toHaveLength(3);
    r.clock.advance(120_000);
    await r.turn();
    expect(r.notifies).toHaveLength(4);
    expect(r.notifies.at(-1)!.request.headers.get('Subscription-State')).toBe('terminated;reason=noresource');
    expect(r.notifies.at(-1)!.request.headers.get('Call-ID')).toBe('sub-gina');
    expect(r.regEvent.subscriptions).toHaveLength(0);
  });

  it('reginfo ids stay those of the registration across a re-registration, for every identity of the implicit set; versions count up', async () => {
    const r = rig();
    await r.registerFully('carol', ['sip:carol@127.0.10.3:5070']);
    const ids = { ...r.store.byImpi(`carol@${D}`)!.ids };
    expect(Object.keys(ids)).toEqual([`sip:carol@${D}`, 'tel:+155518']);
    expect(Object.values(ids).every((id) => /^[0-9a-f]{8}$/.test(id))).toBe(true);
    expect(r.subscribe('carol', PCSCF).status).toBe(200);
    await r.turn();
    r.clock.advance(5_000);
    expect((await r.reRegister('carol', ['sip:carol@127.0.10.3:5070'], 300)).status).toBe(200);
    expect(r.store.byImpi(`carol@${D}`)!.ids).toEqual(ids);
    const [full, partial] = r.notifies.map((n) => parseReginfoSafe(n.request.body.toString()));
    expect([full!.version, full!.state, partial!.version, partial!.state]).toEqual([0, 'full', 1, 'partial']);
    for (const doc of [full!, partial!]) expect(doc.registrations.map((g) => [g.aor, g.id])).toEqual(Object.entries(ids));
    expect(partial!.registrations[0]!.contacts[0]).toMatchObject({ event: 'shortened', expires: 300, durationRegistered: 5 });
  });

  it('a watcher is entitled by the Path its registration came along, a stranger is refused; the NOTIFY goes to the watcher Contact', async () => {
    const r = rig();
    await r.registerFully('dave', ['sip:dave@127.0.10.4:5070']);
    expect(r.subscribe('dave', { address: '127.0.9.9', uri: 'sip:stranger@127.0.9.9' }).status).toBe(403);
    // Twice: the Path's address is remembered after the first SUBSCRIBE, and it must still be the same answer.
    expect(r.subscribe('dave', PCSCF).status).toBe(200);
    expect(r.subscribe('dave', { address: '127.0.9.9', uri: 'sip:stranger@127.0.9.9' }).status).toBe(403);
    await r.turn();
    expect(r.notifies.map((n) => [n.request.uri, n.to])).toEqual([['sip:127.0.1.1:5060', { transport: 'udp', address: '127.0.1.1', port: 5060 }]]);
  });
});

describe('SQLite registration store rows', () => {
  function open(dir: string): SqliteRegistrationStore {
    const s = new SqliteRegistrationStore(dir, { node: 'scscf1', groupCommit: true });
    cleanups.push(() => s.close());
    return s;
  }
  const rows = (store: SqliteRegistrationStore) => {
    const db = new Database(store.path, { readonly: true });
    try {
      return db.prepare('SELECT impi, position, uri FROM contact ORDER BY impi, position').all();
    } finally {
      db.close();
    }
  };

  it('one row per contact after registration, re-registration with more, then fewer contacts, and de-registration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imslab-scscf-rows-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = open(dir);
    const r = rig(store);
    const impi = `erin@${D}`;
    expect((await r.registerFully('erin', ['sip:erin@127.0.10.5:5070'])).status).toBe(200);
    expect(rows(store)).toEqual([{ impi, position: 0, uri: 'sip:erin@127.0.10.5:5070' }]);
    expect((await r.reRegister('erin', ['sip:erin@127.0.10.5:5070', 'sip:erin@127.0.10.5:5071'])).status).toBe(200);
    expect(rows(store)).toEqual([
      { impi, position: 0, uri: 'sip:erin@127.0.10.5:5070' },
      { impi, position: 1, uri: 'sip:erin@127.0.10.5:5071' },
    ]);
    expect((await r.reRegister('erin', ['sip:erin@127.0.10.5:5070'], 0)).status).toBe(200);
    expect(rows(store)).toEqual([{ impi, position: 0, uri: 'sip:erin@127.0.10.5:5071' }]);
    // A store opened on the file (a restarted S-CSCF) reads back what the running one holds.
    expect(new SqliteRegistrationStore(dir, { node: 'scscf1' }).byImpi(impi)).toEqual(store.byImpi(impi));
    expect((await r.reRegister('erin', ['sip:erin@127.0.10.5:5071'], 0)).status).toBe(200);
    expect(rows(store)).toEqual([]);
    expect(store.byImpi(impi)).toBeUndefined();
  });
});
