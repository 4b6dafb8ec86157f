import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadTopology } from '../topology/loader.js';
import { startTopology, type RunningTopology } from '../topology/runner.js';
import type { Topology } from '../topology/schema.js';

/** The line `imslab node` writes on stdout once its network function listens; a parent waits for it. */
export const NODE_READY = 'imslab node ready:';

interface NodeFlags {
  topology: string;
  name: string;
  data?: string;
  stdinLifeline?: boolean;
}

/**
 * `imslab node --topology FILE --name NODE`: one network function of a topology alone in this process (the
 * "node per process" of docs/architecture.md). It finds the others only over the network, at the addresses
 * the topology gives them; what it shares with them goes through the wire (SIP, Diameter Cx). It runs until
 * SIGTERM or SIGINT, then stops cleanly and exits 0. Exit 2 for a bad topology or name, 1 when it cannot start.
 */
async function node(flags: NodeFlags): Promise<number> {
  let topology: Topology;
  try {
    topology = loadTopology(resolve(flags.topology));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const spec = topology.nodes.find((n) => n.name === flags.name);
  if (!spec) {
    process.stderr.write(`imslab node: no network function named "${flags.name}" in ${topology.name} (have: ${topology.nodes.map((n) => n.name).join(', ')})\n`);
    return 2;
  }
  // Signals that arrive while starting still stop the node, once it is up.
  let stopRequested = false;
  let wake: () => void = () => undefined;
  const onSignal = () => {
    stopRequested = true;
    wake();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // A parent that dies without stopping us (SIGKILLed at its budget) closes our stdin: no orphan keeps the ports.
  if (flags.stdinLifeline) process.stdin.on('end', onSignal).on('error', onSignal).resume();
  let running: RunningTopology | undefined;
  try {
    running = await startTopology(topology, { only: [spec.name], ues: false, ...(flags.data ? { dataDir: resolve(flags.data) } : {}) });
    const ports = Object.entries(spec.transports).map(([t, p]) => `${t}/${p}`).join(' ');
    process.stdout.write(`${NODE_READY} ${spec.name} (${spec.kind}) on ${spec.address} ${ports} pid ${process.pid}\n`);
    if (!stopRequested) await new Promise<void>((done) => (wake = done));
    await running.stop();
    running = undefined;
    return 0;
  } catch (e) {
    process.stderr.write(`imslab node ${spec.name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await running?.stop().catch(() => undefined);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export function registerNodeCommands(program: Command): void {
  program
    .command('node')
    .description('run one network function of a topology in this process until SIGTERM (a node per process)')
    .requiredOption('--topology <file>', 'topology file (YAML)')
    .requiredOption('--name <node>', 'the network function to run (pcscf1, scscf1, hss1 …)')
    .option('--data <dir>', 'data directory (HSS database, TLS material); default: the topology\'s, else a fresh temporary one, removed when the node stops')
    .addOption(new Option('--stdin-lifeline', 'stop when stdin closes (a parent process holds the other end)').hideHelp())
    .action(async (flags: NodeFlags) => {
      const code = await node(flags);
      // Exit explicitly: a stopped node must not linger on a handle someone forgot.
      process.stdout.write('', () => process.exit(code));
    });
}
