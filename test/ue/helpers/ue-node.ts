import 'reflect-metadata';
import { Container } from 'inversify';
import { TransactionLayer } from '../../../src/sip/transaction/layer.js';
import type { TimerSettings } from '../../../src/sip/transaction/timers.js';
import { TransportLayer } from '../../../src/sip/transport/layer.js';
import { Directory } from '../../../src/topology/directory.js';
import type { NodeSpec } from '../../../src/topology/node-spec.js';
import { TOKENS } from '../../../src/topology/tokens.js';
import { TraceBus, type PacketEvent, type TraceEvent } from '../../../src/trace/events.js';
import type { SipMessage } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { bindUe, type Ue } from '../../../src/ue/index.js';
import { SystemClock, type Clock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';

/** A simulated UE in a container built by hand (what the runner does), for tests that script its peers. */
export interface UeNode {
  ue: Ue;
  transport: TransportLayer;
  transactions: TransactionLayer;
}

export function ueNode(o: { clock: Clock; bus: TraceBus; directory: Directory; spec: NodeSpec; timers?: Partial<TimerSettings> }): UeNode {
  const { spec } = o;
  const random = new SeededRandom(spec.name);
  const transport = new TransportLayer({ node: spec.name, address: spec.address, ports: spec.ports, trace: o.bus, clock: o.clock, random: random.fork('transport') });
  const transactions = new TransactionLayer(transport, o.clock, random.fork('transactions'), { trace: o.bus, node: spec.name, ...(o.timers ? { timers: o.timers } : {}) });
  const c = new Container();
  c.bind(TOKENS.Clock).toConstantValue(o.clock);
  c.bind(TOKENS.Random).toConstantValue(random);
  c.bind(TOKENS.TraceBus).toConstantValue(o.bus);
  c.bind(TOKENS.Directory).toConstantValue(o.directory);
  c.bind(TOKENS.NodeSpec).toConstantValue(spec);
  c.bind(TOKENS.DataDir).toConstantValue('/nonexistent');
  c.bind(TOKENS.Transport).toConstantValue(transport);
  c.bind(TOKENS.Transactions).toConstantValue(transactions);
  bindUe(c);
  return { ue: c.get<Ue>(TOKENS.Node), transport, transactions };
}

export const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';

/**
 * alice or bob of a two-UE lab on port 5060 of their own addresses, digest users without sec-agree, whose
 * "P-CSCF" is the other UE: calls go UE to UE with no core in between.
 */
export function labUe(
  name: 'alice' | 'bob',
  addresses: { alice: string; bob: string },
  bus: TraceBus,
  settings: Record<string, unknown>,
  timers?: Partial<TimerSettings>,
): UeNode {
  const address = addresses[name];
  const peer = name === 'alice' ? addresses.bob : addresses.alice;
  const directory = new Directory(
    [
      { name: 'pcscf1', kind: 'pcscf', address: peer, ports: { udp: 5060 }, domain: DOMAIN },
      { name: 'alice', kind: 'ue', address: addresses.alice, ports: { udp: 5060 }, domain: DOMAIN },
      { name: 'bob', kind: 'ue', address: addresses.bob, ports: { udp: 5060 }, domain: DOMAIN },
    ],
    DOMAIN,
  );
  const spec: NodeSpec = {
    name,
    kind: 'ue',
    address,
    ports: { udp: 5060 },
    domain: DOMAIN,
    settings: { impi: `${name}@${DOMAIN}`, impu: `sip:${name}@${DOMAIN}`, pcscf: 'pcscf1', transport: 'udp', secAgree: false, auth: 'digest', password: 'x', expires: 600, ...settings },
  };
  return ueNode({ clock: new SystemClock(), bus, directory, spec, ...(timers ? { timers } : {}) });
}

/** alice and bob of a two-UE lab, both started, with every trace event they produce. */
export interface UePair {
  bus: TraceBus;
  events: TraceEvent[];
  alice: Ue;
  bob: Ue;
}

/** Starts a UE pair (labUe) on its own trace bus; stop it with stopUePair. */
export async function startUePair(
  addresses: { alice: string; bob: string },
  o: { alice?: Record<string, unknown>; bob?: Record<string, unknown>; timers?: Partial<TimerSettings> } = {},
): Promise<UePair> {
  const bus = new TraceBus(new SystemClock());
  const events: TraceEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  const alice = labUe('alice', addresses, bus, o.alice ?? {}, o.timers).ue;
  const bob = labUe('bob', addresses, bus, o.bob ?? {}, o.timers).ue;
  await alice.start();
  await bob.start();
  return { bus, events, alice, bob };
}

export async function stopUePair(pair: UePair): Promise<void> {
  await pair.alice.stop();
  await pair.bob.stop();
}

/** Every SIP message `node` sent, in order, as read back from the bytes. */
export function sipSentBy(events: readonly TraceEvent[], node: string): SipMessage[] {
  return events
    .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.node === node && e.direction === 'send')
    .map((e) => parseMessage(e.bytes));
}
