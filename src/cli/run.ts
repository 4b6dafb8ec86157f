import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadTopology } from '../topology/loader.js';
import { startTopology, type RunningTopology } from '../topology/runner.js';
import { runScenario } from '../topology/scenario.js';
import type { Topology } from '../topology/schema.js';
import type { TraceEvent } from '../trace/events.js';
import { renderLadder } from '../trace/ladder.js';
import type { TraceNode } from '../trace/explain.js';
import { eventsToPcap } from '../trace/pcap.js';
import { writeJsonTrace } from '../trace/json-trace.js';
import { provisionCsv } from '../topology/provision.js';
import { ConformanceReport, doctorSubscriber, renderForFile } from '../report/index.js';
import type { SubscriberStore } from '../hss/store.js';
import { ControlCommands } from '../control/commands.js';
import { collectCounters } from '../control/counters.js';
import { controlSocketPath } from '../control/protocol.js';
import { ControlServer, ControlSocketBusyError } from '../control/server.js';
import { deregisterServedUes, describeServedUes, registerServedUes } from './served-ues.js';

/** Ladder columns: the first UE on the left, the core in path order, the other UEs on the right. */
export function ladderColumns(t: Topology): TraceNode[] {
  const order = { pcscf: 0, icscf: 1, scscf: 2, proxy: 3, as: 4, hss: 5 } as const;
  const core = [...t.nodes].sort((a, b) => order[a.kind] - order[b.kind]).map((n) => ({ name: n.name, address: n.address, kind: n.kind }));
  const ues = t.ues.map((u) => ({ name: u.name, address: u.address, kind: 'ue' }));
  return [...ues.slice(0, 1), ...core, ...ues.slice(1)];
}

interface RunFlags {
  scenario?: string;
  seed?: string;
  ladder: 'text' | 'mermaid' | 'none';
  pcap?: string;
  trace?: string;
  data?: string;
  width?: string;
}

/** Loads a topology, or prints why it cannot be loaded (file:line:col: field: what) and answers undefined. */
function loadOrReport(file: string): Topology | undefined {
  try {
    return loadTopology(file);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  }
}

async function run(file: string, flags: RunFlags): Promise<number> {
  const topology = loadOrReport(file);
  if (!topology) return 2;
  const name = flags.scenario ?? topology.defaultScenario ?? Object.keys(topology.scenarios)[0];
  const steps = name ? topology.scenarios[name] : undefined;
  if (!name || !steps) {
    process.stderr.write(`${file}: no scenario ${name ? `"${name}"` : ''} (have: ${Object.keys(topology.scenarios).join(', ') || 'none'})\n`);
    return 2;
  }
  const seed = flags.seed === undefined ? undefined : /^\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed;
  const events: TraceEvent[] = [];
  let running: RunningTopology | undefined;
  let ok = false;
  try {
    running = await startTopology(topology, { ...(seed !== undefined ? { seed } : {}), ...(flags.data ? { dataDir: resolve(flags.data) } : {}) });
    running.bus.events$.subscribe((e) => events.push(e));
    const result = await runScenario(running, name, steps);
    ok = result.ok;
    // Let in-flight retransmissions and NOTIFYs settle into the trace before the nodes go away.
    await running.stop();
    running = undefined;
    if (flags.ladder !== 'none') {
      const width = flags.width ? Number(flags.width) : Math.max(80, Math.min(160, process.stdout.columns ?? 120));
      process.stdout.write(renderLadder(events, { nodes: ladderColumns(topology), format: flags.ladder, width }) + '\n');
    }
    if (flags.pcap) writeFileSync(flags.pcap, eventsToPcap(events));
    if (flags.trace) writeJsonTrace(flags.trace, events);
    process.stdout.write(`\nscenario "${name}" of ${topology.name}:\n`);
    for (const s of result.steps) {
      process.stdout.write(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.label} (${Math.round(s.durationMs)} ms)${s.reason ? ` — ${s.reason}` : ''}\n`);
    }
    if (flags.pcap) process.stdout.write(`pcap: ${flags.pcap} (open it in Wireshark: Telephony → SIP Flows)\n`);
    if (flags.trace) process.stdout.write(`trace: ${flags.trace}\n`);
  } catch (e) {
    process.stderr.write(`error: ${startupError(e)}\n`);
    ok = false;
  } finally {
    await running?.stop().catch(() => undefined);
  }
  return ok ? 0 : 1;
}

interface ServeFlags {
  subscribers?: string;
  report?: string[];
  data?: string;
  seed?: string;
  /** false with --no-ues: the core only, no simulated UEs. */
  ues?: boolean;
}

async function serve(file: string, flags: ServeFlags): Promise<number> {
  const topology = loadOrReport(file);
  if (!topology) return 2;
  const dataDir = resolve(flags.data ?? topology.dataDir ?? `.imslab/${topology.name}`);
  let commands: ControlCommands | undefined;
  let control: ControlServer;
  try {
    // The control channel first: a second serve on the same data directory is refused before it takes ports.
    mkdirSync(dataDir, { recursive: true });
    control = await ControlServer.open({
      path: controlSocketPath(dataDir),
      handle: (command, args) => {
        if (!commands) return Promise.reject(new Error('the core is still starting'));
        return commands.handle(command, args);
      },
      warn: (text) => process.stderr.write(`${text}\n`),
    });
  } catch (e) {
    process.stderr.write(`error: ${startupError(e)}\n`);
    return 1;
  }
  let running: RunningTopology;
  try {
    // startTopology stops whatever it had started when a node fails to start: nothing stays bound.
    running = await startTopology(topology, { dataDir, ues: flags.ues !== false });
  } catch (e) {
    await control.close();
    process.stderr.write(`error: ${startupError(e)}\n`);
    return 1;
  }
  commands = new ControlCommands(running);
  const reportFiles = (flags.report ?? []).map((f) => resolve(f));
  const report = reportFiles.length ? attachReport(running) : undefined;
  // A bad report file name fails now, not at shutdown.
  for (const f of reportFiles) renderForFile(f, report!.report.result());
  if (flags.subscribers) {
    const n = provisionCsv(running, resolve(flags.subscribers));
    process.stdout.write(`imported ${n} subscribers from ${flags.subscribers}\n`);
  }
  // Issue 5 point 8: the simulated UEs register before the banner, so everything it lists can be called.
  const served = flags.ues !== false ? await registerServedUes(running) : [];
  const domain = topology.domains[0]!;
  process.stdout.write(`imslab serving ${topology.name} (data in ${dataDir})\n`);
  for (const n of topology.nodes) {
    const ports = Object.entries(n.transports).map(([t, p]) => `${t}/${p}`).join(' ');
    process.stdout.write(`  ${n.kind.padEnd(5)} ${n.name.padEnd(10)} ${n.address.padEnd(12)} ${ports}\n`);
  }
  const p = topology.nodes.find((n) => n.kind === 'pcscf');
  if (p) {
    process.stdout.write(
      `\nRegister a handset or SIPp to the P-CSCF: REGISTER sip:${domain} via sip:${p.address}:${p.transports.udp ?? p.transports.tcp}` +
        ` (UDP/TCP)${p.transports.tls ? `, sips/TLS on ${p.address}:${p.transports.tls}` : ''}\n`,
    );
  }
  if (served.length) process.stdout.write(`${describeServedUes(served)}\n`);
  if (running.caPath) process.stdout.write(`TLS trust anchor (CA certificate for clients): ${running.caPath}\n`);
  process.stdout.write(`Control: imslab ctl status --data ${dataDir}  (socket ${control.path})\n`);
  process.stdout.write('Ctrl-C stops the core.\n');
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  report?.subscription.unsubscribe();
  await control.close();
  await deregisterServedUes(running);
  // Issue 8 point 5: the trace stream ends with every node's counters.
  running.bus.note({ node: 'control', level: 'info', text: 'counters at shutdown', data: { counters: collectCounters(running) } });
  await running.stop();
  for (const f of reportFiles) {
    writeFileSync(f, renderForFile(f, report!.report.result()));
    process.stdout.write(`conformance report: ${f}\n`);
  }
  return 0;
}

/**
 * One line for an error that kept the core from starting, instead of a stack trace: a socket that cannot be
 * bound names its address and port and the likely reason (another imslab on the same topology), a busy
 * control socket says so; anything else is its message.
 */
export function startupError(e: unknown): string {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    const n = x as NodeJS.ErrnoException & { address?: string; port?: number };
    if ((n.syscall === 'listen' || n.syscall === 'bind') && n.code && n.address !== undefined) {
      const at = `${n.address.includes(':') ? `[${n.address}]` : n.address}${n.port !== undefined ? `:${n.port}` : ''}`;
      if (n.code === 'EADDRINUSE') return `cannot listen on ${at} (address in use) — is another imslab serve running? (imslab ctl status)`;
      if (n.code === 'EADDRNOTAVAIL') return `cannot listen on ${at} (address not available on this machine: outside 127.0.0.1 a loopback alias may be needed)`;
      if (n.code === 'EACCES') return `cannot listen on ${at} (permission denied)`;
      return `cannot listen on ${at} (${n.code})`;
    }
    if (x instanceof ControlSocketBusyError) return `${x.message} — stop it first, or see it with imslab ctl status`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** The TS 24.229 §5.1 report on every outside UE that talks to the P-CSCF (issue 6): a trace subscriber. */
function attachReport(running: RunningTopology) {
  const t = running.topology;
  const hss = [...running.nodes.values()].find((n) => n.kind === 'hss') as unknown as { store: SubscriberStore } | undefined;
  const report = new ConformanceReport({
    knownAddresses: [...t.nodes.map((n) => n.address), ...t.ues.map((u) => u.address)],
    pcscfAddresses: t.nodes.filter((n) => n.kind === 'pcscf').map((n) => n.address),
    subscriberOf: (impi: string) => {
      const s = hss?.store.get(impi);
      return s ? doctorSubscriber(s) : undefined;
    },
  });
  return { report, subscription: report.attach(running.bus.events$) };
}

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('start a topology, run one scenario, print the ladder; exit 0 only if every step succeeded')
    .argument('<topology>', 'topology file (YAML)')
    .option('-s, --scenario <name>', 'scenario to run (default: the topology\'s defaultScenario)')
    .option('--seed <n>', 'seed for every random choice (tags, branches, RAND …)')
    .option('--ladder <format>', 'text | mermaid | none', 'text')
    .option('--pcap <file>', 'write every SIP, Diameter and RTP packet as a pcap')
    .option('--trace <file>', 'write the trace as JSON')
    .option('--data <dir>', 'data directory (HSS database, TLS material); default: a fresh temporary one, removed when the run ends')
    .option('--width <columns>', 'ladder width')
    .action(async (file: string, flags: RunFlags) => {
      process.exitCode = await run(file, flags);
    });
  program
    .command('serve')
    .description('keep a topology\'s core up for outside UEs (SIPp, softphones, handsets) until SIGINT/SIGTERM')
    .argument('<topology>', 'topology file (YAML)')
    .option('--subscribers <csv>', 'import subscribers from a ;-separated CSV (the same file SIPp reads with -inf)')
    .option('--data <dir>', 'data directory (default: .imslab/<topology name>)')
    .option('--no-ues', 'start the core only, without the topology\'s simulated UEs')
    .option('--report <file...>', 'on exit, write the TS 24.229 conformance report of outside UEs (.json and/or .html)')
    .action(async (file: string, flags: ServeFlags) => {
      process.exitCode = await serve(file, flags);
    });
}
