/**
 * The whole core's memory per registered UE (issue 7): not the stores alone (memory.ts) but a running core —
 * P-CSCF, I-CSCF, S-CSCF and HSS in this process, talking SIP and Diameter over loopback — into which N UEs
 * have registered through the network (TS 24.229 §5.1.1.2: REGISTER, 401 with AKA, REGISTER, 200; then the
 * P-CSCF's reg-event SUBSCRIBE and the S-CSCF's NOTIFY, §5.2.3, §5.4.2.1.2), measured once every transaction
 * has drained (Timer J, 64·T1, RFC 3261 §17.2.2): what stays per UE is what the core keeps for a registered UE,
 * in every structure it has — stores, reg-event subscriptions, dialogs, timers, indexes.
 *
 * The figure is what each further UE costs, as the projection to 1,000,000 needs: before the baseline the core
 * registers as many UEs as it then measures (`warmUes`), so that what a core holds whatever its subscriber count
 * — the HSS's bounded caches (3 × 8,192 entries), the interners, compiled code — is full before the baseline and
 * not divided among the measured UEs, while each hash table keyed per UE doubles exactly once over the measured
 * UEs as it does, on average, for every doubling of the subscriber count (28 B per slot, 28–56 B per entry).
 *
 * T1 is 50 ms in this topology (Timer J 3.2 s instead of 32 s) so that the run takes seconds; the state
 * kept per registered UE does not depend on T1. The load generator runs in a child process
 * (memory-core-load.ts), so its own state is outside the figure. Registrations are closed-loop, bounded in
 * count and in time; the figure is divided by the registrations that succeeded.
 *
 * RSS (the issue's own figure) is read as the steady state a long-running core settles at, not at the end of
 * the burst: right after the drain it still holds the pages 20,000 registrations in ~25 s took (V8 grows its heap
 * to several times what stays live, and gives the pages back only when its memory reducer runs on an idle
 * heap), so full GCs 3 s apart follow until RSS falls by less than 1 % of its growth, at most `settleMs`. Both
 * readings are reported, and the settled growth split (smaps_rollup) into V8's heap pages and other anonymous
 * memory (malloc: SQLite, sockets, Buffers).
 * Run alone: `node --expose-gc --import tsx bench/memory-core.ts [ues]`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stopChild } from './stop-child.js';
import { startCore, type RunningCore } from './storm/core.js';
import { STORM_DOMAIN, writeStormTopology, type StormNetwork, type StormSubscriber } from './storm/topology.js';
import type { CoreLoadReply, CoreLoadRequest } from './memory-core-load.js';

const CHILD = fileURLToPath(new URL('./memory-core-load.ts', import.meta.url));

/** Apart from the storms' 127.0.60.x so that both can run at once. */
export const MEMORY_CORE_NETWORK: StormNetwork = { prefix: '127.0.62', sipPort: 27060, diameterPort: 25868 };

export interface WholeCoreMemoryResult {
  /** UEs asked for, and registered (200) in the measured phase. */
  ues: number;
  /** UEs registered before the baseline (see the module's comment). */
  warm_ues: number;
  registered: number;
  failed: number;
  first_failure?: string | undefined;
  t1_ms: number;
  /** Growth of heapUsed + external per registered UE, after Timer J and a full GC. */
  heap_bytes_per_ue: number;
  /**
   * Growth of RSS per registered UE once the core has settled: after Timer J, full GCs a few seconds apart
   * (V8's memory reducer gives back the pages the burst took) until RSS stops falling, at most `settleMs`.
   */
  rss_bytes_per_ue: number;
  /** RSS growth per UE right after Timer J and a GC: the registration burst's high-water mark, not steady state. */
  rss_at_drain_bytes_per_ue: number;
  /** Of the settled RSS growth per UE: V8's heap pages (heapTotal) and the rest of the anonymous memory (malloc: sockets, SQLite, Buffers). */
  rss_v8_heap_bytes_per_ue: number;
  rss_other_anon_bytes_per_ue: number;
  settle_ms: number;
  registrations_per_s: number;
  baseline_heap_bytes: number;
  baseline_rss_bytes: number;
  seconds: number;
}

export interface WholeCoreMemoryOptions {
  ues: number;
  /** UEs registered before the baseline (default: as many as are measured). */
  warmUes?: number;
  t1Ms?: number;
  concurrency?: number;
  /** Longest time the registrations may take; those not done by then are not registered. */
  registerBudgetMs?: number;
  /** Longest wait for RSS to settle after the drain (default 30 s). */
  settleMs?: number;
  network?: StormNetwork;
  step?: (name: string) => void;
}

export async function benchWholeCoreMemory(opts: WholeCoreMemoryOptions): Promise<WholeCoreMemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('the whole-core memory bench needs node --expose-gc');
  const n = Math.max(100, Math.min(200_000, Math.floor(opts.ues)));
  const warmUes = Math.max(1, Math.min(200_000, Math.floor(opts.warmUes ?? n)));
  const t1 = opts.t1Ms ?? 50;
  const started = performance.now();
  // The first warmUes subscribers register outside the measure: caches, connections and code warm up on them.
  const storm = writeStormTopology({ subscribers: warmUes + n, network: opts.network ?? MEMORY_CORE_NETWORK });
  appendFileSync(storm.file, `timers: { T1: ${t1} }\n`);
  let core: RunningCore | undefined;
  let load: LoadChild | undefined;
  const drained = () => new Promise((r) => setTimeout(r, 64 * t1 + 1000));
  try {
    opts.step?.(`start the core (T1 ${t1} ms) and the load generator's process`);
    core = await startCore(storm, 'one-process');
    load = startLoadChild();
    await load.ask({ type: 'start', addresses: storm.clientAddresses, pcscf: storm.pcscf, domain: STORM_DOMAIN }, 'started', 30_000);
    const first = await load.ask(registerJob(storm.subscribers.slice(0, 1), 1, 30_000), 'registered', 40_000);
    if (first.ok !== 1) throw new Error(`the first registration failed: ${first.firstFailure ?? 'no reason'}`);
    const budget = opts.registerBudgetMs ?? 120_000;
    const settleMs = opts.settleMs ?? 30_000;
    const start = usage(gc);
    if (warmUes > 1) {
      opts.step?.(`register ${warmUes} UEs before the baseline (bounded caches fill; hash tables reach the size the measured UEs double)`);
      const warm = await load.ask(registerJob(storm.subscribers.slice(1, warmUes), opts.concurrency ?? 40, budget), 'registered', budget + 60_000);
      if (warm.failed > 0) throw new Error(`${warm.failed} of the ${warmUes - 1} warm-up registrations failed: ${warm.firstFailure ?? 'no reason'}`);
    }
    await drained();
    // Each reading in the same state as its counterpart at the end. The heap right after the drain, as the end's
    // is read: the settling GCs below age out the bytecode of functions not run meanwhile (V8 flushes it), which
    // the measured registrations would then compile again and count as theirs. RSS once settled, as the end's
    // is read: the warm-up's burst took pages that a long-running core gives back.
    const beforeHeap = usage(gc);
    opts.step?.('let RSS settle before the baseline: a full GC every 3 s until it stops falling');
    const before = await settle(gc, beforeHeap, start, settleMs);
    opts.step?.(`register ${n} UEs through the P-CSCF, ${opts.concurrency ?? 40} at a time, within ${Math.round(budget / 1000)} s`);
    const t0 = performance.now();
    const r = await load.ask(registerJob(storm.subscribers.slice(warmUes), opts.concurrency ?? 40, budget), 'registered', budget + 60_000);
    const registerSeconds = (performance.now() - t0) / 1000;
    if (r.ok === 0) throw new Error(`no registration succeeded: ${r.firstFailure ?? 'no reason'}`);
    opts.step?.(`wait Timer J (64·T1 = ${64 * t1} ms) for the transactions to drain`);
    await drained();
    const after = usage(gc);
    opts.step?.('let RSS settle: a full GC every 3 s until it stops falling');
    const settleStart = performance.now();
    const settled = await settle(gc, after, before, settleMs);
    const perUe = (a: number, b: number) => Math.round((a - b) / r.ok);
    return {
      ues: n,
      warm_ues: warmUes,
      registered: r.ok,
      failed: r.failed,
      first_failure: r.firstFailure,
      t1_ms: t1,
      heap_bytes_per_ue: Math.round((after.heap - beforeHeap.heap) / r.ok),
      rss_bytes_per_ue: perUe(settled.rss, before.rss),
      rss_at_drain_bytes_per_ue: perUe(after.rss, before.rss),
      rss_v8_heap_bytes_per_ue: perUe(settled.heapTotal, before.heapTotal),
      rss_other_anon_bytes_per_ue: perUe(settled.anon - settled.heapTotal, before.anon - before.heapTotal),
      settle_ms: Math.round(performance.now() - settleStart),
      registrations_per_s: Math.round(r.ok / registerSeconds),
      baseline_heap_bytes: beforeHeap.heap,
      baseline_rss_bytes: before.rss,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await load?.stop();
    await core?.stop().catch(() => undefined);
    rmSync(storm.dir, { recursive: true, force: true });
  }
}

/**
 * Full GCs 3 s apart (V8's memory reducer returns the pages a burst took on an idle heap) until RSS falls by
 * less than 1 % of its growth since `from`, at most `maxMs`; the last reading.
 */
async function settle(gc: () => void, now: Usage, from: Usage, maxMs: number): Promise<Usage> {
  const t0 = performance.now();
  let last = now;
  while (performance.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 3_000));
    const next = usage(gc);
    const fell = last.rss - next.rss;
    last = next;
    if (fell < 0.01 * Math.max(1, now.rss - from.rss)) break;
  }
  return last;
}

interface Usage {
  heap: number;
  rss: number;
  heapTotal: number;
  /** Anonymous resident memory (smaps_rollup), or RSS where Linux's split is not there. */
  anon: number;
}

function usage(gc: () => void): Usage {
  gc();
  gc();
  const m = process.memoryUsage();
  const anon = smapsRollup().Anonymous ?? m.rss;
  return { heap: m.heapUsed + m.external, rss: m.rss, heapTotal: m.heapTotal, anon };
}

/** Linux's split of this process's resident memory: anonymous pages (heaps) against file mappings. */
function smapsRollup(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+) kB/.exec(line);
      if (m) out[m[1]!] = Number(m[2]) * 1024;
    }
  } catch {
    // not Linux: no split
  }
  return out;
}

function registerJob(subs: StormSubscriber[], concurrency: number, deadlineMs: number): CoreLoadRequest {
  return { type: 'register', subscribers: subs.map((s) => ({ impi: s.impi, impu: s.impu, k: s.k.toString('hex'), opc: s.opc.toString('hex') })), concurrency, deadlineMs };
}

interface LoadChild {
  ask<T extends CoreLoadReply['type']>(m: CoreLoadRequest, expect: T, timeoutMs: number): Promise<Extract<CoreLoadReply, { type: T }>>;
  stop(): Promise<void>;
}

function startLoadChild(): LoadChild {
  const child: ChildProcess = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  const gone = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the load generator ended (${signal ?? `exit ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`)));
    child.once('error', reject);
  });
  gone.catch(() => undefined);
  return {
    ask(m, expect, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`the load generator did not answer ${m.type} within ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (r: CoreLoadReply) => {
          if (r.type === 'error') done(new Error(r.message));
          else if (r.type === expect) done(undefined, r);
        };
        const done = (err?: Error, r?: CoreLoadReply) => {
          clearTimeout(timer);
          child.off('message', onMessage);
          if (err) reject(err);
          else resolve(r as Extract<CoreLoadReply, { type: typeof expect }>);
        };
        child.on('message', onMessage);
        gone.catch((e: Error) => done(e));
        child.send(m);
      });
    },
    stop: () => stopChild(child, { type: 'exit' } satisfies CoreLoadRequest),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ues = Number(process.argv[2] ?? 20_000);
  const r = await benchWholeCoreMemory({ ues, step: (s) => console.error(`# ${s}`) });
  console.log(JSON.stringify(r, null, 2));
}
