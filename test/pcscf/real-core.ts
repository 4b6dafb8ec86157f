import type { Container } from 'inversify';
import { HssNode } from '../../src/hss/hss-node.js';
import type { SubscriberStore } from '../../src/hss/store.js';
import { bindPcscf, type Pcscf } from '../../src/pcscf/index.js';
import { bindIcscf, type Icscf } from '../../src/scscf/icscf/index.js';
import { bindScscf, type Scscf } from '../../src/scscf/scscf/index.js';
import { createNodeContainer, type RunServices } from '../../src/topology/container.js';
import { Directory } from '../../src/topology/directory.js';
import { DEFAULT_TIMERS } from '../../src/topology/schema.js';
import { TraceBus, type TraceEvent } from '../../src/trace/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import type { NodeSpec } from '../../src/topology/node-spec.js';
import { TOKENS } from '../../src/topology/tokens.js';
import { PORT } from './helpers.js';

interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The run services of a real core's lab: system clock, a trace bus whose every event is kept in `events`, a
 * seeded Random, and a directory of the four CSCF/HSS nodes on `ip` plus the given UEs (ephemeral ports).
 */
export function labRun(seed: string, domain: string, ip: { pcscf: string; icscf: string; scscf: string; hss: string }, ues: Record<string, string>): { run: RunServices; events: TraceEvent[] } {
  const clock = new SystemClock();
  const bus = new TraceBus(clock);
  const events: TraceEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  const directory = new Directory(
    [
      { name: 'pcscf1', kind: 'pcscf', address: ip.pcscf, ports: { udp: PORT }, domain },
      { name: 'icscf1', kind: 'icscf', address: ip.icscf, ports: { udp: PORT }, domain },
      { name: 'scscf1', kind: 'scscf', address: ip.scscf, ports: { udp: PORT }, domain },
      { name: 'hss1', kind: 'hss', address: ip.hss, ports: { diameter: 3868 }, domain },
      ...Object.entries(ues).map(([name, address]) => ({ name, kind: 'ue' as const, address, ports: { udp: 0 }, domain })),
    ],
    domain,
  );
  return { run: { clock, random: new SeededRandom(seed), bus, directory, dataDir: '/nonexistent', timers: DEFAULT_TIMERS }, events };
}

/** Starts a node of `spec` in its own container (as the runner does) and queues its stop. */
export type NodeStarter = <T extends Startable>(spec: NodeSpec, bind: (c: Container) => void) => Promise<T>;

/**
 * The real core behind the P-CSCF under test: HSS (memory store), S-CSCF, I-CSCF and P-CSCF on their own
 * addresses. Every node started, here or later through `node`, pushes its stop on `stops`, which the caller runs.
 */
export async function startRealCore(o: {
  run: RunServices;
  domain: string;
  store: SubscriberStore;
  ip: { pcscf: string; icscf: string; scscf: string; hss: string };
  stops: Array<() => Promise<void>>;
}): Promise<{ pcscf: Pcscf; node: NodeStarter }> {
  const { run, ip, stops, domain } = o;
  const hss = new HssNode({
    spec: { name: 'hss1', kind: 'hss', address: ip.hss, ports: { diameter: 3868 }, domain, settings: { realm: domain } },
    clock: run.clock, random: run.random.fork('hss1'), trace: run.bus, dataDir: '/nonexistent', store: o.store,
  });
  await hss.start();
  stops.push(() => hss.stop());
  const node: NodeStarter = async <T extends Startable>(spec: NodeSpec, bind: (c: Container) => void) => {
    const c = createNodeContainer(run, spec, { tryingImmediately: spec.kind !== 'ue' });
    bind(c);
    const n = c.get<T>(TOKENS.Node);
    await n.start();
    stops.push(() => n.stop());
    return n;
  };
  const base = (name: string, kind: NodeSpec['kind'], address: string, settings: Record<string, unknown>): NodeSpec => ({ name, kind, address, ports: { udp: PORT }, domain, settings });
  await node<Scscf>(base('scscf1', 'scscf', ip.scscf, { hss: 'hss1', capabilities: [0] }), bindScscf);
  await node<Icscf>(base('icscf1', 'icscf', ip.icscf, { hss: 'hss1', scscfs: ['scscf1'], scscfCapabilities: { scscf1: [0] } }), (c) => bindIcscf(c));
  const pcscf = await node<Pcscf>(base('pcscf1', 'pcscf', ip.pcscf, { icscf: 'icscf1', secAgree: true }), bindPcscf);
  return { pcscf, node };
}
