import 'reflect-metadata';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { TraceBus, type NoteEvent, type PacketEvent, type TraceEvent } from '../../src/trace/events.js';
import { FakeClock, SystemClock } from '../../src/util/clock.js';
import { TransportLayer } from '../../src/sip/transport/layer.js';
import { parseMessage } from '../../src/sip/parser.js';
import { Headers, isRequest, type SipMessage, type SipResponse } from '../../src/sip/message.js';
import { callSettings, UeSettingsError, type Call, type CallState, type Ue } from '../../src/ue/index.js';
import {
  byeLeadMs,
  decideAsUas,
  parseMinSe,
  parseSessionExpires,
  SessionTimer,
  SessionTimerError,
  type RefreshOutcome,
  type SessionExpiry,
} from '../../src/ue/session-timer.js';
import { MediaWatchdog } from '../../src/ue/media-watchdog.js';
import { labUe } from './helpers/ue-node.js';

/**
 * RFC 4028 session timers and the RTP inactivity timeout of the simulated UE: the pure parts on a FakeClock,
 * then two UEs on real sockets (127.0.67.x) where one vanishes mid-call, its sockets closed without a BYE.
 */
const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
const A = '127.0.67.1';
const B = '127.0.67.2';
const BOB = `sip:bob@${DOMAIN}`;

describe('Session-Expires and Min-SE (RFC 4028 §4, §5)', () => {
  it('reads delta-seconds and the refresher, refuses what is not one', () => {
    expect(parseSessionExpires('1800;refresher=uac')).toEqual({ deltaSeconds: 1800, refresher: 'uac' });
    expect(parseSessionExpires(' 90 ; foo=bar ;REFRESHER=UAS')).toEqual({ deltaSeconds: 90, refresher: 'uas' });
    expect(parseSessionExpires('4')).toEqual({ deltaSeconds: 4 });
    expect(() => parseSessionExpires('soon')).toThrow(SessionTimerError);
    expect(() => parseSessionExpires('0')).toThrow(/zero/);
    expect(() => parseSessionExpires('90;refresher=proxy')).toThrow(/not uac or uas/);
    expect(parseMinSe('90;x=1')).toBe(90);
    expect(() => parseMinSe('-1')).toThrow(SessionTimerError);
  });

  it('the UAS grants, lowers to its own interval, or refuses below its Min-SE (§9, §6)', () => {
    const ours = { sessionExpiresS: 1800, minSeS: 90 };
    const h = (lines: Array<[string, string]>) => {
      const headers = new Headers();
      for (const [n, v] of lines) headers.append(n, v);
      return headers;
    };
    expect(decideAsUas(h([['Session-Expires', '600;refresher=uac']]), true, ours)).toEqual({ kind: 'timer', intervalS: 600, refresher: 'uac', requireTimer: true });
    expect(decideAsUas(h([['Session-Expires', '7200']]), false, ours)).toEqual({ kind: 'timer', intervalS: 1800, refresher: 'uas', requireTimer: false });
    expect(decideAsUas(h([['x', '60']]), true, ours)).toEqual({ kind: 'too-small', minSeS: 90 });
    expect(decideAsUas(h([]), false, ours)).toEqual({ kind: 'none' });
    expect(decideAsUas(h([]), true, ours)).toEqual({ kind: 'timer', intervalS: 1800, refresher: 'uac', requireTimer: true });
    expect(decideAsUas(h([['Session-Expires', 'abc']]), true, ours)).toMatchObject({ kind: 'bad' });
  });

  it('the non-refresher gives up min(32 s, SE/3) before expiry (§10)', () => {
    expect(byeLeadMs(1800)).toBe(32_000);
    expect(byeLeadMs(90)).toBe(30_000);
    expect(byeLeadMs(3)).toBe(1000);
  });

  it('UE settings: sessionExpires, minSe and mediaTimeoutMs are checked', () => {
    expect(callSettings('u', {})).toMatchObject({ sessionTimer: { sessionExpiresS: 1800, minSeS: 90 }, mediaTimeoutMs: 30_000 });
    expect(callSettings('u', { sessionExpires: 4 })).toMatchObject({ sessionTimer: { sessionExpiresS: 4, minSeS: 4 } });
    expect(() => callSettings('u', { sessionExpires: 2.5 })).toThrow(UeSettingsError);
    expect(() => callSettings('u', { sessionExpires: 60, minSe: 90 })).toThrow(/minSe 90/);
    expect(() => callSettings('u', { mediaTimeoutMs: 0 })).toThrow(/mediaTimeoutMs/);
  });
});

describe('SessionTimer on a FakeClock (RFC 4028 §10)', () => {
  function timer(weRefresh: boolean, answer: () => Promise<RefreshOutcome>) {
    const clock = new FakeClock();
    const sent: number[] = [];
    const ended: Array<{ at: number; why: SessionExpiry }> = [];
    const start = clock.now();
    const t = new SessionTimer(clock, {
      intervalS: 90,
      weRefresh,
      refresh: () => {
        sent.push(clock.now() - start);
        return answer();
      },
      expire: (why) => ended.push({ at: clock.now() - start, why }),
    });
    t.start();
    return { clock, t, sent, ended };
  }
  const flush = () => new Promise<void>((r) => setImmediate(r));

  it('the refresher refreshes at half the interval and again after each 2xx', async () => {
    const { clock, sent, ended } = timer(true, async () => ({ status: 200, cause: 'response' }));
    clock.advance(45_000);
    await flush();
    clock.advance(45_000);
    await flush();
    expect(sent).toEqual([45_000, 90_000]);
    expect(ended).toEqual([]);
  });

  it('a refresh answered 481 or timed out (408) ends the session at once; a 500 does not', async () => {
    for (const [outcome, ends] of [
      [{ status: 481, cause: 'response' }, true],
      [{ status: 408, cause: 'timeout' }, true],
      [{ status: 503, cause: 'transport-error' }, true],
      [{ status: 500, cause: 'response' }, false],
    ] as Array<[RefreshOutcome, boolean]>) {
      const { clock, ended } = timer(true, async () => outcome);
      clock.advance(45_000);
      await flush();
      expect(ended.length, `${outcome.status}`).toBe(ends ? 1 : 0);
      if (ends) expect(ended[0]).toEqual({ at: 45_000, why: { kind: 'refresh-failed', status: outcome.status, cause: outcome.cause } });
      else {
        // Left to expire: the refresher stops at the end of the interval.
        clock.advance(45_000);
        expect(ended).toEqual([{ at: 90_000, why: { kind: 'not-refreshed', intervalS: 90 } }]);
      }
    }
  });

  it('the other side ends the session at expiry minus SE/3 without a refresh, and waits again after one', () => {
    const { clock, t, ended } = timer(false, async () => ({ status: 200, cause: 'response' }));
    clock.advance(50_000);
    t.refreshed();
    clock.advance(59_999);
    expect(ended).toEqual([]);
    clock.advance(1);
    expect(ended).toEqual([{ at: 110_000, why: { kind: 'not-refreshed', intervalS: 90 } }]);
    expect(clock.pending).toBe(0);
  });

  it('stop() leaves no timer behind', () => {
    const { clock, t } = timer(true, async () => ({ status: 200, cause: 'response' }));
    t.stop();
    clock.advance(200_000);
    expect(clock.pending).toBe(0);
  });
});

describe('MediaWatchdog on a FakeClock', () => {
  it('fires once after the timeout of silence, not while media flows or is on hold', () => {
    const clock = new FakeClock();
    let received = 0;
    let expecting = true;
    const fired: number[] = [];
    const w = new MediaWatchdog(clock, { timeoutMs: 4000, received: () => received, expecting: () => expecting, silent: (ms) => fired.push(ms) });
    w.start();
    for (let i = 0; i < 10; i++) {
      received += 50;
      clock.advance(1000);
    }
    expecting = false;
    clock.advance(10_000);
    expect(fired).toEqual([]);
    expecting = true;
    clock.advance(3999);
    expect(fired).toEqual([]);
    clock.advance(1001);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(4000);
    clock.advance(10_000);
    expect(fired).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});

// ------------------------------------------------------------------ two UEs on sockets

interface Lab {
  bus: TraceBus;
  events: TraceEvent[];
  alice: Ue;
  bob: Ue;
  transports: Map<string, TransportLayer>;
}

let labs: Lab[] = [];

async function lab(aliceSettings: Record<string, unknown>, bobSettings: Record<string, unknown>): Promise<Lab> {
  const bus = new TraceBus(new SystemClock());
  const events: TraceEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  const transports = new Map<string, TransportLayer>();
  // T1 25 ms: a request to a vanished peer times out after 64·T1 = 1.6 s (RFC 3261 §17.1.2.2 Timer F).
  const timers = { t1: 25, t2: 400, t4: 200 };
  const a = labUe('alice', { alice: A, bob: B }, bus, aliceSettings, timers);
  const b = labUe('bob', { alice: A, bob: B }, bus, bobSettings, timers);
  transports.set('alice', a.transport);
  transports.set('bob', b.transport);
  const alice = a.ue;
  const bob = b.ue;
  const l = { bus, events, alice, bob, transports };
  labs.push(l);
  await alice.start();
  await bob.start();
  return l;
}

afterEach(async () => {
  for (const l of labs) {
    await l.alice.stop().catch(() => undefined);
    await l.bob.stop().catch(() => undefined);
  }
  labs = [];
});

/** The UE disappears: its SIP socket closes and its call's media stops, and nothing is said to the peer. */
async function vanish(l: Lab, who: 'alice' | 'bob'): Promise<void> {
  const ue = l[who];
  const calls = ue.calls;
  await l.transports.get(who)!.close();
  await Promise.all(calls.map((c) => c.release('vanished')));
}

function sent(l: Lab, node: string): SipMessage[] {
  return l.events.filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.node === node && e.direction === 'send').map((e) => parseMessage(e.bytes));
}

function requests(l: Lab, node: string, method: string) {
  return sent(l, node).filter((m) => isRequest(m) && m.method === method);
}

function notes(l: Lab, node: string, clause: RegExp): NoteEvent[] {
  return l.events.filter((e): e is NoteEvent => e.type === 'note' && e.node === node && clause.test(e.clause ?? ''));
}

function state(call: Call, want: CallState['state'], ms: number): Promise<CallState> {
  return firstValueFrom(call.state$.pipe(filter((s) => s.state === want), timeout(ms)));
}

function incomingCall(ue: Ue, ms: number): Promise<Call> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      const c = ue.calls.find((x) => x.direction === 'incoming' && x.state.state === 'confirmed');
      if (c) resolve(c);
      else if (Date.now() - started > ms) reject(new Error(`${ue.name} has no confirmed incoming call after ${ms} ms`));
      else setImmediate(poll);
    };
    poll();
  });
}

describe('UE session timers on the wire (RFC 4028 §7, §9, §10)', () => {
  it('INVITE asks for the interval, the 2xx grants it with Require: timer, the caller refreshes with UPDATE at half of it', async () => {
    const l = await lab({ sessionExpires: 2, mediaTimeoutMs: 60_000 }, { sessionExpires: 2 });
    const call = l.alice.call(BOB, { routeSet: [] });
    await state(call, 'confirmed', 5000);
    const invite = requests(l, 'alice', 'INVITE')[0]!;
    expect(invite.headers.get('Session-Expires')).toBe('2;refresher=uac');
    expect(invite.headers.get('Min-SE')).toBe('2');
    expect(invite.headers.list('Supported')).toContain('timer');
    const ok = sent(l, 'bob').find((m) => !isRequest(m) && m.status === 200 && m.headers.get('CSeq')!.endsWith('INVITE'))!;
    expect(ok.headers.get('Session-Expires')).toBe('2;refresher=uac');
    expect(ok.headers.list('Require')).toContain('timer');

    // Two refresh cycles: each UPDATE answered 200 with the interval, the call still up after 2 intervals.
    const second = firstValueFrom(
      l.bus.events$.pipe(
        filter(() => sent(l, 'bob').filter((m) => !isRequest(m) && m.status === 200 && m.headers.get('CSeq')!.endsWith('UPDATE')).length >= 2),
        timeout(5000),
      ),
    );
    await second;
    const updates = requests(l, 'alice', 'UPDATE');
    expect(updates.length).toBeGreaterThanOrEqual(2);
    for (const u of updates) {
      expect(u.headers.get('Session-Expires')).toBe('2;refresher=uac');
      expect(u.body.length).toBe(0);
    }
    expect(call.state.state).toBe('confirmed');
    expect(requests(l, 'alice', 'BYE')).toHaveLength(0);
    expect(requests(l, 'bob', 'BYE')).toHaveLength(0);
  }, 15_000);

  it('an interval below the callee’s Min-SE is refused with 422 and Min-SE', async () => {
    const l = await lab({ mediaTimeoutMs: 60_000 }, { minSe: 120 });
    const call = l.alice.call(BOB, { routeSet: [], sessionExpires: 60 });
    const end = await state(call, 'terminated', 5000);
    expect(end.status).toBe(422);
    const refusal = sent(l, 'bob').find((m): m is SipResponse => !isRequest(m) && m.status === 422)!;
    expect(refusal.reason).toBe('Session Interval Too Small');
    expect(refusal.headers.get('Min-SE')).toBe('120');
    expect(l.bob.calls).toHaveLength(0);
  });

  it('bob vanishes: alice’s refresh times out (408), she sends BYE and the trace says the peer is gone', async () => {
    const l = await lab({ sessionExpires: 4, mediaTimeoutMs: 60_000 }, { sessionExpires: 4 });
    const call = l.alice.call(BOB, { routeSet: [] });
    await state(call, 'confirmed', 5000);
    await incomingCall(l.bob, 2000);
    const t0 = Date.now();
    await vanish(l, 'bob');
    // Refresh at 2 s, Timer F 1.6 s later, then the BYE's own 1.6 s: well inside 10 s.
    const end = await state(call, 'terminated', 10_000);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(3000);
    expect(end.reason).toMatch(/session refresh failed \(408\)/);
    const gone = notes(l, 'alice', /RFC 4028 §10/);
    expect(gone).toHaveLength(1);
    expect(gone[0]!.level).toBe('warn');
    expect(gone[0]!.text).toContain(`session refresh to ${BOB} failed (408, timeout): the peer is gone; call ended`);
    expect(requests(l, 'alice', 'UPDATE').length).toBeGreaterThanOrEqual(1);
    const bye = requests(l, 'alice', 'BYE');
    expect(bye.length).toBeGreaterThanOrEqual(1);
    expect(l.alice.calls).toHaveLength(0);
  }, 15_000);

  it('alice (the refresher) vanishes: bob gets no refresh and ends the call at expiry minus SE/3', async () => {
    const l = await lab({ sessionExpires: 3, mediaTimeoutMs: 60_000 }, { sessionExpires: 3, mediaTimeoutMs: 60_000 });
    const call = l.alice.call(BOB, { routeSet: [] });
    await state(call, 'confirmed', 5000);
    const bobCall = await incomingCall(l.bob, 2000);
    await vanish(l, 'alice');
    const end = await state(bobCall, 'terminated', 8000);
    expect(end.reason).toMatch(/session expired/);
    const gone = notes(l, 'bob', /RFC 4028 §10/);
    expect(gone).toHaveLength(1);
    expect(gone[0]!.text).toMatch(/no session refresh from sip:alice@[^ ]+ within the 3 s session interval: the peer is gone; call ended/);
    // The BYE left 2 s (3 s − 1 s) after the 2xx, with no UPDATE from alice before it.
    const byeEvent = l.events.find((e): e is PacketEvent => e.type === 'packet' && e.node === 'bob' && e.direction === 'send' && e.protocol === 'sip' && e.bytes.subarray(0, 4).toString() === 'BYE ')!;
    const okEvent = l.events.find((e): e is PacketEvent => e.type === 'packet' && e.node === 'bob' && e.direction === 'send' && e.protocol === 'sip' && e.bytes.subarray(0, 11).toString() === 'SIP/2.0 200')!;
    expect(byeEvent.time - okEvent.time).toBeGreaterThanOrEqual(1900);
    expect(byeEvent.time - okEvent.time).toBeLessThan(2600);
    expect(requests(l, 'alice', 'UPDATE')).toHaveLength(0);
  }, 15_000);
});

describe('UE RTP inactivity', () => {
  it('bob vanishes: alice hears no RTP for mediaTimeoutMs and ends the call with BYE, the trace says so', async () => {
    const l = await lab({ mediaTimeoutMs: 1000 }, {});
    const call = l.alice.call(BOB, { routeSet: [] });
    await state(call, 'confirmed', 5000);
    await incomingCall(l.bob, 2000);
    // Media flows first: the watchdog sees packets and stays quiet while it does.
    await firstValueFrom(l.bus.events$.pipe(filter((e) => e.type === 'packet' && e.node === 'alice' && e.protocol === 'rtp' && e.direction === 'recv'), timeout(3000)));
    await vanish(l, 'bob');
    const end = await state(call, 'terminated', 8000);
    expect(end.reason).toMatch(/no RTP received/);
    const silent = l.events.filter((e): e is NoteEvent => e.type === 'note' && e.node === 'alice' && /no RTP from/.test(e.text));
    expect(silent).toHaveLength(1);
    expect(silent[0]!.text).toMatch(new RegExp(`no RTP from ${BOB.replace(/\./g, '\\.')} for 1\\.\\d s: call ended`));
    // One BYE transaction (UDP retransmits it until Timer F): one CSeq.
    expect(new Set(requests(l, 'alice', 'BYE').map((m) => m.headers.get('CSeq'))).size).toBe(1);
    expect(notes(l, 'alice', /RFC 4028/).filter((n) => n.level === 'warn')).toHaveLength(0);
  }, 15_000);

  it('a call on hold is not silence: the held side keeps the call past the timeout', async () => {
    const l = await lab({ mediaTimeoutMs: 600 }, { mediaTimeoutMs: 600 });
    const call = l.alice.call(BOB, { routeSet: [] });
    await state(call, 'confirmed', 5000);
    await incomingCall(l.bob, 2000);
    await call.hold();
    // Alice sends only (sendonly), bob receives; after 3 timeouts both still have the call.
    const later = Date.now() + 1800;
    await firstValueFrom(l.bus.events$.pipe(filter(() => Date.now() >= later), timeout(4000)));
    expect(call.state.state).toBe('confirmed');
    expect(l.bob.calls.map((c) => c.state.state)).toEqual(['confirmed']);
    expect(l.events.some((e) => e.type === 'note' && /no RTP from/.test(e.text))).toBe(false);
  }, 10_000);
});
