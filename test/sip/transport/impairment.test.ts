import { afterEach, describe, expect, it } from 'vitest';
import { Headers, SipRequest } from '../../../src/sip/message.js';
import { TraceBus, type TraceEvent } from '../../../src/trace/events.js';
import { FakeClock, SystemClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import type { TransportAddress } from '../../../src/sip/transport/types.js';
import { closeAll, newTrace, startNode } from './helpers.js';

afterEach(closeAll);

const A = '127.0.20.1';
const B = '127.0.20.2';

function request(from: TransportAddress, i: number): SipRequest {
  return new SipRequest(
    'MESSAGE',
    `sip:bob@${B}`,
    new Headers()
      .append('Via', `SIP/2.0/${from.transport.toUpperCase()} ${A}:${from.port};branch=z9hG4bK-${i}`)
      .append('From', '<sip:a@x>;tag=1')
      .append('To', '<sip:b@x>')
      .append('Call-ID', `imp-${i}`)
      .append('CSeq', `${i} MESSAGE`),
  );
}

describe('link impairment through the transport layer', () => {
  it('loses about 30 % of 300 datagrams with loss 0.3; the same seed loses the same ones', async () => {
    const run = async () => {
      const trace = new TraceBus(new SystemClock());
      const events: TraceEvent[] = [];
      trace.events$.subscribe((e) => events.push(e));
      const a = await startNode('a', A, trace, { random: new SeededRandom(7), impairment: { loss: 0.3 } });
      const b = await startNode('b', B, trace);
      const seen: string[] = [];
      b.inbound.subscribe((m) => seen.push(m.message.headers.get('Call-ID')!));
      const lostNotes = () => events.filter((e) => e.type === 'note' && e.node === 'a' && /lost/.test(e.text)).length;
      for (let i = 0; i < 300; i++) await a.layer.send(request(a.layer.localAddress('udp'), i), b.layer.localAddress('udp'));
      const expected = 300 - lostNotes();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${seen.length} of ${expected} arrived`)), 3000);
        const check = () => (seen.length >= expected ? (clearTimeout(t), resolve()) : setImmediate(check));
        check();
      });
      await closeAll();
      return { lost: lostNotes(), seen };
    };
    const first = await run();
    const second = await run();
    expect(first.lost).toBeGreaterThan(60);
    expect(first.lost).toBeLessThan(120);
    expect(first.seen).toHaveLength(300 - first.lost);
    expect(second).toEqual(first);
  });

  it('only delays TCP, in order, on the clock', async () => {
    const clock = new FakeClock();
    const { trace } = newTrace();
    const a = await startNode('a', A, trace, { clock, impairment: { delay: 100, jitter: 50, loss: 1 } });
    const b = await startNode('b', B, trace);
    const seen: string[] = [];
    b.inbound.subscribe((m) => seen.push(m.message.headers.get('Call-ID')!));
    const arrived = b.next(5);
    for (let i = 0; i < 5; i++) await a.layer.send(request(a.layer.localAddress('tcp'), i), b.layer.localAddress('tcp'));
    expect(clock.pending).toBe(5);
    clock.advance(99);
    expect(clock.pending).toBe(5);
    clock.advance(60 * 5);
    expect(clock.pending).toBe(0);
    // Loss 1 does not apply to a stream: all five arrive, in the order sent, whatever the jitter drew.
    expect((await arrived).map((m) => m.message.headers.get('Call-ID'))).toEqual(['imp-0', 'imp-1', 'imp-2', 'imp-3', 'imp-4']);
  });

  it('can impair one destination only', async () => {
    const { trace } = newTrace();
    const a = await startNode('a', A, trace);
    const b = await startNode('b', B, trace);
    const c = await startNode('c', '127.0.20.3', trace);
    a.layer.impairment.set({ loss: 1 }, { address: B });
    const lost = new Promise<void>((resolve) =>
      trace.events$.subscribe((e) => e.type === 'note' && /lost/.test(e.text) && resolve()),
    );
    await a.layer.send(request(a.layer.localAddress('udp'), 1), b.layer.localAddress('udp'));
    await lost;
    const atC = c.next();
    await a.layer.send(request(a.layer.localAddress('udp'), 2), c.layer.localAddress('udp'));
    expect((await atC)[0]!.message.headers.get('Call-ID')).toBe('imp-2');
  });
});
