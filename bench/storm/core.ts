/**
 * The core under test in its two modes (issue 7): every network function in this process (one event loop),
 * or one `imslab node` child process per function, so that both cores of the machine work and the functions
 * meet only over loopback. Either way `stop()` releases everything; a child that ignores SIGTERM is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_READY } from '../../src/cli/node.js';
import { stopChild } from '../stop-child.js';
import { loadTopology } from '../../src/topology/loader.js';
import { startTopology } from '../../src/topology/runner.js';
import type { StormTopology } from './topology.js';

const BIN = fileURLToPath(new URL('../../bin/imslab.mjs', import.meta.url));

export type CoreMode = 'one-process' | 'separate-processes';

export interface RunningCore {
  mode: CoreMode;
  /** Process ids of the children (separate-processes), for whoever wants to watch them. */
  pids: number[];
  stop(): Promise<void>;
}

export async function startCore(storm: StormTopology, mode: CoreMode, opts: { readyTimeoutMs?: number } = {}): Promise<RunningCore> {
  if (mode === 'one-process') {
    const running = await startTopology(loadTopology(storm.file), { ues: false, dataDir: storm.dataDir });
    return { mode, pids: [], stop: () => running.stop() };
  }
  const children: ChildProcess[] = [];
  const stop = () => Promise.all(children.map((c) => stopChild(c))).then(() => undefined);
  try {
    // Started together: the CSCFs open their Diameter connection to the HSS on first use, not at start.
    await Promise.all(storm.nodeNames.map((name) => spawnNode(storm, name, children, opts.readyTimeoutMs ?? 30_000)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { mode, pids: children.map((c) => c.pid!), stop };
}

function spawnNode(storm: StormTopology, name: string, children: ChildProcess[], timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // IMSLAB_STORM_CPU_PROF=DIR: a V8 CPU profile of each function's process, written to DIR when it stops.
    const prof = process.env.IMSLAB_STORM_CPU_PROF;
    const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}/${name}`] : [];
    const child = spawn(process.execPath, [...flags, BIN, 'node', '--topology', storm.file, '--name', name, '--data', storm.dataDir, '--stdin-lifeline'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`imslab node ${name} did not say it was ready within ${timeoutMs} ms${err ? `: ${err.trim().slice(-300)}` : ''}`)), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (out.length > 10_000) return;
      out += d;
      if (out.includes(NODE_READY)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 10_000) err += d;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`imslab node ${name}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`imslab node ${name} exited (${signal ?? `code ${code}`}) before it was ready${err ? `: ${err.trim().slice(-300)}` : ''}`));
    });
  });
}
