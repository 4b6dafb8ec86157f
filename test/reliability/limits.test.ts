import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, take, toArray, timeout } from 'rxjs';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipResponse } from '../../src/sip/message.js';
import { InboundLimits, SourceRateLimiter } from '../../src/sip/transport/limits.js';
import { TransportLayer } from '../../src/sip/transport/layer.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology } from '../../src/topology/runner.js';
import { runScenario } from '../../src/topology/scenario.js';
import { TraceBus, type NoteEvent } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { DOMAIN, reliabilityTopology, tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function request(method: string, from: string, port: number, i: number, extra = ''): string {
  return (
    `${method} sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP ${from}:${port};rport;branch=z9hG4bKflood${i}\r\nMax-Forwards: 70\r\n` +
    `From: <sip:mallory@${DOMAIN}>;tag=f${i}\r\nTo: <sip:mallory@${DOMAIN}>\r\nCall-ID: flood${i}@${from}\r\nCSeq: ${i + 1} ${method}\r\n` +
    `Contact: <sip:mallory@${from}:${port}>\r\nExpires: 600\r\n${extra}Content-Length: 0\r\n\r\n`
  );
}

/** A raw UDP client: sends datagrams and collects every response by status. */
async function client(address: string): Promise<{ port: number; send(text: string, to: string, port: number): void; responses: SipResponse[]; close(): void }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  const responses: SipResponse[] = [];
  socket.on('message', (m) => {
    const msg = parseMessage(m);
    if ('status' in msg) responses.push(msg);
  });
  const c = { port: socket.address().port, responses, send: (t: string, to: string, p: number) => socket.send(t, p, to), close: () => void socket.close() };
  cleanups.push(() => c.close());
  return c;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('SourceRateLimiter (token bucket per source)', () => {
  it('lets a burst through, refuses the next, refills at the rate; sources are independent', () => {
    const clock = new FakeClock(0);
    const l = new SourceRateLimiter(clock, 10, 3);
    expect([1, 2, 3].map(() => l.take('a').ok)).toEqual([true, true, true]);
    const refused = l.take('a');
    expect(refused).toEqual({ ok: false, waitMs: 100, refused: 1 });
    expect(l.take('b').ok).toBe(true);
    clock.advance(100);
    expect(l.take('a')).toEqual({ ok: true, refusedBefore: 1 });
    expect(l.take('a').ok).toBe(false);
  });

  it('tracks at most maxSources sources (a spoofed-source flood cannot grow memory)', () => {
    const l = new SourceRateLimiter(new FakeClock(0), 1, 1, 100);
    for (let i = 0; i < 1000; i++) l.take(`s${i}`);
    expect(l.tracked).toBe(100);
  });

  it('refuses a nonsensical configuration with a clear error', () => {
    expect(() => new SourceRateLimiter(new FakeClock(0), 0, 1)).toThrow(/ratePerSecond must be a positive number/);
    expect(() => new InboundLimits(new FakeClock(0), { ratePerSecond: 5, burst: 0 })).toThrow(/burst must be at least 1/);
  });
});

describe('a transport layer with inbound limits', () => {
  it('513 for a request over the size or header-count limit, with the reason; an ACK is never answered', async () => {
    const clock = new FakeClock(Date.now());
    const bus = new TraceBus(clock);
    const t = new TransportLayer({
      node: 'edge',
      address: '127.0.53.120',
      ports: { udp: 0 },
      trace: bus,
      clock,
      random: new SeededRandom(1),
      admission: new InboundLimits(clock, { maxMessageBytes: 1500, maxHeaders: 20 }),
    });
    cleanups.push(() => t.close());
    const upper: string[] = [];
    t.onMessage((m) => upper.push('method' in m.message ? m.message.method : String(m.message.status)));
    await t.start();
    const port = t.localAddress('udp').port;
    const c = await client('127.0.53.121');
    const headers = Array.from({ length: 20 }, (_, i) => `X-Filler-${i}: ${i}\r\n`).join('');
    c.send(request('OPTIONS', '127.0.53.121', c.port, 1, headers), '127.0.53.120', port);
    c.send(request('OPTIONS', '127.0.53.121', c.port, 2, `X-Big: ${'a'.repeat(1600)}\r\n`), '127.0.53.120', port);
    c.send(request('ACK', '127.0.53.121', c.port, 3, headers), '127.0.53.120', port);
    c.send(request('OPTIONS', '127.0.53.121', c.port, 4), '127.0.53.120', port);
    await until(() => c.responses.length >= 2 && upper.length >= 1, 5000, 'two 513s and one admitted request');
    const byCseq = new Map(c.responses.map((r) => [r.headers.get('CSeq'), r]));
    expect(byCseq.get('2 OPTIONS')!.status).toBe(513);
    expect(byCseq.get('2 OPTIONS')!.headers.get('Warning')).toMatch(/^399 127\.0\.53\.120:\d+ "request with 2\d header fields exceeds the limit of 20"$/);
    expect(byCseq.get('3 OPTIONS')!.status).toBe(513);
    expect(byCseq.get('3 OPTIONS')!.headers.get('Warning')).toMatch(/octets exceeds the limit of 1500/);
    expect(byCseq.get('3 OPTIONS')!.headers.get('To')).toMatch(/;tag=/);
    // ACK is never answered (RFC 3261 §17.1.1.3): an ACK over the header limit goes up; the layer above decides.
    expect([...upper].sort()).toEqual(['ACK', 'OPTIONS']);
    expect(Object.fromEntries(t.counters.dropped)).toMatchObject({ 'too many headers': 1, 'too large': 1 });
  });
});

describe('per-source rate limit at the P-CSCF (issue 8 point 4)', () => {
  it('a REGISTER flood from one source gets 503 + Retry-After and a note naming it; a UE on another source registers normally', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const topology = parseTopology(reliabilityTopology(31, { pcscf: ', limits: { rate: 5, burst: 5, retryAfter: 2 }', extra: 'scenarios:\n  reg: [ { register: alice }, { expect: { registered: [alice] } } ]' }));
    const run = await startTopology(topology, { dataDir: dir.path });
    cleanups.push(() => run.stop());
    const notes = firstValueFrom(
      run.bus.events$.pipe(
        filter((e): e is NoteEvent => e.type === 'note' && e.node === 'pcscf1' && /^rate limited: /.test(e.text)),
        take(1),
        toArray(),
        timeout(10_000),
      ),
    );
    const mallory = await client('127.0.53.45');
    for (let i = 0; i < 40; i++) mallory.send(request('REGISTER', '127.0.53.45', mallory.port, i), '127.0.53.31', 25060);
    const [note] = await notes;
    expect(note!.text).toMatch(new RegExp(`^rate limited: request from UDP 127\\.0\\.53\\.45:${mallory.port} answered with 503 \\(Retry-After 2\\): this source sends more than 5 requests/s`));
    expect(note!.data).toMatchObject({ source: { address: '127.0.53.45', port: mallory.port, transport: 'udp' }, status: 503 });

    // Alice, on her own address, is served as if nothing happened.
    const result = await runScenario(run, 'reg', topology.scenarios.reg!);
    expect(result.steps.map((s) => [s.label, s.ok])).toEqual(result.steps.map((s) => [s.label, true]));

    await until(() => mallory.responses.filter((r) => r.status === 503).length >= 30, 5000, '503s to mallory');
    const limited = mallory.responses.filter((r) => r.status === 503);
    expect(limited.length).toBeGreaterThanOrEqual(30);
    expect(limited.length).toBeLessThanOrEqual(35);
    for (const r of limited) {
      expect(r.headers.get('Retry-After')).toBe('2');
      expect(r.headers.get('Warning')).toMatch(/"this source sends more than 5 requests\/s \(burst 5\)"$/);
    }
    // Exempt: the I-CSCF/S-CSCF are trusted peers; nothing from them was limited, only mallory.
    const transport = run.containers.get('pcscf1')!.get<TransportLayer>(Symbol.for('imslab.Transport'));
    expect(transport.counters.dropped.get('rate limited')).toBe(limited.length);
  }, 30_000);
});
