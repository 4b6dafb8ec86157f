import { filter, firstValueFrom, take, toArray, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { PortAllocator } from '../../src/rtp/ports.js';
import { RtpSession } from '../../src/rtp/session.js';
import type { Codec } from '../../src/sdp/codecs.js';
import { LinkImpairment } from '../../src/sip/transport/impairment.js';
import { TraceBus, type PacketEvent, type TraceEvent } from '../../src/trace/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

const PCMU: Codec = { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 };
const sessions: RtpSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
});

describe('RTP through an impaired link (issue 8 point 1)', () => {
  it('20 % loss on the sender: the receiver counts the gaps as lost, received < sent, lost ≈ 20 %', async () => {
    const clock = new SystemClock();
    const bus = new TraceBus(clock);
    const open = (node: string, address: string, impairment?: LinkImpairment) =>
      RtpSession.open({ node, address, ports: new PortAllocator({ min: 43000, max: 43099 }), clock, random: new SeededRandom(node), bus, mode: 'tone', ...(impairment ? { impairment } : {}) }).then(
        (s) => (sessions.push(s), s),
      );
    const link = new LinkImpairment(new SeededRandom('link'), clock, { loss: 0.2 });
    const alice = await open('alice', '127.0.53.101', link);
    const bob = await open('bob', '127.0.53.102');
    const onWire = (node: string, n: number) =>
      firstValueFrom(
        bus.events$.pipe(
          filter((e: TraceEvent): e is PacketEvent => e.type === 'packet' && e.node === node && e.direction === 'recv' && e.protocol === 'rtp'),
          take(n),
          toArray(),
          timeout(10_000),
        ),
      );
    const arrived = onWire('bob', 100);
    alice.start({ address: '127.0.53.102', port: bob.local.rtpPort, codec: PCMU });
    bob.start({ address: '127.0.53.101', port: alice.local.rtpPort, codec: PCMU });
    await arrived;
    const a = await alice.stop();
    const b = bob.statistics();
    expect(b.received).toBeLessThan(a.sent);
    const lossRate = b.lost / b.expected;
    expect(lossRate).toBeGreaterThan(0.1);
    expect(lossRate).toBeLessThan(0.3);
    // Truthful: what bob did not receive of what he expected is exactly what he reports lost.
    expect(b.expected - b.received).toBe(b.lost);
    // The other direction has no impairment: alice lost nothing.
    expect(a.lost).toBe(0);
  }, 20_000);
});
