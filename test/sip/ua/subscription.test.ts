import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TraceBus } from '../../../src/trace/events.js';
import { FakeClock } from '../../../src/util/clock.js';
import type { SipRequest } from '../../../src/sip/message.js';
import { Notifier, Subscription, type SubscriptionStatus } from '../../../src/sip/ua/index.js';
import { collect, isReq, nextMessage, startStack, type Stack } from './stack.js';

const A = '127.0.43.11';
const B = '127.0.43.12';

function statusOf(s: Subscription, want: (x: SubscriptionStatus) => boolean): Promise<SubscriptionStatus> {
  return firstValueFrom(s.status$.pipe(filter(want), timeout(3000)));
}

describe('RFC 6665 subscriptions between two UAs on loopback', () => {
  let bus: TraceBus;
  let clock: FakeClock;
  let a: Stack;
  let b: Stack;
  let notifiers: Notifier[];
  let terminated: string[];
  let version: number;

  beforeEach(async () => {
    clock = new FakeClock();
    bus = new TraceBus(clock);
    a = await startStack('sub', A, bus, clock);
    b = await startStack('notifier', B, bus, clock);
    notifiers = [];
    terminated = [];
    version = 0;
    b.ua.onRequest('SUBSCRIBE', (inc) => {
      const n = Notifier.accept(b.ua, inc, {
        event: 'reg',
        contentType: 'text/plain',
        defaultExpires: 3761,
        minExpires: 60,
        maxExpires: 3600,
        fullState: () => `full ${version++}`,
        onTerminated: (reason) => terminated.push(reason),
      });
      if (n) notifiers.push(n);
    });
  });
  afterEach(async () => {
    for (const n of notifiers) n.close();
    await a.close();
    await b.close();
  });

  /** The notifier has the subscriber's 200 to its NOTIFY: nothing is in flight when the FakeClock jumps. */
  function notifyAnswered() {
    return nextMessage(bus, (m, e) => e.node === 'notifier' && e.direction === 'recv' && !('method' in m) && m.status === 200 && (m.headers.get('CSeq') ?? '').endsWith('NOTIFY'));
  }

  function subscription(expires = 7200): Subscription {
    return new Subscription(a.ua, { event: 'reg', target: `sip:notifier@${B}:${b.port}`, accept: 'text/plain', expires });
  }

  it('answers 200 (not 202) with the granted Expires, forms the dialog and sends a full NOTIFY at once', async () => {
    const s = subscription();
    const notes: string[] = [];
    s.notifications$.subscribe((n) => notes.push(`${n.subscriptionState.state}:${n.body.toString()}`));
    const firstNotify = nextMessage(bus, (m, e) => e.node === 'sub' && e.direction === 'recv' && isReq('NOTIFY')(m));
    const r = await s.subscribe();
    expect(r.response.status).toBe(200);
    // Shortened to the notifier's maximum (§4.2.1.1).
    expect(r.response.headers.get('Expires')).toBe('3600');
    expect(r.response.headers.get('Contact')).toBe(`<${b.ua.contact}>`);
    const notify = (await firstNotify).message as SipRequest;
    expect(notify.headers.get('Event')).toBe('reg');
    expect(notify.headers.get('Subscription-State')).toBe('active;expires=3600');
    expect(notify.headers.get('Call-ID')).toBe(r.request.headers.get('Call-ID'));
    expect(notify.headers.get('To')).toBe(r.request.headers.get('From'));
    expect(notify.uri).toBe(a.ua.contact);
    const active = await statusOf(s, (x) => x.state === 'active');
    expect(active.expires).toBe(3600);
    expect(notes).toEqual(['active:full 0']);
    expect(a.ua.dialogCount).toBe(1);
    expect(b.ua.dialogCount).toBe(1);
  });

  it('refreshes in the dialog 600 s before expiry on the FakeClock, and the notifier sends the full state again', async () => {
    const s = subscription();
    const answered = notifyAnswered();
    await s.subscribe();
    await answered;
    const subscribes = collect(bus, (m, e) => e.node === 'notifier' && e.direction === 'recv' && isReq('SUBSCRIBE')(m));
    const notify2 = nextMessage(bus, (m, e) => e.node === 'sub' && e.direction === 'recv' && isReq('NOTIFY')(m) && m.body.toString() === 'full 1');
    clock.advance(2999_000);
    expect(subscribes).toHaveLength(0);
    clock.advance(1000);
    const n = (await notify2).message as SipRequest;
    expect(subscribes).toHaveLength(1);
    const refresh = subscribes[0] as SipRequest;
    expect(refresh.headers.get('CSeq')).toBe('2 SUBSCRIBE');
    expect(refresh.headers.get('To')).toMatch(/;tag=/);
    expect(refresh.headers.get('Expires')).toBe('7200');
    expect(n.headers.get('Subscription-State')).toBe('active;expires=3600');
    expect(s.state).toBe('active');
    expect(notifiers).toHaveLength(1);
  });

  it('delivers partial NOTIFYs on change and ends on the notifier\'s terminated NOTIFY with its reason', async () => {
    const s = subscription();
    const bodies: string[] = [];
    s.notifications$.subscribe((n) => bodies.push(n.body.toString()));
    await s.subscribe();
    await statusOf(s, (x) => x.state === 'active');
    const r = await notifiers[0]!.notify('partial change');
    expect(r?.response.status).toBe(200);
    clock.advance(100_000);
    const r2 = await notifiers[0]!.terminate('deactivated', 'bye');
    expect(r2?.response.status).toBe(200);
    const end = await statusOf(s, (x) => x.state === 'terminated');
    expect(end.reason).toBe('deactivated');
    expect(bodies).toEqual(['full 0', 'partial change', 'bye']);
    expect(terminated).toEqual(['deactivated']);
    expect(a.ua.dialogCount).toBe(0);
    expect(b.ua.dialogCount).toBe(0);
  });

  it('unsubscribe: SUBSCRIBE Expires 0 gets 200 and a NOTIFY terminated;reason=timeout', async () => {
    const s = subscription();
    await s.subscribe();
    await statusOf(s, (x) => x.state === 'active');
    const last = nextMessage(bus, (m, e) => e.node === 'sub' && e.direction === 'recv' && isReq('NOTIFY')(m) && (m.headers.get('Subscription-State') ?? '').startsWith('terminated'));
    await s.unsubscribe();
    expect(((await last).message as SipRequest).headers.get('Subscription-State')).toBe('terminated;reason=timeout');
    await statusOf(s, (x) => x.state === 'terminated');
    expect(terminated).toEqual(['timeout']);
  });

  it('the notifier ends an unrefreshed subscription at expiry with reason=timeout; the gone subscriber answers 481', async () => {
    const s = subscription(120);
    const answered = notifyAnswered();
    await s.subscribe();
    await answered;
    s.close();
    const answer = nextMessage(bus, (m, e) => e.node === 'notifier' && e.direction === 'recv' && !('method' in m) && m.status === 481);
    clock.advance(120_000);
    await answer;
    expect(terminated).toEqual(['timeout']);
    expect(b.ua.dialogCount).toBe(0);
  });

  it('refuses another event package with 489 and a too short Expires with 423 + Min-Expires', async () => {
    const other = new Subscription(a.ua, { event: 'presence', target: `sip:notifier@${B}:${b.port}`, expires: 600 });
    const r = await other.subscribe();
    expect(r.response.status).toBe(489);
    expect(r.response.headers.get('Allow-Events')).toBe('reg');
    expect(other.state).toBe('terminated');
    const short = subscription(10);
    const r2 = await short.subscribe();
    expect(r2.response.status).toBe(423);
    expect(r2.response.headers.get('Min-Expires')).toBe('60');
    expect(short.status$.value.reason).toBe('423 Interval Too Brief');
    expect(notifiers).toHaveLength(0);
  });

  it('a NOTIFY that overtakes the 2xx forms the dialog (§4.1.2.4)', async () => {
    // A notifier that sends the NOTIFY before answering the SUBSCRIBE.
    b.ua.onRequest('SUBSCRIBE', (inc) => {
      const n = Notifier.accept(b.ua, { ...inc, respond: () => inc.request as never } as never, {
        event: 'reg',
        contentType: 'text/plain',
        defaultExpires: 600,
        fullState: () => 'early',
      });
      if (n) notifiers.push(n);
      void firstValueFrom(bus.events$.pipe(filter((e) => e.type === 'packet' && e.node === 'notifier' && e.direction === 'recv' && e.bytes.toString().startsWith('SIP/2.0 200')), timeout(3000))).then(() =>
        inc.respond(200, { headers: [['Expires', '600'], ['Contact', `<${b.ua.contact}>`]] }),
      );
    });
    const s = subscription(600);
    const bodies: string[] = [];
    s.notifications$.subscribe((n) => bodies.push(n.body.toString()));
    const r = await s.subscribe();
    expect(r.response.status).toBe(200);
    expect(bodies).toEqual(['early']);
    expect(s.dialog?.remoteTag).toBe(notifiers[0]!.dialog.localTag);
    expect(a.ua.dialogCount).toBe(1);
  });
});
