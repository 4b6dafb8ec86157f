import { describe, expect, it } from 'vitest';
import { TraceBus, type TraceEvent } from '../../src/trace/events.js';
import { tracePacket } from '../../src/sip/transport/wire.js';
import { FakeClock } from '../../src/util/clock.js';

describe('TraceBus', () => {
  it('numbers events nobody listened to, so a listener that joins later sees the same sequence numbers', () => {
    const bus = new TraceBus(new FakeClock());
    const local = { transport: 'udp' as const, address: '127.0.0.1', port: 5060 };
    const remote = { transport: 'udp' as const, address: '127.0.0.2', port: 5060 };
    expect(bus.observed).toBe(false);
    tracePacket(bus, 'pcscf1', 'send', local, remote, Buffer.from('OPTIONS'));
    bus.note({ node: 'pcscf1', level: 'info', text: 'unheard' });
    const seen: TraceEvent[] = [];
    const sub = bus.events$.subscribe((e) => seen.push(e));
    expect(bus.observed).toBe(true);
    tracePacket(bus, 'pcscf1', 'recv', local, remote, Buffer.from('SIP/2.0 200 OK'));
    bus.note({ node: 'pcscf1', level: 'info', text: 'heard' });
    sub.unsubscribe();
    expect(seen.map((e) => [e.type, e.seq])).toEqual([
      ['packet', 3],
      ['note', 4],
    ]);
    const p = seen[0]!;
    if (p.type !== 'packet') throw new Error('not a packet');
    expect(p).toMatchObject({ node: 'pcscf1', direction: 'recv', protocol: 'sip', remote: { address: '127.0.0.2', port: 5060 } });
    expect(p.bytes.toString()).toBe('SIP/2.0 200 OK');
  });
});
