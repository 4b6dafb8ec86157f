import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { filter, firstValueFrom, take, toArray, timeout } from 'rxjs';
import { SystemClock } from '../../src/util/clock.js';

const clock = new SystemClock();
import { SeededRandom } from '../../src/util/random.js';
import { TraceBus, type PacketEvent, type TraceEvent } from '../../src/trace/events.js';
import { PortAllocator } from '../../src/rtp/ports.js';
import { RtpSession } from '../../src/rtp/session.js';
import { decodeRtp, encodeRtp } from '../../src/rtp/packet.js';
import { createPayloadSource } from '../../src/rtp/frames.js';
import { SrtpContext, type SrtpKeys, type SrtpMasterKey } from '../../src/rtp/srtp/index.js';
import type { Codec } from '../../src/sdp/codecs.js';

/** RtpSession with SRTP keys (RFC 3711 on RFC 4568 SDES keys) over loopback, on 127.0.31.x. */
const PCMU: Codec = { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 };
const A = '127.0.31.1';
const B = '127.0.31.2';
const ALICE_KEY: SrtpMasterKey = { key: Buffer.alloc(16, 0xa1), salt: Buffer.alloc(14, 0xa2) };
const BOB_KEY: SrtpMasterKey = { key: Buffer.alloc(16, 0xb1), salt: Buffer.alloc(14, 0xb2) };
const SUITE = 'AES_CM_128_HMAC_SHA1_80' as const;

const sessions: RtpSession[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
  for (const s of sockets.splice(0)) s.close();
});

function open(bus: TraceBus, node: string, address: string, toneHz: number, srtp?: SrtpKeys): Promise<RtpSession> {
  return RtpSession.open({
    node,
    address,
    ports: new PortAllocator({ min: 43000, max: 43099 }),
    clock,
    random: new SeededRandom(`srtp-${node}`),
    bus,
    toneHz,
    rtcpIntervalMs: 600,
    ...(srtp ? { srtp } : {}),
  }).then((s) => (sessions.push(s), s));
}

function packets(bus: TraceBus, pred: (e: PacketEvent) => boolean, n: number, ms = 5000): Promise<PacketEvent[]> {
  return firstValueFrom(
    bus.events$.pipe(
      filter((e: TraceEvent): e is PacketEvent => e.type === 'packet' && pred(e)),
      take(n),
      toArray(),
      timeout(ms),
    ),
  );
}

describe('RtpSession with SRTP', () => {
  it('both ways protected: nothing lost, no failures, the wire carries neither the G.711 tone nor the CNAME, SRTCP understood', async () => {
    const bus = new TraceBus(clock);
    const alice = await open(bus, 'alice', A, 440, { suite: SUITE, send: ALICE_KEY, receive: BOB_KEY });
    const bob = await open(bus, 'bob', B, 660);
    const aliceWire = packets(bus, (e) => e.node === 'alice' && e.direction === 'send' && e.protocol === 'rtp', 30);
    const atBob = packets(bus, (e) => e.node === 'bob' && e.direction === 'recv' && e.protocol === 'rtp', 30);
    const atAlice = packets(bus, (e) => e.node === 'alice' && e.direction === 'recv' && e.protocol === 'rtp', 30);
    const rtcpAtBob = packets(bus, (e) => e.node === 'bob' && e.direction === 'recv' && e.protocol === 'rtcp', 1);
    alice.start({ address: B, port: bob.local.rtpPort, codec: PCMU });
    // Bob learns his keys with the peer, as a UE does from the SDP answer.
    bob.start({ address: A, port: alice.local.rtpPort, codec: PCMU, srtp: { suite: SUITE, send: BOB_KEY, receive: ALICE_KEY } });
    const [wire] = await Promise.all([aliceWire, atBob, atAlice]);
    const [rtcp] = await rtcpAtBob;

    // The tone alice encodes, frame by frame; on the wire the header is clear, the payload is not.
    const tone = createPayloadSource(PCMU, 440);
    for (const e of wire) {
      const frame = tone.next();
      expect(e.bytes.length).toBe(12 + 160 + 10);
      const onWire = decodeRtp(e.bytes);
      expect(onWire.ssrc).toBe(alice.ssrc);
      expect(onWire.payload.subarray(0, 160).equals(frame)).toBe(false);
      expect(e.bytes.includes(frame.subarray(0, 16))).toBe(false);
    }
    expect(rtcp!.bytes.includes(Buffer.from(`alice@${A}`))).toBe(false);

    const a = alice.statistics();
    const b = bob.statistics();
    for (const s of [a, b]) {
      expect(s.srtp).toBe(SUITE);
      expect(s.received).toBeGreaterThanOrEqual(29);
      expect(s.lost).toBe(0);
      expect(s.srtpAuthFailures).toBe(0);
      expect(s.srtpReplayed).toBe(0);
      expect(s.unexpected).toBe(0);
    }
    expect(b.rtcpReceived).toBeGreaterThanOrEqual(1);
    expect(b.remoteSsrc).toBe(alice.ssrc);
  }, 15_000);

  it('a peer keyed differently is heard on the wire but every packet fails authentication; nothing crashes', async () => {
    const bus = new TraceBus(clock);
    const alice = await open(bus, 'alice', A, 440, { suite: SUITE, send: ALICE_KEY, receive: BOB_KEY });
    const bob = await open(bus, 'bob', B, 660, { suite: SUITE, send: BOB_KEY, receive: { key: Buffer.alloc(16, 7), salt: Buffer.alloc(14, 7) } });
    const atBob = packets(bus, (e) => e.node === 'bob' && e.direction === 'recv' && e.protocol === 'rtp', 20);
    alice.start({ address: B, port: bob.local.rtpPort, codec: PCMU });
    bob.start({ address: A, port: alice.local.rtpPort, codec: PCMU });
    await atBob;
    const s = bob.statistics();
    expect(s.received).toBe(0);
    expect(s.srtpAuthFailures).toBeGreaterThanOrEqual(20);
    expect(alice.statistics().received).toBeGreaterThanOrEqual(15);
  }, 15_000);

  it('from a raw peer: a good packet counts, a flipped bit and a replay are dropped and counted, plain RTP is refused', async () => {
    const bus = new TraceBus(clock);
    const bob = await open(bus, 'bob', B, 660, { suite: SUITE, send: BOB_KEY, receive: ALICE_KEY });
    const peer = createSocket('udp4');
    sockets.push(peer);
    await new Promise<void>((r) => peer.bind(43190, A, () => r()));
    bob.start({ address: A, port: 43190, codec: PCMU, localDirection: 'recvonly' });
    const tx = new SrtpContext(ALICE_KEY, SUITE);
    const rtp = (seq: number) => encodeRtp({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x5151, payload: Buffer.alloc(160, 0xff) });
    const good = tx.protectRtp(rtp(100));
    const tampered = Buffer.from(tx.protectRtp(rtp(101)));
    tampered[20]! ^= 0x01;
    const arrivals = packets(bus, (e) => e.node === 'bob' && e.direction === 'recv' && e.protocol === 'rtp', 5);
    for (const bytes of [good, tampered, good, rtp(102), tx.protectRtp(rtp(103))]) {
      await new Promise<void>((r) => peer.send(bytes, bob.local.rtpPort, B, () => r()));
    }
    await arrivals;
    const s = bob.statistics();
    expect(s.received).toBe(2);
    expect(s.srtpAuthFailures).toBe(2);
    expect(s.srtpReplayed).toBe(1);
    expect(s.remoteSsrc).toBe(0x5151);
  }, 15_000);
});
