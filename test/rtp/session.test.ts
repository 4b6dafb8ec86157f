import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { filter, firstValueFrom, take, toArray, timeout } from 'rxjs';
import { FakeClock, SystemClock, type Clock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { TraceBus, type NoteEvent, type PacketEvent, type TraceEvent } from '../../src/trace/events.js';
import { PortAllocator } from '../../src/rtp/ports.js';
import { RtpSession, type MediaMode } from '../../src/rtp/session.js';
import { decodeRtp, encodeRtp } from '../../src/rtp/packet.js';
import { decodeRtcpCompound, encodeRtcpCompound } from '../../src/rtp/rtcp.js';
import { decodeTelephoneEvent } from '../../src/rtp/dtmf.js';
import type { Codec } from '../../src/sdp/codecs.js';

const PCMU: Codec = { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 };
const A = '127.0.30.1';
const B = '127.0.30.2';

const open: { close(): unknown }[] = [];
const sessions: RtpSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
  for (const s of open.splice(0)) s.close();
});

function session(bus: TraceBus, clock: Clock, node: string, address: string, base: number, mode: MediaMode = 'tone', rtcpIntervalMs?: number) {
  return RtpSession.open({
    node,
    address,
    ports: new PortAllocator({ min: base, max: base + 99 }),
    clock,
    random: new SeededRandom(`rtp-${node}`),
    bus,
    mode,
    ...(rtcpIntervalMs ? { rtcpIntervalMs } : {}),
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

async function rawSocket(address: string, port: number): Promise<Socket> {
  const s = createSocket('udp4');
  open.push(s);
  await new Promise<void>((r) => s.bind(port, address, () => r()));
  return s;
}

describe('RtpSession over loopback', () => {
  it('a one-second call: ~50 packets/s each way, no loss, small jitter, RFC 3550 headers, SR and BYE', async () => {
    const clock = new SystemClock();
    const bus = new TraceBus(clock);
    const alice = await session(bus, clock, 'alice', A, 42000, 'tone', 1000);
    const bob = await session(bus, clock, 'bob', B, 42000, 'tone', 1000);
    expect(alice.local.rtpPort % 2).toBe(0);
    expect(alice.local.rtcpPort).toBe(alice.local.rtpPort + 1);
    const aliceSent = packets(bus, (e) => e.node === 'alice' && e.direction === 'send' && e.protocol === 'rtp', 51);
    const atBob = packets(bus, (e) => e.node === 'bob' && e.direction === 'recv' && e.protocol === 'rtp', 51);
    const atAlice = packets(bus, (e) => e.node === 'alice' && e.direction === 'recv' && e.protocol === 'rtp', 51);
    const srAtBob = packets(bus, (e) => e.node === 'bob' && e.direction === 'recv' && e.protocol === 'rtcp', 1);
    alice.start({ address: B, port: bob.local.rtpPort, codec: PCMU });
    bob.start({ address: A, port: alice.local.rtpPort, codec: PCMU });

    const [sent, recvB, recvA] = await Promise.all([aliceSent, atBob, atAlice]);
    for (const recv of [recvB, recvA]) {
      const pps = 50 / ((recv[50]!.time - recv[0]!.time) / 1000);
      expect(pps).toBeGreaterThan(45);
      expect(pps).toBeLessThan(55);
    }
    // Wire format: V=2, PT 0, marker only on the first packet, seq +1, timestamp +160, our SSRC.
    const first = decodeRtp(sent[0]!.bytes);
    expect(sent[0]!.bytes[0]).toBe(0x80);
    expect(first).toMatchObject({ marker: true, payloadType: 0, ssrc: alice.ssrc });
    expect(first.payload.length).toBe(160);
    sent.slice(1).forEach((e, i) => {
      const p = decodeRtp(e.bytes);
      expect(p.marker).toBe(false);
      expect(p.sequenceNumber).toBe((first.sequenceNumber + i + 1) & 0xffff);
      expect(p.timestamp).toBe((first.timestamp + 160 * (i + 1)) >>> 0);
    });
    expect(recvB[0]!.remote).toEqual({ address: A, port: alice.local.rtpPort });

    const rtcp = decodeRtcpCompound((await srAtBob)[0]!.bytes);
    expect(rtcp[0]).toMatchObject({ type: 'sr', ssrc: alice.ssrc });
    expect(rtcp[1]).toMatchObject({ type: 'sdes', chunks: [{ ssrc: alice.ssrc, cname: `alice@${A}` }] });

    const byeAtBob = packets(bus, (e) => e.node === 'bob' && e.direction === 'recv' && e.protocol === 'rtcp' && decodeRtcpCompound(e.bytes).some((p) => p.type === 'bye'), 1);
    const note = firstValueFrom(bus.events$.pipe(filter((e): e is NoteEvent => e.type === 'note' && e.node === 'alice')));
    const a = await alice.stop();
    await byeAtBob;
    const b = bob.statistics();
    expect(b.remoteBye).toBe(true);
    for (const s of [a, b]) {
      expect(s.received).toBeGreaterThanOrEqual(50);
      expect(s.lost).toBe(0);
      expect(s.duplicates).toBe(0);
      expect(s.unexpected).toBe(0);
      expect(s.jitterMs).toBeLessThan(10);
    }
    expect(b.remoteSsrc).toBe(alice.ssrc);
    expect((await note).data).toMatchObject({ ssrc: alice.ssrc, sent: a.sent, received: a.received, lost: 0, duplicates: 0, unexpected: 0 });
    expect(a.sent).toBeGreaterThanOrEqual(b.received);
  });

  it('exact loss/duplicate/reorder counts and unexpected sources from crafted datagrams', async () => {
    const clock = new SystemClock();
    const bus = new TraceBus(clock);
    const bob = await session(bus, clock, 'bob', B, 42100, 'silent');
    const peer = await rawSocket(A, 42190);
    const peerRtcp = await rawSocket(A, 42191);
    const stranger = await rawSocket(A, 42192);
    bob.start({ address: A, port: 42190, codec: PCMU });
    const pkt = (seq: number, ssrc = 0x1234, pt = 0) =>
      encodeRtp({ marker: false, payloadType: pt, sequenceNumber: seq, timestamp: seq * 160, ssrc, payload: Buffer.alloc(160, 0xff) });
    const rtp: [Socket, Buffer][] = [100, 101, 103, 104, 104, 102, 106].map((s) => [peer, pkt(s)]);
    rtp.push([peer, Buffer.from('hello, not RTP')], [peer, pkt(107, 0x9999)], [stranger, pkt(108)], [peer, pkt(109, 0x1234, 99)]);
    const arrived = packets(bus, (e) => e.node === 'bob' && e.direction === 'recv', rtp.length + 2);
    for (const [sock, bytes] of rtp) sock.send(bytes, bob.local.rtpPort, B);
    // RTCP: a truncated SR from the right port (malformed), a valid RR from the wrong one.
    peerRtcp.send(Buffer.from([0x80, 0xc8, 0xff, 0xff]), bob.local.rtcpPort, B);
    peer.send(encodeRtcpCompound([{ type: 'rr', ssrc: 0x1234, reports: [] }]), bob.local.rtcpPort, B);
    await arrived;
    expect(bob.statistics()).toMatchObject({
      received: 7,
      expected: 7,
      lost: 1,
      duplicates: 1,
      outOfOrder: 1,
      extendedHighestSequence: 106,
      unexpected: 6,
      malformed: 2,
      rtcpReceived: 0,
      remoteSsrc: 0x1234,
    });
  });

  it('DTMF per RFC 4733: marker on the first event packet, three end packets, digits decoded', async () => {
    const clock = new FakeClock();
    const bus = new TraceBus(clock);
    const alice = await session(bus, clock, 'alice', A, 42200);
    const bob = await session(bus, clock, 'bob', B, 42200);
    const peerOf = (s: RtpSession) => ({ address: s.local.address, port: s.local.rtpPort, codec: PCMU, telephoneEvent: 101 });
    alice.start(peerOf(bob));
    bob.start(peerOf(alice));
    const events: PacketEvent[] = [];
    const sub = bus.events$.subscribe((e) => {
      if (e.type === 'packet' && e.node === 'alice' && e.direction === 'send' && e.protocol === 'rtp' && e.bytes[1]! % 128 === 101) events.push(e);
    });
    const digits = firstValueFrom(bob.dtmf$.pipe(take(2), toArray(), timeout(5000)));
    const done = Promise.all([alice.sendDtmf('5', 100), alice.sendDtmf('#', 60)]);
    for (let i = 0; i < 30; i++) {
      clock.advance(20);
      await new Promise((r) => setImmediate(r));
    }
    await done;
    sub.unsubscribe();
    const decoded = events.map((e) => ({ p: decodeRtp(e.bytes), ev: decodeTelephoneEvent(decodeRtp(e.bytes).payload)! }));
    // '5' for 100 ms: durations 160..800 in 160 steps, the last one with E, sent three times.
    const five = decoded.filter((d) => d.ev.event === 5);
    expect(five.map((d) => [d.p.marker, d.ev.end, d.ev.duration])).toEqual([
      [true, false, 160],
      [false, false, 320],
      [false, false, 480],
      [false, false, 640],
      [false, true, 800],
      [false, true, 800],
      [false, true, 800],
    ]);
    expect(new Set(five.map((d) => d.p.timestamp)).size).toBe(1);
    const hash = decoded.filter((d) => d.ev.event === 11);
    // '#' for 60 ms: 160, 320, then 480 with E three times.
    expect(hash.map((d) => [d.ev.end, d.ev.duration])).toEqual([[false, 160], [false, 320], [true, 480], [true, 480], [true, 480]]);
    expect(hash[0]!.p.timestamp).not.toBe(five[0]!.p.timestamp);
    // Sequence numbers keep counting through the events.
    const seqs = decoded.map((d) => d.p.sequenceNumber);
    seqs.slice(1).forEach((s, i) => expect(s).toBe((seqs[i]! + 1) & 0xffff));
    expect((await digits).map((d) => [d.digit, d.durationMs])).toEqual([
      ['5', 100],
      ['#', 60],
    ]);
    expect(bob.statistics().digits).toBe('5#');
  });

  it('echo mode sends back the payloads it receives, on its own SSRC', async () => {
    const clock = new SystemClock();
    const bus = new TraceBus(clock);
    const caller = await session(bus, clock, 'caller', A, 42300, 'tone');
    const echo = await session(bus, clock, 'echo', B, 42300, 'echo');
    const sent = packets(bus, (e) => e.node === 'caller' && e.direction === 'send' && e.protocol === 'rtp', 10);
    const back = packets(bus, (e) => e.node === 'caller' && e.direction === 'recv' && e.protocol === 'rtp', 10);
    caller.start({ address: B, port: echo.local.rtpPort, codec: PCMU });
    echo.start({ address: A, port: caller.local.rtpPort, codec: PCMU });
    const [s, r] = await Promise.all([sent, back]);
    const out = s.map((e) => decodeRtp(e.bytes));
    const ret = r.map((e) => decodeRtp(e.bytes));
    expect(ret.map((p) => p.payload.toString('hex'))).toEqual(out.map((p) => p.payload.toString('hex')));
    expect(ret[0]!.ssrc).toBe(echo.ssrc);
    expect(ret[0]!.marker).toBe(true);
    expect(ret[1]!.timestamp - ret[0]!.timestamp).toBe(160);
  });

  it('hold: no RTP while recvonly/inactive, a marker bit on the first packet after resume; RTCP goes on', async () => {
    const clock = new FakeClock();
    const bus = new TraceBus(clock);
    const s = await session(bus, clock, 'holder', A, 42500, 'tone', 1000);
    const sent: PacketEvent[] = [];
    bus.events$.subscribe((e) => e.type === 'packet' && e.direction === 'send' && sent.push(e));
    s.start({ address: B, port: 9, codec: PCMU });
    clock.advance(100);
    expect(sent.filter((e) => e.protocol === 'rtp')).toHaveLength(5);
    s.setDirection('inactive');
    clock.advance(2000);
    const rtp = sent.filter((e) => e.protocol === 'rtp');
    expect(rtp).toHaveLength(5);
    expect(sent.filter((e) => e.protocol === 'rtcp').length).toBeGreaterThanOrEqual(1);
    s.setDirection('sendrecv');
    clock.advance(40);
    const after = sent.filter((e) => e.protocol === 'rtp').slice(5).map((e) => decodeRtp(e.bytes));
    expect(after.map((p) => p.marker)).toEqual([true, false]);
    // The timestamp kept running through the hold: 100 + 2000 ms later at 8 kHz.
    expect(after[0]!.timestamp - decodeRtp(rtp[4]!.bytes).timestamp).toBe(101 * 160);
  });

  it('rejects DTMF when telephone-event was not negotiated, and frees its ports at stop', async () => {
    const clock = new FakeClock();
    const bus = new TraceBus(clock);
    const s = await session(bus, clock, 'solo', A, 42400, 'silent');
    s.start({ address: B, port: 9, codec: PCMU });
    await expect(s.sendDtmf('1')).rejects.toThrow(/telephone-event/);
    expect(() => s.sendDtmf('X')).toThrow(/DTMF/);
    const port = s.local.rtpPort;
    await s.stop();
    clock.advance(60_000);
    expect(clock.pending).toBe(0);
    const again = await rawSocket(A, port);
    expect(again.address().port).toBe(port);
  });
});
