/**
 * A live Diameter node under fuzz: imslab's DiameterNode (RFC 6733) on 127.0.48.11 with the HSS Cx server
 * attached (memory store). Each batch opens connections from 127.0.48.170–219, completes the capabilities
 * exchange (§5.3), writes the mutated messages and half-closes; the node closing its side marks the end.
 * Then a fresh connection from 127.0.48.220–239 must get CEA 2001, a DWA and a UAA for a known user
 * (TS 29.229 §6.1.1), which proves the node still serves.
 */
import { connect, type Socket } from 'node:net';
import { avp } from '../../src/diameter/avp.js';
import { buildCapabilitiesExchangeRequest } from '../../src/diameter/capabilities.js';
import { decodeMessage, encodeMessage } from '../../src/diameter/codec.js';
import { UserAuthorizationRequest } from '../../src/diameter/cx/index.js';
import { BaseCommandCode } from '../../src/diameter/dictionary/base.js';
import { DiameterFramer } from '../../src/diameter/framing.js';
import { DiameterMessage } from '../../src/diameter/message.js';
import { DiameterNode } from '../../src/diameter/node.js';
import { HssCxServer } from '../../src/hss/cx-server.js';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import { TraceBus } from '../../src/trace/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { FUZZ_IMPI, FUZZ_IMPU, FUZZ_PEER_IDENTITY, FUZZ_REALM } from '../corpus/diameter.js';
import type { FuzzInput, FuzzTarget, TargetInstance } from '../types.js';
import { fuzzSubscribers } from './diameter.js';
import { AddressPool, NodeObserver } from './observe.js';

export const DIAMETER_NODE_ADDRESS = '127.0.48.11';
/** Batches and probes connect from these addresses in turn (see AddressPool). */
const FUZZ_CLIENTS = new AddressPool('127.0.48.', 170, 50);
const PROBE_CLIENTS = new AddressPool('127.0.48.', 220, 20);
const NODE = 'fuzz-hss';
const STEP_TIMEOUT_MS = 3000;

/** A raw Diameter client: one TCP connection, answers matched by Hop-by-Hop Identifier. */
class RawPeer {
  private readonly framer = new DiameterFramer();
  private readonly waiting = new Map<number, (m: DiameterMessage) => void>();
  private hopByHop = 1;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    this.closed = new Promise((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      try {
        this.framer.push(chunk, (bytes) => {
          let m: DiameterMessage;
          try {
            m = decodeMessage(bytes);
          } catch {
            return;
          }
          if (m.isRequest) return;
          this.waiting.get(m.hopByHop)?.(m);
          this.waiting.delete(m.hopByHop);
        });
      } catch {
        socket.destroy();
      }
    });
  }

  static open(port: number, local: string): Promise<RawPeer> {
    return within(
      new Promise<RawPeer>((resolve, reject) => {
        const s = connect({ host: DIAMETER_NODE_ADDRESS, port, localAddress: local });
        s.once('connect', () => {
          s.off('error', reject);
          resolve(new RawPeer(s));
        });
        s.once('error', reject);
      }),
      STEP_TIMEOUT_MS,
      'Diameter connect',
    );
  }

  /** Sends a request and waits for its answer; rejects if the connection closes first or nothing comes. */
  ask(m: DiameterMessage, what: string): Promise<DiameterMessage> {
    m.hopByHop = this.hopByHop++;
    m.endToEnd = m.hopByHop;
    const answer = new Promise<DiameterMessage>((resolve, reject) => {
      this.waiting.set(m.hopByHop, resolve);
      void this.closed.then(() => reject(new Error(`${what}: the node closed the connection`)));
    });
    this.socket.write(encodeMessage(m));
    return within(answer, STEP_TIMEOUT_MS, what);
  }

  /** Half-closes and waits (bounded) for the node to close too. */
  async finish(): Promise<void> {
    this.socket.end();
    await within(this.closed, STEP_TIMEOUT_MS, 'close after the batch').catch(() => undefined);
    this.socket.destroy();
  }

  write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const cer = () => buildCapabilitiesExchangeRequest(FUZZ_PEER_IDENTITY);
const dwr = () => DiameterMessage.request(BaseCommandCode.DeviceWatchdog, 0, [avp('Origin-Host', FUZZ_PEER_IDENTITY.originHost), avp('Origin-Realm', FUZZ_REALM)], false);

export const liveDiameter: FuzzTarget = {
  name: 'live-diameter',
  description: 'DiameterNode + HSS Cx server (memory store) on 127.0.48.11 receiving mutated Diameter over TCP after a good CER; CER/DWR/UAR on a fresh connection after every batch must be answered',
  corpus: 'diameter',
  live: true,
  expected: [],
  batchSize: 20,
  async create({ seed }): Promise<TargetInstance> {
    const clock = new SystemClock();
    const trace = new TraceBus(clock);
    const observer = new NodeObserver(trace, NODE, (a) => FUZZ_CLIENTS.has(a));
    const store = new MemorySubscriberStore();
    for (const s of fuzzSubscribers()) store.put(s);
    const node = new DiameterNode({ name: NODE, originHost: 'hss.ims.lab', originRealm: FUZZ_REALM, address: DIAMETER_NODE_ADDRESS, port: 0, clock, random: new SeededRandom(`${seed}/hss`), trace });
    const hss = new HssCxServer({ store, random: new SeededRandom(`${seed}/hss-cx`), trace }, { name: NODE, originHost: 'hss.ims.lab', originRealm: FUZZ_REALM, homeNetworks: [FUZZ_REALM] });
    hss.attach(node);
    const port = (await node.listen()).port;
    // The CER of each batch connection: the node receives it from the fuzz address too, but it is no input.
    let control = 0;
    return {
      async deliver(batch: readonly FuzzInput[]) {
        observer.batch = batch;
        // Four connections per batch: a Message Length that lies swallows what follows it on its connection
        // (§3 gives no way to resynchronise), so fewer inputs are lost behind one.
        const groups: Buffer[][] = [[], [], [], []];
        batch.forEach((b, k) => groups[k % 4]!.push(b.bytes));
        await Promise.all(
          groups.filter((g) => g.length).map(async (g) => {
            let peer: RawPeer;
            try {
              peer = await RawPeer.open(port, FUZZ_CLIENTS.take());
              control++;
              await peer.ask(cer(), 'CER before the batch');
            } catch {
              return; // The probe decides whether the node is gone.
            }
            for (const b of g) peer.write(b);
            // The node reads everything before our FIN and then closes its side (a lying Message Length
            // would swallow a DWR, but not the FIN): the close marks the end of the batch.
            await peer.finish();
          }),
        );
      },
      async probe() {
        const peer = await RawPeer.open(port, PROBE_CLIENTS.take());
        try {
          const cea = await peer.ask(cer(), 'probe CER');
          if (cea.resultCode !== 2001) throw new Error(`probe CEA with Result-Code ${cea.resultCode}`);
          await peer.ask(dwr(), 'probe DWR');
          const uar = UserAuthorizationRequest.encode({
            sessionId: `${FUZZ_PEER_IDENTITY.originHost};probe;${Date.now()}`,
            originHost: FUZZ_PEER_IDENTITY.originHost,
            originRealm: FUZZ_REALM,
            destinationRealm: FUZZ_REALM,
            userName: FUZZ_IMPI,
            publicIdentity: FUZZ_IMPU,
            visitedNetworkIdentifier: FUZZ_REALM,
          });
          const uaa = await peer.ask(uar, 'probe UAR');
          if (uaa.commandCode !== 300 || (uaa.resultCode === undefined && uaa.experimentalResult === undefined)) {
            throw new Error(`probe UAR answered with command ${uaa.commandCode} and no result`);
          }
        } finally {
          peer.destroy();
        }
      },
      drain: () => observer.drain(),
      received: () => Math.max(0, observer.received - control),
      culprit: () => observer.culprit(),
      async settle() {
        const until = Date.now() + 5000;
        while (node.connections.length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      },
      async close() {
        await node.close();
        observer.close();
        store.close();
      },
    };
  },
};
