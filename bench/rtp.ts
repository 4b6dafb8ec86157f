/**
 * How many concurrent G.711 calls (pairs of RtpSessions on loopback, 50 packets/s each way, RTCP on) one
 * event loop carries without losing a packet and while keeping pace (at least 99 % of the nominal
 * 2 × 50 packets/s per call actually sent). Steps the number of streams 1, 2, 5, 10, 20, 50, … up to
 * `maxStreams`, `seconds` each, and stops at the first step that fails either way. The trace bus has no subscriber here,
 * so the figure is for the media engine alone (a pcap writer subscribed to every packet costs extra).
 * Run alone: `npx tsx bench/rtp.ts [maxStreams] [seconds]`.
 */
import { SystemClock } from '../src/util/clock.js';
import { SeededRandom } from '../src/util/random.js';
import { TraceBus } from '../src/trace/events.js';
import { PortAllocator } from '../src/rtp/ports.js';
import { RtpSession } from '../src/rtp/session.js';
import type { Codec } from '../src/sdp/codecs.js';

const PCMU: Codec = { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 };
const SIDE_A = '127.0.40.1';
const SIDE_B = '127.0.40.2';

/** A step passes with no packet lost and at least 99 % of real-time pace (the figure's note says the same). */
export function rtpStepPasses(r: Pick<RtpStepResult, 'lost' | 'pace'>): boolean {
  return r.lost === 0 && r.pace >= 0.99;
}

export interface RtpStepResult {
  streams: number;
  packetsSent: number;
  lost: number;
  /** Packets sent / packets a real-time sender would have sent in the same time. */
  pace: number;
  maxJitterMs: number;
}

export async function benchRtp(opts: { maxStreams: number; seconds: number }): Promise<{
  max_streams_without_loss: number;
  steps: RtpStepResult[];
}> {
  const maxStreams = Math.max(1, Math.min(5000, Math.floor(opts.maxStreams)));
  const seconds = Math.max(0.2, Math.min(60, opts.seconds));
  const clock = new SystemClock();
  const bus = new TraceBus(clock);
  const random = new SeededRandom('bench-rtp');
  const portsA = new PortAllocator({ min: 20000, max: 59999 });
  const portsB = new PortAllocator({ min: 20000, max: 59999 });
  const steps: RtpStepResult[] = [];
  let best = 0;
  const env = { clock, bus, random, portsA, portsB };
  let failedAt: number | undefined;
  for (const n of ladder(maxStreams)) {
    const r = await step(n, seconds, env);
    steps.push(r);
    if (!rtpStepPasses(r)) {
      failedAt = n;
      break;
    }
    best = n;
  }
  // Narrow the gap between the last good and the first bad step, three halvings at most.
  for (let i = 0; i < 3 && failedAt !== undefined && failedAt - best > 1; i++) {
    const n = Math.floor((best + failedAt) / 2);
    const r = await step(n, seconds, env);
    steps.push(r);
    if (rtpStepPasses(r)) best = n;
    else failedAt = n;
  }
  return { max_streams_without_loss: best, steps };
}

function ladder(max: number): number[] {
  const out: number[] = [];
  for (let decade = 1; decade <= max; decade *= 10) {
    for (const m of [1, 2, 5]) if (m * decade <= max) out.push(m * decade);
  }
  if (out[out.length - 1] !== max) out.push(max);
  return out;
}

async function step(
  n: number,
  seconds: number,
  env: { clock: SystemClock; bus: TraceBus; random: SeededRandom; portsA: PortAllocator; portsB: PortAllocator },
): Promise<RtpStepResult> {
  const pairs: [RtpSession, RtpSession][] = [];
  try {
    for (let i = 0; i < n; i++) {
      const common = { clock: env.clock, bus: env.bus, mode: 'tone' as const };
      const a = await RtpSession.open({ ...common, node: `a${i}`, address: SIDE_A, ports: env.portsA, random: env.random.fork(`a${i}`) });
      const b = await RtpSession.open({ ...common, node: `b${i}`, address: SIDE_B, ports: env.portsB, random: env.random.fork(`b${i}`) });
      pairs.push([a, b]);
    }
    for (const [a, b] of pairs) {
      a.start({ address: SIDE_B, port: b.local.rtpPort, codec: PCMU });
      b.start({ address: SIDE_A, port: a.local.rtpPort, codec: PCMU });
    }
    const t0 = env.clock.now();
    await delay(seconds * 1000);
    const elapsed = env.clock.now() - t0;
    // Stop sending everywhere, let what is in flight arrive, then compare sent with received per direction.
    for (const [a, b] of pairs) {
      a.setDirection('inactive');
      b.setDirection('inactive');
    }
    await delay(200);
    let lost = 0;
    let sent = 0;
    let maxJitterMs = 0;
    for (const [a, b] of pairs) {
      const sa = a.statistics();
      const sb = b.statistics();
      sent += sa.sent + sb.sent;
      lost += Math.max(0, sa.sent - sb.received) + Math.max(0, sb.sent - sa.received) + sa.lost + sb.lost;
      maxJitterMs = Math.max(maxJitterMs, sa.jitterMs, sb.jitterMs);
    }
    // One frame per stream is allowed for the edges of the window.
    const nominal = 2 * n * (elapsed / 20 - 1);
    return {
      streams: n,
      packetsSent: sent,
      lost,
      pace: Math.round((sent / nominal) * 1000) / 1000,
      maxJitterMs: Math.round(maxJitterMs * 100) / 100,
    };
  } finally {
    await Promise.all(pairs.flatMap(([a, b]) => [a.stop(), b.stop()]));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const maxStreams = Number(process.argv[2] ?? 2000);
  const seconds = Number(process.argv[3] ?? 3);
  const r = await benchRtp({ maxStreams, seconds });
  for (const s of r.steps) console.log(JSON.stringify(s));
  console.log(JSON.stringify({ max_streams_without_loss: r.max_streams_without_loss }));
}
