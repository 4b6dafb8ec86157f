import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container } from 'inversify';
import { SystemClock, type Clock } from '../util/clock.js';
import { SeededRandom } from '../util/random.js';
import { TraceBus } from '../trace/events.js';
import { CertificateAuthority, type TlsCredentials } from '../tls/authority.js';
import { createNodeContainer, type RunServices } from './container.js';
import { Directory, type NodeEndpoint } from './directory.js';
import { nodeSpecOf, ueListeningPorts, ueSpecOf } from './specs.js';
import { NODE_BINDERS, UE_BINDER } from './kinds.js';
import type { NetworkNode } from './network-node.js';
import type { Impairment, Topology, TopologyNode } from './schema.js';
import type { ImpairmentProfile } from '../sip/transport/impairment.js';
import { TOKENS } from './tokens.js';

/** What the runner and scenarios need of a simulated UE (src/ue implements it). */
export interface SimulatedUe extends NetworkNode {
  readonly state: { state: string; reason?: string };
  register(): Promise<void>;
  deregister(): Promise<void>;
}

export interface StartOptions {
  /** Overrides the topology's seed. */
  seed?: number | string;
  /** Where the HSS database and TLS material live; default: the topology's dataDir, else a fresh temp dir that stop() removes. */
  dataDir?: string;
  clock?: Clock;
  bus?: TraceBus;
  /** Start only these nodes (a node per process); default: all. */
  only?: string[];
  /** Also start the topology's simulated UEs (default true). */
  ues?: boolean;
}

/** Builds one network function's container (generation 0 at start, then 1, 2 … for each startNode). */
export type NodeFactory = (node: TopologyNode, generation: number) => Promise<{ container: Container; node: NetworkNode }>;

/** Network functions start in this order so that each finds its servers up: HSS first, P-CSCF last. */
const START_ORDER: Record<TopologyNode['kind'], number> = { hss: 0, as: 1, scscf: 2, icscf: 3, proxy: 4, pcscf: 5 };

export class RunningTopology {
  constructor(
    readonly topology: Topology,
    readonly directory: Directory,
    readonly bus: TraceBus,
    readonly clock: Clock,
    readonly dataDir: string,
    readonly nodes: Map<string, NetworkNode>,
    readonly ues: Map<string, SimulatedUe>,
    readonly containers: Map<string, Container>,
    readonly caPath: string | undefined,
    /** Builds a network function's container again from its spec (startNode); absent for hand-made runs. */
    private readonly factory?: NodeFactory,
    /** The data directory when the run made it itself (none was given): removed by stop(). */
    private readonly temporaryDataDir?: string,
  ) {}

  /** Network functions of the topology that are not running now (stopped through stopNode). */
  get stoppedNodes(): string[] {
    return this.topology.nodes.filter((n) => !this.nodes.has(n.name)).map((n) => n.name);
  }

  /**
   * Stops one network function and takes it out of the run (issue 8: the others ride through its absence
   * with the statuses the specs give). Its sockets close; its state in memory is gone, what it keeps in the
   * data directory (the HSS's SQLite store) stays for startNode.
   */
  async stopNode(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) {
      const known = this.topology.nodes.some((n) => n.name === name);
      throw new Error(known ? `${name} is not running` : `no node named "${name}" in topology ${this.topology.name}`);
    }
    this.claim(name);
    try {
      this.nodes.delete(name);
      this.containers.delete(name);
      await node.stop();
      this.bus.note({ node: 'runner', level: 'info', text: `${name} (${node.kind}) stopped` });
    } finally {
      this.changing.delete(name);
    }
  }

  /**
   * Starts a stopped network function again: a new container from the same spec and data directory, so the
   * HSS reopens its store with every subscriber, SQN and S-CSCF assignment it had.
   */
  async startNode(name: string): Promise<void> {
    const spec = this.topology.nodes.find((n) => n.name === name);
    if (!spec) throw new Error(`no node named "${name}" in topology ${this.topology.name}`);
    if (this.nodes.has(name)) throw new Error(`${name} is already running`);
    if (!this.factory) throw new Error(`${name}: this run cannot rebuild nodes`);
    this.claim(name);
    try {
      const { container, node } = await this.factory(spec, ++this.generation);
      await node.start();
      this.containers.set(name, container);
      this.nodes.set(name, node);
      this.bus.note({ node: 'runner', level: 'info', text: `${name} (${node.kind}) started again` });
    } finally {
      this.changing.delete(name);
    }
  }

  private readonly changing = new Set<string>();
  private generation = 0;

  /** One stop or start per node at a time: a second caller learns it is busy instead of racing it. */
  private claim(name: string): void {
    if (this.changing.has(name)) throw new Error(`${name} is being stopped or started already`);
    this.changing.add(name);
  }

  ue(name: string): SimulatedUe {
    const u = this.ues.get(name);
    if (!u) throw new Error(`no UE named "${name}" in topology ${this.topology.name}`);
    return u;
  }

  node<T extends NetworkNode = NetworkNode>(name: string): T {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node named "${name}" in topology ${this.topology.name}`);
    return n as T;
  }

  /** Stops UEs first, then the functions in reverse start order; every socket and timer is released. */
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    for (const u of [...this.ues.values()].reverse()) await u.stop().catch((e) => errors.push(e));
    for (const n of [...this.nodes.values()].reverse()) await n.stop().catch((e) => errors.push(e));
    if (this.temporaryDataDir) rmSync(this.temporaryDataDir, { recursive: true, force: true });
    if (errors.length) throw new AggregateError(errors, `stopping ${this.topology.name}: ${errors.length} error(s)`);
  }
}

/** The directory of a topology: every node and UE with its address and ports. */
export function directoryOf(topology: Topology): Directory {
  const endpoints: NodeEndpoint[] = topology.nodes.map((n) => ({
    name: n.name,
    kind: n.kind,
    address: n.address,
    ports: { ...n.transports },
    domain: n.domain,
  }));
  for (const u of topology.ues) {
    endpoints.push({ name: u.name, kind: 'ue', address: u.address, ports: ueListeningPorts(u), domain: topology.domains[0]! });
  }
  return new Directory(endpoints, topology.domains[0]!);
}

export async function startTopology(topology: Topology, options: StartOptions = {}): Promise<RunningTopology> {
  const clock = options.clock ?? new SystemClock();
  const bus = options.bus ?? new TraceBus(clock);
  const seed = options.seed ?? topology.seed;
  const given = options.dataDir ?? topology.dataDir;
  const dataDir = given ?? mkdtempSync(join(tmpdir(), 'imslab-'));
  mkdirSync(dataDir, { recursive: true });
  // A directory nobody named is this run's alone: it goes when the run stops, so runs do not pile up in /tmp.
  const temporary = given === undefined ? dataDir : undefined;
  const directory = directoryOf(topology);
  const run: RunServices = { clock, random: new SeededRandom(seed), bus, directory, dataDir, timers: topology.timers };

  const wanted = (name: string) => !options.only || options.only.includes(name);
  const nodes = new Map<string, NetworkNode>();
  const ues = new Map<string, SimulatedUe>();
  const containers = new Map<string, Container>();
  let ca: CertificateAuthority | undefined;
  const tlsFor = async (name: string, address: string, host: string): Promise<TlsCredentials> => {
    ca ??= await CertificateAuthority.open(dataDir, { commonName: `imslab CA (${topology.name})` });
    return ca.issue({ name, addresses: [address], hostNames: [host] });
  };
  const running = new RunningTopology(topology, directory, bus, clock, dataDir, nodes, ues, containers, undefined, undefined, temporary);
  const build: NodeFactory = async (n, generation) => {
    const binder = NODE_BINDERS[n.kind];
    if (!binder) throw new Error(`${n.name}: node kind "${n.kind}" cannot run yet`);
    const spec = nodeSpecOf(topology, n);
    const tls = binder.sip && n.transports.tls ? await tlsFor(n.name, n.address, n.host) : undefined;
    const impairment = impairmentProfile(n.impairment);
    const l = n.limits ?? {};
    const limits = {
      ...(l.rate !== undefined ? { ratePerSecond: l.rate } : {}),
      ...(l.burst !== undefined ? { burst: l.burst } : {}),
      ...(l.retryAfter !== undefined ? { retryAfter: l.retryAfter } : {}),
      ...(l.maxMessageSize !== undefined ? { maxMessageBytes: l.maxMessageSize } : {}),
      ...(l.maxHeaders !== undefined ? { maxHeaders: l.maxHeaders } : {}),
    };
    // A restarted node draws from a stream of its own (still seeded): replaying its first life's branches
    // and tags would let the other nodes' lingering transactions (RFC 3261 §17.2.2 Timer J) absorb its
    // new requests as retransmissions.
    const services = generation === 0 ? run : { ...run, random: run.random.fork(`restart ${generation}`) };
    const container = createNodeContainer(services, spec, binder.sip ? { ...(tls ? { tls } : {}), ...(impairment ? { impairment } : {}), limits, tryingImmediately: true } : undefined);
    binder.bind(container, topology);
    return { container, node: container.get<NetworkNode>(TOKENS.Node) };
  };

  try {
    const ordered = topology.nodes.filter((n) => wanted(n.name)).sort((a, b) => START_ORDER[a.kind] - START_ORDER[b.kind]);
    for (const n of ordered) {
      const { container, node } = await build(n, 0);
      containers.set(n.name, container);
      nodes.set(n.name, node);
      await node.start();
    }
    if (options.ues !== false) {
      for (const u of topology.ues.filter((x) => wanted(x.name))) {
        const spec = ueSpecOf(topology, u);
        const tls = u.transport === 'tls' ? await tlsFor(u.name, u.address, `${u.name}.${topology.domains[0]}`) : undefined;
        // Issue 8 point 1: a UE's own link (its radio) can be lossy too; both directions then lose.
        const impairment = impairmentProfile(u.impairment);
        const c = createNodeContainer(run, spec, { ...(tls ? { tls } : {}), ...(impairment ? { impairment } : {}) });
        if (!UE_BINDER) throw new Error('simulated UEs are not available in this build');
        UE_BINDER(c);
        const ue = c.get<SimulatedUe>(TOKENS.Node);
        containers.set(u.name, c);
        ues.set(u.name, ue);
        await ue.start();
      }
    }
  } catch (e) {
    await running.stop().catch(() => undefined);
    throw e;
  }
  return new RunningTopology(topology, directory, bus, clock, dataDir, nodes, ues, containers, ca?.caPath, build, temporary);
}

/** The transport's impairment profile from a topology's impairment block. */
function impairmentProfile(i: Impairment | undefined): ImpairmentProfile | undefined {
  return i ? { loss: i.loss, delay: i.delayMs, jitter: i.jitterMs, duplicate: i.duplicate, reorder: i.reorder } : undefined;
}
