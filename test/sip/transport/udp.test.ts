import { afterEach, describe, expect, it } from 'vitest';
import { TraceBus, type PacketEvent, type TraceEvent } from '../../../src/trace/events.js';
import { FakeClock, SystemClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { UdpTransport } from '../../../src/sip/transport/udp.js';
import { LinkImpairment } from '../../../src/sip/transport/impairment.js';
import type { WireMessage } from '../../../src/sip/transport/wire.js';

const open: UdpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function collect(trace: TraceBus): TraceEvent[] {
  const events: TraceEvent[] = [];
  trace.events$.subscribe((e) => events.push(e));
  return events;
}

async function udp(node: string, address: string, trace: TraceBus, impairment?: LinkImpairment, clock = new SystemClock()) {
  const t = new UdpTransport({ node, address, port: 0, trace, clock, impairment, maxMessageSize: 65535 });
  open.push(t);
  await t.start();
  return t;
}

function nextDatagrams(t: UdpTransport, count: number, timeoutMs = 2000): Promise<WireMessage[]> {
  const got: WireMessage[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} datagrams arrived`)), timeoutMs);
    t.onDatagram((m) => {
      got.push(m);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

describe('UdpTransport', () => {
  it('sends from its own bound address and traces each datagram once per direction with the exact bytes', async () => {
    const trace = new TraceBus(new SystemClock());
    const events = collect(trace);
    const a = await udp('a', '127.0.20.1', trace);
    const b = await udp('b', '127.0.20.2', trace);
    const payload = Buffer.from('OPTIONS sip:b SIP/2.0\r\n\r\n');
    const arrived = nextDatagrams(b, 1);
    await a.send(payload, b.local);
    const [m] = await arrived;
    expect(m!.source).toEqual({ transport: 'udp', address: '127.0.20.1', port: a.local.port });
    expect(m!.bytes.equals(payload)).toBe(true);
    const packets = events.filter((e): e is PacketEvent => e.type === 'packet');
    expect(packets.map((p) => [p.node, p.direction])).toEqual([
      ['a', 'send'],
      ['b', 'recv'],
    ]);
    expect(packets[0]!.local).toEqual({ address: '127.0.20.1', port: a.local.port });
    expect(packets[0]!.remote).toEqual({ address: '127.0.20.2', port: b.local.port });
    expect(packets.every((p) => p.bytes.equals(payload) && p.transport === 'udp' && p.protocol === 'sip')).toBe(true);
  });

  it('refuses a destination of the other address family with a TransportError', async () => {
    const trace = new TraceBus(new SystemClock());
    const a = await udp('a', '127.0.20.1', trace);
    await expect(a.send(Buffer.from('x'), { transport: 'udp', address: '::1', port: 5060 })).rejects.toThrow(
      /address family/,
    );
  });

  it('loses about 30 % of datagrams with loss 0.3, the same ones for the same seed, with a note for each', async () => {
    const run = async () => {
      const clock = new FakeClock();
      const trace = new TraceBus(clock);
      const events = collect(trace);
      const impairment = new LinkImpairment(new SeededRandom(42).fork('link'), clock, { loss: 0.3 });
      const a = await udp('a', '127.0.20.1', trace, impairment, clock);
      const b = await udp('b', '127.0.20.2', trace);
      const sent = events.length;
      for (let i = 0; i < 1000; i++) await a.send(Buffer.from(`m${i}`), b.local);
      const mine = events.slice(sent);
      const lost = mine.filter((e) => e.type === 'note' && e.text.includes('lost')).length;
      const onWire = mine.filter((e) => e.type === 'packet' && e.direction === 'send').map((e) => (e as PacketEvent).bytes.toString());
      await a.close();
      await b.close();
      return { lost, onWire };
    };
    const first = await run();
    const second = await run();
    expect(first.lost + first.onWire.length).toBe(1000);
    expect(first.lost).toBeGreaterThan(250);
    expect(first.lost).toBeLessThan(350);
    expect(second).toEqual(first);
  });

  it('duplicates and reorders datagrams on the clock', async () => {
    const clock = new FakeClock();
    const trace = new TraceBus(clock);
    const b = await udp('b', '127.0.20.2', trace);

    const dup = new LinkImpairment(new SeededRandom(1), clock, { duplicate: 1 });
    const a = await udp('a', '127.0.20.1', trace, dup, clock);
    let arrived = nextDatagrams(b, 2);
    await a.send(Buffer.from('once'), b.local);
    expect((await arrived).map((m) => m.bytes.toString())).toEqual(['once', 'once']);

    // Every datagram held back until the next one overtakes it: 1 2 3 4 arrive as 2 1 4 3.
    dup.set({ reorder: 1 });
    arrived = nextDatagrams(b, 4);
    for (const n of ['1', '2', '3', '4']) await a.send(Buffer.from(n), b.local);
    expect((await arrived).map((m) => m.bytes.toString())).toEqual(['2', '1', '4', '3']);

    // A held datagram nobody overtakes leaves when its window ends.
    arrived = nextDatagrams(b, 1);
    dup.set({ reorder: 1, reorderWindow: 50 });
    await a.send(Buffer.from('alone'), b.local);
    expect(clock.pending).toBe(1);
    clock.advance(50);
    expect((await arrived).map((m) => m.bytes.toString())).toEqual(['alone']);

    // Delay holds the datagram until the clock gets there.
    dup.set({ delay: 200 });
    arrived = nextDatagrams(b, 1);
    let got = false;
    void arrived.then(() => (got = true));
    await a.send(Buffer.from('late'), b.local);
    clock.advance(199);
    expect(clock.pending).toBe(1);
    clock.advance(1);
    expect((await arrived)[0]!.bytes.toString()).toBe('late');
    expect(got).toBe(true);
  });

  it('refuses impossible impairment profiles and keeps the old one', () => {
    const clock = new FakeClock();
    const link = new LinkImpairment(new SeededRandom(1), clock, { loss: 0.1 });
    expect(() => link.set({ loss: 1.5 })).toThrow(/loss must be a probability/);
    expect(() => link.set({ delay: -1 })).toThrow(/delay must be a duration/);
    expect(link.profileFor({ address: '127.0.0.1', port: 1 })).toEqual({ loss: 0.1 });
    link.set({ loss: 1 }, { address: '127.0.0.9' });
    expect(link.fate({ address: '127.0.0.9', port: 5060 })).toEqual({ kind: 'lost' });
    expect(link.profileFor({ address: '127.0.0.8', port: 5060 })).toEqual({ loss: 0.1 });
  });
});
