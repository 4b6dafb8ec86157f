/**
 * The simulated UEs of `imslab serve` (issue 5 point 8): outside UEs — softphones, handsets, SIPp — call them
 * and are called by them. Each registers at start (TS 24.229 §5.1.1.2) and refreshes on its own timer
 * (§5.1.1.4.1); it answers per the topology's `answer` (auto 200, busy 486, noanswer 180 until the caller gives
 * up); an answered call echoes the caller's audio back, so the person at the softphone hears the round trip
 * through the core and a capture shows one stream each way carrying the same payload. Calls a served UE
 * places itself (`imslab ctl call`) send its tone: the callee may send nothing to echo.
 */
import type { RunningTopology } from '../topology/runner.js';
import { Ue } from '../ue/ue.js';

export interface ServedUe {
  name: string;
  impu: string;
  answer: 'auto' | 'busy' | 'noanswer';
  registered: boolean;
  /** Why it is not registered. */
  reason?: string;
}

/** Above Timer F (64·T1 = 32 s): by then a REGISTER that had any answer has had it. */
const REGISTER_BOUND_MS = 40_000;
/** Deregistration at shutdown: a core that does not answer must not hold the Ctrl-C. */
const DEREGISTER_BOUND_MS = 5_000;

/** Sets echo on every simulated UE and registers them all at once; a UE that fails is reported, not fatal. */
export async function registerServedUes(running: RunningTopology): Promise<ServedUe[]> {
  const ues = [...running.ues.entries()].filter((e): e is [string, Ue] => e[1] instanceof Ue);
  for (const [, ue] of ues) ue.answerMedia = 'echo';
  return Promise.all(
    ues.map(async ([name, ue]): Promise<ServedUe> => {
      const base = { name, impu: ue.config.impu, answer: ue.callSettings.answer };
      try {
        await bounded(running, ue.register(), REGISTER_BOUND_MS, `no final answer to REGISTER within ${REGISTER_BOUND_MS} ms`);
        return { ...base, registered: true };
      } catch (e) {
        return { ...base, registered: false, reason: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}

/** The banner line: whom an outside UE can call, and how each answers. */
export function describeServedUes(ues: readonly ServedUe[]): string {
  const how = { auto: 'answers, echoes your audio', busy: 'busy: 486', noanswer: 'rings, never answers' } as const;
  const callable = ues.filter((u) => u.registered).map((u) => `${u.impu} (${how[u.answer]})`);
  const lines = [callable.length ? `Simulated UEs you can call: ${callable.join(', ')}` : 'No simulated UE is registered.'];
  for (const u of ues.filter((x) => !x.registered)) lines.push(`  ${u.name} (${u.impu}) is NOT registered: ${u.reason ?? 'unknown reason'}`);
  return lines.join('\n');
}

/** RFC 3261 §10.2.2: each registered UE removes its binding before the core goes away; bounded. */
export async function deregisterServedUes(running: RunningTopology): Promise<void> {
  const registered = [...running.ues.values()].filter((u) => u.state.state === 'registered');
  await Promise.all(registered.map((u) => bounded(running, u.deregister(), DEREGISTER_BOUND_MS, 'deregistration timed out').catch(() => undefined)));
}

function bounded<T>(running: RunningTopology, p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = running.clock.setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      (e: unknown) => {
        timer.cancel();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
