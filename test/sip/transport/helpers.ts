import dgram from 'node:dgram';
import net from 'node:net';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { TraceBus, type NoteEvent, type PacketEvent, type TraceEvent } from '../../../src/trace/events.js';
import { SystemClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TransportLayer, type TransportLayerOptions } from '../../../src/sip/transport/layer.js';
import type { ReceivedMessage } from '../../../src/sip/transport/types.js';
import { Subject } from 'rxjs';

/** Everything a test opened, closed in afterEach. */
export const closers: (() => Promise<void> | void)[] = [];
export async function closeAll(): Promise<void> {
  for (const c of closers.splice(0).reverse()) await c();
}

export function newTrace(): { trace: TraceBus; events: TraceEvent[] } {
  const trace = new TraceBus(new SystemClock());
  const events: TraceEvent[] = [];
  trace.events$.subscribe((e) => events.push(e));
  return { trace, events };
}

export interface TestNode {
  layer: TransportLayer;
  inbound: Subject<ReceivedMessage>;
  /** Resolves with the next `n` messages, or rejects after `ms`. */
  next(n?: number, ms?: number): Promise<ReceivedMessage[]>;
}

export async function startNode(
  node: string,
  address: string,
  trace: TraceBus,
  extra: Partial<TransportLayerOptions> = {},
): Promise<TestNode> {
  const layer = new TransportLayer({
    node,
    address,
    ports: { udp: 0, tcp: 0 },
    trace,
    clock: new SystemClock(),
    random: new SeededRandom(node),
    ...extra,
  });
  const inbound = new Subject<ReceivedMessage>();
  layer.onMessage((m) => inbound.next(m));
  await layer.start();
  closers.push(() => layer.close());
  return {
    layer,
    inbound,
    next: (n = 1, ms = 3000) => firstValueFrom(inbound.pipe(take(n), toArray(), timeout(ms))),
  };
}

export function waitForNote(trace: TraceBus, pattern: RegExp, ms = 3000, node?: string): Promise<NoteEvent> {
  return firstValueFrom(
    trace.events$.pipe(
      filter((e): e is NoteEvent => e.type === 'note' && pattern.test(e.text) && (node === undefined || e.node === node)),
      take(1),
      timeout(ms),
    ),
  );
}

export function packets(events: TraceEvent[]): PacketEvent[] {
  return events.filter((e): e is PacketEvent => e.type === 'packet');
}

/** A bare UDP socket on a loopback address: the sender in tests that need exact bytes on the wire. */
export async function rawUdp(address: string): Promise<{
  socket: dgram.Socket;
  port: number;
  next(ms?: number): Promise<Buffer>;
  send(bytes: Buffer | string, port: number, host: string): Promise<void>;
}> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  closers.push(() => new Promise<void>((r) => socket.close(() => r())));
  const queue: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  socket.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return {
    socket,
    port: socket.address().port,
    next: (ms = 3000) =>
      new Promise<Buffer>((resolve, reject) => {
        const q = queue.shift();
        if (q) return resolve(q);
        const t = setTimeout(() => reject(new Error('no datagram within ' + ms + ' ms')), ms);
        waiters.push((b) => {
          clearTimeout(t);
          resolve(b);
        });
      }),
    send: (bytes, port, host) =>
      new Promise<void>((resolve, reject) => socket.send(Buffer.from(bytes), port, host, (e) => (e ? reject(e) : resolve()))),
  };
}

/** A bare TCP client bound to a loopback address; collects everything it reads. */
export async function rawTcp(
  localAddress: string,
  port: number,
  host: string,
): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void>; until(text: RegExp, ms?: number): Promise<string> }> {
  const socket = net.connect({ host, port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  closers.push(() => {
    socket.destroy();
  });
  let data = '';
  const listeners: (() => void)[] = [];
  socket.on('data', (d) => {
    data += d.toString('latin1');
    for (const l of listeners.slice()) l();
  });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return {
    socket,
    received: () => data,
    closed,
    until: (text, ms = 3000) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          if (text.test(data)) {
            clearTimeout(t);
            listeners.splice(listeners.indexOf(check), 1);
            resolve(data);
          }
        };
        const t = setTimeout(() => {
          listeners.splice(listeners.indexOf(check), 1);
          reject(new Error(`no ${text} within ${ms} ms; got ${JSON.stringify(data.slice(0, 200))}`));
        }, ms);
        listeners.push(check);
        check();
      }),
  };
}

/** A request as text, with the given top Via and a body of `bodySize` octets. */
export function requestText(opts: { via: string; method?: string; callId?: string; cseq?: number; bodySize?: number; uri?: string }): string {
  const body = 'x'.repeat(opts.bodySize ?? 0);
  const method = opts.method ?? 'OPTIONS';
  return (
    `${method} ${opts.uri ?? 'sip:bob@127.0.20.2'} SIP/2.0\r\n` +
    `Via: ${opts.via}\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:alice@example.org>;tag=a1\r\n` +
    `To: <sip:bob@example.org>\r\n` +
    `Call-ID: ${opts.callId ?? 'c1@example.org'}\r\n` +
    `CSeq: ${opts.cseq ?? 1} ${method}\r\n` +
    (body ? 'Content-Type: text/plain\r\n' : '') +
    `Content-Length: ${body.length}\r\n\r\n` +
    body
  );
}
