/**
 * The P-CSCF's reg-event watches in their light form (TS 24.229 §5.2.3, RFC 6665): one listener and one
 * deadline queue for all of them, the SUBSCRIBE forgotten at its final response, and still the refresh
 * before expiry (§4.1.2.1) with a fresh P-Charging-Vector, on a FakeClock against a real notifier.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegEventSubscriber } from '../../src/pcscf/reg-event.js';
import { RegistrationCache, type PcscfRegistration } from '../../src/pcscf/registration-cache.js';
import type { SipRequest } from '../../src/sip/message.js';
import { Notifier } from '../../src/sip/ua/notifier.js';
import { TraceBus } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { collect, isReq, startStack, type Stack } from '../sip/ua/stack.js';

const P = '127.0.63.1';
const S = '127.0.63.2';
const DOMAIN = 'ims.light.test';
const impu = (i: number) => `sip:user${i}@${DOMAIN}`;

describe('P-CSCF reg-event watches on one listener and one deadline queue', () => {
  let clock: FakeClock;
  let bus: TraceBus;
  let p: Stack;
  let s: Stack;
  let cache: RegistrationCache;
  let watcher: RegEventSubscriber;
  let notifiers: Notifier[];
  let icid: number;

  beforeEach(async () => {
    clock = new FakeClock();
    bus = new TraceBus(clock);
    p = await startStack('pcscf', P, bus, clock);
    s = await startStack('scscf', S, bus, clock);
    notifiers = [];
    icid = 0;
    let version = 0;
    s.ua.onRequest('SUBSCRIBE', (inc) => {
      // The S-CSCF shortens 600,000 s to an hour here, so that the refresh falls at 3000 s (TS 24.229 §5.1.1.3 rule).
      const n = Notifier.accept(s.ua, inc, { event: 'reg', contentType: 'application/reginfo+xml', defaultExpires: 3600, maxExpires: 3600, fullState: () => reginfo(version++) });
      if (n) notifiers.push(n);
    });
    cache = new RegistrationCache(clock);
    watcher = new RegEventSubscriber({ node: 'pcscf', trace: bus, ua: p.ua, cache, identity: p.ua.contact, chargingVector: () => `icid-value=icid${icid++}` });
  });
  afterEach(async () => {
    watcher.stop();
    for (const n of notifiers) n.close();
    await p.close();
    await s.close();
  });

  function registration(i: number): PcscfRegistration {
    const now = clock.now();
    return {
      contact: `sip:ue${i}@10.0.0.${i}:5060`,
      impus: [impu(i)],
      registeredImpu: impu(i),
      serviceRoute: [`<sip:orig@${S}:${s.port};lr>`],
      path: `<sip:term@${P}:${p.port};lr>`,
      ue: { transport: 'udp', address: `10.0.0.${i}`, port: 5060 },
      callId: `call-${i}`,
      registeredAt: now,
      refreshedAt: now,
      expiresAt: now + 600_000_000,
    };
  }

  async function watchAll(count: number): Promise<void> {
    const answered = collect(bus, (m, e) => e.node === 'scscf' && e.direction === 'recv' && !('method' in m) && (m.headers.get('CSeq') ?? '').endsWith('NOTIFY'));
    for (let i = 1; i <= count; i++) {
      const reg = registration(i);
      cache.put(reg);
      watcher.watch(reg);
    }
    const deadline = Date.now() + 3000;
    while (answered.length < count && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(answered).toHaveLength(count);
  }

  it('subscribes once per default identity, forgets each SUBSCRIBE at its 200, and refreshes every one 600 s before expiry with a fresh P-Charging-Vector', async () => {
    await watchAll(3);
    expect(watcher.size).toBe(3);
    for (let i = 1; i <= 3; i++) {
      const sub = watcher.subscription(impu(i))!;
      expect(sub.state).toBe('active');
      expect(sub.status.expires).toBe(3600);
      expect(sub.holdsInitialRequest).toBe(false);
      expect(sub.dialog?.remoteTarget).toBe(s.ua.contact);
    }
    const refreshes = collect(bus, (m, e) => e.node === 'scscf' && e.direction === 'recv' && isReq('SUBSCRIBE')(m));
    clock.advance(2_999_000);
    expect(refreshes).toHaveLength(0);
    const refreshNotifies = collect(bus, (m, e) => e.node === 'scscf' && e.direction === 'recv' && !('method' in m) && m.headers.get('CSeq') === '2 NOTIFY');
    clock.advance(1000);
    const deadline = Date.now() + 3000;
    while ((refreshes.length < 3 || refreshNotifies.length < 3) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(refreshes).toHaveLength(3);
    expect(refreshNotifies).toHaveLength(3);
    const vectors = new Set<string>();
    for (const r of refreshes as SipRequest[]) {
      expect(r.headers.get('To')).toMatch(/;tag=/);
      expect(r.headers.get('CSeq')).toBe('2 SUBSCRIBE');
      expect(r.headers.get('Expires')).toBe('600000');
      expect(r.headers.get('P-Asserted-Identity')).toBe(`<${p.ua.contact}>`);
      vectors.add(r.headers.get('P-Charging-Vector')!);
    }
    // Three initial SUBSCRIBEs took icid0..icid2; each refresh has one of its own.
    expect([...vectors].sort()).toEqual(['icid-value=icid3', 'icid-value=icid4', 'icid-value=icid5']);
    for (let i = 1; i <= 3; i++) expect(watcher.subscription(impu(i))!.state).toBe('active');
    // The refreshed deadlines moved later: nothing fires at the old expiry (3600 s after the start).
    clock.advance(700_000);
    expect(watcher.size).toBe(3);
  });

  it('a refresh answered 481 ends that watch only, and the map forgets it through the shared listener', async () => {
    await watchAll(2);
    // The notifier forgets the first subscription without a word: its dialog is gone, a refresh gets 481.
    const gone = notifiers.find((n) => n.dialog.remoteTag === watcher.subscription(impu(1))!.dialog!.localTag)!;
    gone.close();
    const answered = collect(bus, (m, e) => e.node === 'pcscf' && e.direction === 'recv' && !('method' in m) && (m.headers.get('CSeq') ?? '').endsWith('SUBSCRIBE'));
    clock.advance(3_000_000);
    const deadline = Date.now() + 3000;
    while (answered.length < 2 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(answered.map((r) => ('status' in r ? r.status : 0)).sort()).toEqual([200, 481]);
    expect(watcher.subscription(impu(1))).toBeUndefined();
    expect(watcher.subscription(impu(2))?.state).toBe('active');
    expect(watcher.size).toBe(1);
  });

  it('a removed registration drops its watch; a watch whose refresh is never answered ends at its expiry (timeout)', async () => {
    await watchAll(2);
    cache.remove(registration(2).contact, 'deregistered');
    expect(watcher.size).toBe(1);
    const sub = watcher.subscription(impu(1))!;
    // The S-CSCF goes silent: the refresh at 3000 s times out (Timer F), which leaves the subscription to run out.
    await s.close();
    clock.advance(3_000_000);
    for (let k = 0; k < 40; k++) {
      clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    expect(sub.state).toBe('active');
    expect(watcher.size).toBe(1);
    clock.advance(560_000);
    expect(sub.status).toEqual({ state: 'terminated', reason: 'timeout' });
    expect(watcher.size).toBe(0);
    s = await startStack('scscf', S, bus, clock);
  });
});

function reginfo(version: number): string {
  return `<?xml version="1.0"?><reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="${version}" state="full"></reginfo>`;
}
