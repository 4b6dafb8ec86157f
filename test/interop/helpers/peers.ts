import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TraceBus, TraceEvent } from '../../../src/trace/events.js';
import { decodeMessage } from '../../../src/diameter/codec.js';

/** Where the peers' configs live (interop/), resolved from this file so tests run from any cwd. */
export const INTEROP_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../interop');

/** Whether an executable is on PATH; the suites skip (and say why) when a peer is not installed. */
export function has(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

export function skipReason(binaries: string[], packages: string): string | undefined {
  const missing = binaries.filter((b) => !has(b));
  if (missing.length === 0) return undefined;
  const reason = `interop: ${missing.join(', ')} not installed (apt-get install ${packages}); skipping`;
  console.warn(reason);
  return reason;
}

/**
 * A peer process in its own process group, its output collected, so that a test can wait on a line of it
 * and stop it (and every child it forked, e.g. Kamailio's workers) by its group id.
 */
export class PeerProcess {
  readonly child: ChildProcess;
  output = '';
  private exited: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: { cwd?: string } = {},
  ) {
    this.child = spawn(command, args, { cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (b: Buffer) => {
      this.output += b.toString('utf8');
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when `pattern` appears in the output; rejects after `timeoutMs` with the output's tail. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitUntil(() => this.output.match(pattern) ?? undefined, timeoutMs, () => `${this.name}: no ${pattern} within ${timeoutMs} ms; output ends:\n${this.output.slice(-3000)}`);
  }

  /** The exit code once the process has exited; SIGKILLs it and rejects after `timeoutMs`. */
  async exitCode(timeoutMs: number): Promise<number | null> {
    const late = new Promise<'late'>((r) => setTimeout(() => r('late'), timeoutMs).unref());
    if ((await Promise.race([this.exited, late])) === 'late') {
      await this.stop(0);
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms; output ends:\n${this.output.slice(-3000)}`);
    }
    return this.child.exitCode;
  }

  /** SIGTERM to the group, SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s);
      } catch {
        // the group is gone already
      }
    };
    signal('SIGTERM');
    const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
    if ((await Promise.race([this.exited.then(() => 'done' as const), timer])) === 'late') signal('SIGKILL');
    else signal('SIGKILL'); // forked children that outlived their parent
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

/** Polls `probe` every 20 ms until it returns a value; bounded by `timeoutMs`. */
export async function waitUntil<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Fills `{{NAME}}` placeholders; a placeholder left unfilled is an error, not a silent empty string. */
export function renderTemplate(text: string, values: Record<string, string>, file: string): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`${file}: no value for {{${name}}}`);
    return v;
  });
}

/** Renders every file under interop/<from> into `to` (what interop/kamailio/render.sh does, for tests). */
export function renderTree(from: string, to: string, values: Record<string, string>): void {
  const root = join(INTEROP_DIR, from);
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const target = join(to, relative(root, path));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, renderTemplate(readFileSync(path, 'utf8'), { RUN_DIR: to, ...values }, path));
      }
    }
  };
  walk(root);
}

/** One Diameter message as seen by the HSS. */
export interface DiameterSeen {
  direction: 'send' | 'recv';
  request: boolean;
  commandCode: number;
  remote: string;
  /** Result-Code, or the Experimental-Result-Code when the answer carries that instead. */
  resultCode?: number;
  bytes: Buffer;
}

/** Collects every Diameter packet of the trace, decoded far enough to say what it was. */
export function collectDiameter(trace: TraceBus): { seen: DiameterSeen[]; events: TraceEvent[] } {
  const seen: DiameterSeen[] = [];
  const events: TraceEvent[] = [];
  trace.events$.subscribe((e) => {
    events.push(e);
    if (e.type !== 'packet' || e.protocol !== 'diameter') return;
    const m = decodeMessage(e.bytes);
    const resultCode = m.isRequest ? undefined : (m.resultCode ?? m.experimentalResult?.code);
    seen.push({ direction: e.direction, request: m.isRequest, commandCode: m.commandCode, remote: e.remote.address, bytes: e.bytes, ...(resultCode !== undefined ? { resultCode } : {}) });
  });
  return { seen, events };
}
