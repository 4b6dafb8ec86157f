/**
 * The registration storm's message pattern with the work taken out: the machine's ceiling for this scenario.
 *
 * One initial IMS AKA registration through the core is 16 SIP datagrams and 8 Diameter messages between five
 * processes (generator, P-CSCF, I-CSCF, S-CSCF, HSS), in a fixed order: REGISTER → P → I, UAR/UAA, → S, MAR/MAA,
 * 401 back through I and P; the second REGISTER the same way with SAR/SAA and a 200; then the P-CSCF's reg-event
 * SUBSCRIBE, its 200, the S-CSCF's NOTIFY and its 200 (TS 24.229 §5.1.1.2, §5.2.3, §5.3.1.2, §5.4.1.2; TS 29.228
 * §6.1). Here four relay processes (pattern-relay.ts) and the load generator pass the same number of messages of
 * about the same sizes, over the same kinds of sockets, in the same order — and do nothing else: no parsing, no
 * transactions, no stores, no AKA. Stepped and judged like the storm (stepper.ts), its DOC is what this machine's
 * kernel, scheduler and Node event loops allow for this scenario at all; the storm's DOC over it says how much of
 * that the core's own work leaves (issue 7: show how close imslab gets to what the machine can do).
 */
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../stop-child.js';
import { cpuMsOf } from './cpu.js';
import { startLoadProcess, type LoadHooks, type LoadProcess } from './load-process.js';
import { CHALLENGE, FIRST, LAST, patternMessage, SOCKET_BUFFER, type PatternAddresses, type RelayCounts, type RelayRole } from './pattern-messages.js';
import { runSteps, type AttemptOutcome, type StepPlan, type SteppedResult } from './stepper.js';

export interface PatternJob {
  kind: 'pattern';
  plan: StepPlan;
  preamble: number;
  addresses: PatternAddresses;
}

export interface PatternResult extends SteppedResult {
  /** CPU (user + system) of the five processes per scenario, step by step. */
  cpuMsPerScenario: Array<{ saps: number; cpu_ms: number }>;
  /** What each relay counted, for the checks. */
  relays: RelayCounts[];
}

const RUN = fileURLToPath(new URL('../../bin/run.mjs', import.meta.url));
const RELAY = 'bench/storm/pattern-relay.ts';
const ROLES: readonly RelayRole[] = ['H', 'P', 'I', 'S'];

/** Runs the pattern's ladder: four relays and the generator in processes of their own, stopped at the end. */
export async function runRegistrationPattern(o: { plan: StepPlan; preamble?: number; host?: string; step?: (s: string) => void }): Promise<PatternResult> {
  const host = o.host ?? '127.0.0.1';
  const relays: Array<{ role: RelayRole; child: ChildProcess }> = [];
  let load: LoadProcess<SteppedResult> | undefined;
  try {
    o.step?.('registration pattern: starting four relays');
    const addresses = { G: { address: host, port: 0 } } as PatternAddresses;
    for (const role of ROLES) {
      const child = fork(RUN, [RELAY, role, host], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      relays.push({ role, child });
      addresses[role] = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pattern relay ${role} did not listen within 30 s`)), 30_000);
        child.once('message', (m: { listening: { address: string; port: number } }) => (clearTimeout(timer), resolve(m.listening)));
        child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`pattern relay ${role} exited (${code}) before listening`))));
      });
    }
    // Each relay learns where the others are; the Diameter clients connect to the HSS before they answer.
    await Promise.all(
      relays.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            child.once('message', () => resolve());
            child.send({ peers: addresses });
          }),
      ),
    );
    const pids = relays.map((r) => r.child.pid!);
    const marks: number[] = [];
    const job: PatternJob = { kind: 'pattern', plan: o.plan, preamble: o.preamble ?? 200, addresses };
    load = startLoadProcess<SteppedResult>(job, { step: (s) => o.step?.(s), mark: () => marks.push(cpuMsOf([...pids, load!.pid], false)) });
    const result = await load.result;
    const counts = await settledCounts(relays.map((r) => r.child));
    const cpuMsPerScenario = result.steps.map((st, k) => ({ saps: st.saps, cpu_ms: Math.round(((marks[k + 1]! - marks[k]!) / st.attempts) * 1000) / 1000 }));
    return { ...result, cpuMsPerScenario, relays: counts };
  } finally {
    await load?.stop();
    await Promise.all(relays.map(({ child }) => stopChild(child, { stop: true })));
  }
}

/** The relays' counts once the reg-event tail of the last scenarios has passed too: asked until two readings agree (≤ 2 s). */
async function settledCounts(children: ChildProcess[]): Promise<RelayCounts[]> {
  const read = () =>
    Promise.all(
      children.map(
        (child) =>
          new Promise<RelayCounts>((resolve) => {
            child.once('message', (m: RelayCounts) => resolve(m));
            child.send({ count: true });
          }),
      ),
    );
  const total = (c: RelayCounts[]) => c.reduce((t, r) => t + Object.values(r.received).reduce((a, b) => a + b, 0), 0);
  let last = await read();
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = await read();
    if (total(now) === total(last)) return now;
    last = now;
  }
  return last;
}

/** The generator's side (in the load process): the attempts, each from its REGISTER to the 200 of the second. */
export async function patternLoad(job: PatternJob, hooks: LoadHooks): Promise<SteppedResult> {
  const p = job.addresses.P;
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER, lookup: (a, _o, cb) => (cb as (e: null, a: string, f: number) => void)(null, a, 4) });
  await new Promise<void>((resolve) => socket.bind(0, job.addresses.G.address, resolve));
  const waiting = new Map<number, { t0: number; done: (o: AttemptOutcome) => void }>();
  socket.on('message', (b: Buffer) => {
    const id = b.readUInt32BE(0);
    const s = b.readUInt16BE(4);
    if (s === CHALLENGE) socket.send(patternMessage(id, CHALLENGE + 1), p.port, p.address);
    else if (s === LAST) {
      const w = waiting.get(id);
      if (!w) return;
      waiting.delete(id);
      w.done({ ok: true, latencyMs: performance.now() - w.t0 });
    }
  });
  let next = 0;
  const attempt = (): Promise<AttemptOutcome> =>
    new Promise((done) => {
      const id = next++;
      waiting.set(id, { t0: performance.now(), done });
      socket.send(patternMessage(id, FIRST), p.port, p.address);
    });
  try {
    hooks.step(`registration pattern: preamble of ${job.preamble} scenarios`);
    for (let i = 0; i < job.preamble; i += 10) await Promise.all(Array.from({ length: Math.min(10, job.preamble - i) }, attempt));
    const stepped = await runSteps(job.plan, attempt, (saps) => {
      hooks.mark();
      hooks.step(`registration pattern: ${saps} SAPS for ${job.plan.windowSeconds} s`);
    });
    hooks.mark();
    return stepped;
  } finally {
    // Attempts still waiting were counted as unfinished by the stepper; nothing more will answer them.
    waiting.clear();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
