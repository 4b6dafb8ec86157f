/**
 * A live SIP node under fuzz: imslab's TransportLayer (RFC 3261 §18) and TransactionLayer (§17) on
 * 127.0.48.1, with a small TU that answers OPTIONS and other requests 200 and INVITE 486. Mutated messages
 * arrive over real UDP datagrams from 127.0.48.2 or TCP connections from 127.0.48.100–149; after every batch a
 * known-good OPTIONS (from 127.0.48.3, or 127.0.48.150–169 over TCP) must still be answered 200, which proves
 * the node still works.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { StreamFramer } from '../../src/sip/framing.js';
import { isResponse } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { TransactionLayer } from '../../src/sip/transaction/layer.js';
import { createResponse } from '../../src/sip/transaction/response.js';
import { TransportLayer } from '../../src/sip/transport/layer.js';
import type { SipTransportLayer } from '../../src/sip/transport/types.js';
import { TraceBus } from '../../src/trace/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { normaliseSeed } from '../corpus/sip.js';
import type { FuzzInput, FuzzTarget, TargetInstance } from '../types.js';
import { AddressPool, NodeObserver } from './observe.js';
import { inputHash } from './sip.js';

export const SIP_NODE_ADDRESS = '127.0.48.1';
/** UDP inputs come from here, and the seeds' addresses are moved here. */
const FUZZ_CLIENT = '127.0.48.2';
const PROBE_CLIENT = '127.0.48.3';
/** TCP connections come from these, in turn (see AddressPool). */
const TCP_FUZZ_CLIENTS = new AddressPool('127.0.48.', 100, 50);
const TCP_PROBE_CLIENTS = new AddressPool('127.0.48.', 150, 20);
const NODE = 'fuzz-sip';
const PROBE_TIMEOUT_MS = 3000;
/** Largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;

/**
 * Seeds with every loopback address moved to the fuzz client's, so that a response the node sends where a
 * mutated Via points goes to the fuzzer and never to another test's node on this machine.
 */
function relocate(seeds: readonly Buffer[]): Buffer[] {
  return seeds.map((b) => {
    const text = b.toString('latin1');
    const moved = text.replace(/127\.0\.\d{1,3}\.\d{1,3}/g, FUZZ_CLIENT).replace(/\[::1\]/g, FUZZ_CLIENT);
    return moved === text ? b : normaliseSeed(moved);
  });
}

/** The node's view of the network: sends go only to the fuzz range (127.0.48.0/24); the rest are dropped. */
function fenced(inner: TransportLayer): SipTransportLayer {
  return {
    get listening() {
      return inner.listening;
    },
    send: (m, to, o) => (to.address.startsWith('127.0.48.') ? inner.send(m, to, o) : Promise.resolve()),
    sendSerialized: (b, to, o) => (to.address.startsWith('127.0.48.') ? inner.sendSerialized(b, to, o) : Promise.resolve()),
    onMessage: (h) => inner.onMessage(h),
    localAddress: (t) => inner.localAddress(t),
    close: () => inner.close(),
  };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function options(transport: 'UDP' | 'TCP', from: string, port: number, n: number, nodePort: number): Buffer {
  return Buffer.from(
    [
      `OPTIONS sip:${SIP_NODE_ADDRESS}:${nodePort} SIP/2.0`,
      `Via: SIP/2.0/${transport} ${from}:${port};branch=z9hG4bKprobe${n};rport`,
      'Max-Forwards: 70',
      `From: <sip:probe@${from}>;tag=probe`,
      `To: <sip:${SIP_NODE_ADDRESS}>`,
      `Call-ID: probe-${n}@${from}`,
      `CSeq: ${n} OPTIONS`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

interface SipNode {
  transport: TransportLayer;
  layer: TransactionLayer;
  observer: NodeObserver;
}

async function startNode(seed: string, isFuzzClient: (address: string) => boolean): Promise<SipNode> {
  const clock = new SystemClock();
  const trace = new TraceBus(clock);
  const observer = new NodeObserver(trace, NODE, isFuzzClient);
  const transport = new TransportLayer({ node: NODE, address: SIP_NODE_ADDRESS, ports: { udp: 0, tcp: 0 }, trace, clock, random: new SeededRandom(`${seed}/transport`) });
  await transport.start();
  // T1 of 20 ms: every transaction is gone 1.3 s after its last message, so that heap growth means a leak.
  const layer = new TransactionLayer(fenced(transport), clock, new SeededRandom(`${seed}/transactions`), { timers: { t1: 20 }, trace, node: NODE });
  layer.onRequest((txn, request) => {
    const r = createResponse(request, request.method === 'INVITE' ? 486 : 200, undefined, 'fuzz');
    if (request.method === 'OPTIONS') r.headers.append('Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE');
    txn.respond(r);
  });
  layer.onAck(() => {});
  return { transport, layer, observer };
}

async function settle(node: SipNode): Promise<void> {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const s = node.layer.size;
    if (s.client === 0 && s.server === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopNode(node: SipNode): Promise<void> {
  node.layer.close();
  await node.transport.close();
  node.observer.close();
}

function bindUdp(address: string): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}

export const liveSipUdp: FuzzTarget = {
  name: 'live-sip-udp',
  description: 'TransportLayer + TransactionLayer on 127.0.48.1 receiving mutated SIP datagrams; a known-good OPTIONS after every batch must get its 200',
  corpus: 'sip',
  live: true,
  expected: [],
  batchSize: 50,
  seeds: relocate,
  async create({ seed }): Promise<TargetInstance> {
    const node = await startNode(seed, (a) => a === FUZZ_CLIENT);
    const nodePort = node.transport.localAddress('udp').port;
    const fuzz = await bindUdp(FUZZ_CLIENT);
    fuzz.on('message', () => {}); // responses to mutated requests: read and dropped
    const probe = await bindUdp(PROBE_CLIENT);
    let probes = 0;
    const send = (s: UdpSocket, b: Buffer) => new Promise<void>((resolve) => s.send(b.subarray(0, MAX_DATAGRAM), nodePort, SIP_NODE_ADDRESS, () => resolve()));
    return {
      async deliver(batch: readonly FuzzInput[]) {
        node.observer.batch = batch;
        // The node runs on this thread: let it read every 64 KiB or so, or its receive buffer overflows and
        // the kernel drops inputs (and probes) before the node ever sees them.
        let queued = 0;
        for (const b of batch) {
          await send(fuzz, b.bytes);
          queued += Math.min(b.bytes.length, MAX_DATAGRAM);
          if (queued > 64 * 1024) {
            queued = 0;
            await new Promise((r) => setImmediate(r));
          }
        }
      },
      async probe() {
        const n = ++probes;
        const request = options('UDP', PROBE_CLIENT, probe.address().port, n, nodePort);
        const callId = `probe-${n}@${PROBE_CLIENT}`;
        let timer: NodeJS.Timeout | undefined;
        let onMessage: ((b: Buffer) => void) | undefined;
        const answered = new Promise<void>((resolve) => {
          onMessage = (b: Buffer) => {
            try {
              const m = parseMessage(b);
              if (isResponse(m) && m.status === 200 && m.headers.get('Call-ID') === callId) resolve();
            } catch {
              // Not ours, or not SIP.
            }
          };
          probe.on('message', onMessage);
          // UDP may lose the probe when a batch filled the node's receive buffer: retransmit as Timer E would (§17.1.2.2).
          const again = () => {
            void send(probe, request);
            timer = setTimeout(again, 200);
          };
          again();
        });
        try {
          await within(answered, PROBE_TIMEOUT_MS, `OPTIONS probe ${n} over UDP`);
        } finally {
          clearTimeout(timer);
          probe.off('message', onMessage!);
        }
      },
      drain: () => node.observer.drain(),
      received: () => node.observer.received,
      culprit: () => node.observer.culprit(),
      settle: () => settle(node),
      async close() {
        await new Promise<void>((r) => fuzz.close(() => r()));
        await new Promise<void>((r) => probe.close(() => r()));
        await stopNode(node);
      },
    };
  },
};

/** Opens a TCP connection from `local` to the node, or rejects. */
function tcpTo(port: number, local: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: SIP_NODE_ADDRESS, port, localAddress: local });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Writes, half-closes and waits (bounded) until the node has closed its side too. */
async function sendAndClose(s: Socket, pieces: Buffer[]): Promise<void> {
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  s.on('data', () => {});
  for (const p of pieces) if (!s.destroyed) s.write(p);
  s.end();
  try {
    await within(closed, 2000, 'TCP close');
  } catch {
    s.destroy();
  }
}

export const liveSipTcp: FuzzTarget = {
  name: 'live-sip-tcp',
  description: 'TransportLayer + TransactionLayer on 127.0.48.1 receiving mutated SIP over TCP connections, split at random points; a known-good OPTIONS on a fresh connection after every batch must get its 200',
  corpus: 'sip',
  live: true,
  expected: [],
  batchSize: 20,
  seeds: relocate,
  async create({ seed }): Promise<TargetInstance> {
    const node = await startNode(seed, (a) => TCP_FUZZ_CLIENTS.has(a));
    const nodePort = node.transport.localAddress('tcp').port;
    let probes = 0;
    return {
      async deliver(batch: readonly FuzzInput[]) {
        node.observer.batch = batch;
        // Four connections per batch: a framing error closes one of them, not the whole batch (§18.3).
        const groups: Buffer[][] = [[], [], [], []];
        batch.forEach((b, k) => {
          const cut = inputHash(b.bytes) % (b.bytes.length + 1);
          groups[k % 4]!.push(b.bytes.subarray(0, cut), b.bytes.subarray(cut));
        });
        await Promise.all(
          groups.filter((g) => g.length).map(async (g) => {
            try {
              await sendAndClose(await tcpTo(nodePort, TCP_FUZZ_CLIENTS.take()), g);
            } catch {
              // Refused: the probe will tell whether the node is gone.
            }
          }),
        );
      },
      async probe() {
        const n = ++probes;
        const from = TCP_PROBE_CLIENTS.take();
        const s = await within(tcpTo(nodePort, from), PROBE_TIMEOUT_MS, 'TCP connect for the probe');
        const callId = `probe-${n}@${from}`;
        const framer = new StreamFramer();
        const answered = new Promise<void>((resolve) => {
          s.on('data', (chunk: Buffer) => {
            for (const item of framer.push(chunk)) {
              if (!('bytes' in item)) continue;
              try {
                const m = parseMessage(item.bytes, { transport: 'stream' });
                if (isResponse(m) && m.status === 200 && m.headers.get('Call-ID') === callId) resolve();
              } catch {
                // Not ours.
              }
            }
          });
        });
        s.write(options('TCP', from, s.localPort ?? 0, n, nodePort));
        try {
          await within(answered, PROBE_TIMEOUT_MS, `OPTIONS probe ${n} over TCP`);
        } finally {
          s.destroy();
        }
      },
      drain: () => node.observer.drain(),
      received: () => node.observer.received,
      culprit: () => node.observer.culprit(),
      settle: () => settle(node),
      close: () => stopNode(node),
    };
  },
};
