/**
 * The scenario steps that drive calls and messages (topology `call`, `hangup`, `message`, and the
 * `lastStatus` / `messagesReceived` expectations). Every wait is bounded on the run's clock: a step that
 * cannot finish fails with the reason instead of hanging the run.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import { Ue } from './ue.js';
import type { CallState } from './call.js';

/** What the steps need of a running topology (RunningTopology fits). */
export interface StepRun {
  clock: Clock;
  ue(name: string): unknown;
}

/** RFC 3261 Timer B (64·T1): an INVITE with no final answer by then has failed anyway. */
export const CALL_SETUP_TIMEOUT_MS = 32_000;
/** How long a BYE or CANCEL may take: Timer F (64·T1). */
export const CALL_RELEASE_TIMEOUT_MS = 32_000;
export const DEFAULT_CALL_DURATION_MS = 2_000;

export interface CallStep {
  from: string;
  to: string;
  durationMs?: number;
  codec?: string;
  preconditions?: boolean;
}

/**
 * Places the call, waits for the 200 (or fails with "status reason"), holds it for `durationMs` on the run
 * clock, hangs up and waits for the BYE's answer.
 */
export async function callStep(run: StepRun, step: CallStep): Promise<void> {
  if (step.preconditions) throw new Error('calls with QoS preconditions (RFC 3312) are not supported by the simulated UE yet');
  const caller = ueOf(run, step.from);
  const call = caller.call(targetOf(run, step.to), step.codec !== undefined ? { codec: step.codec } : {});
  const setup = await within(run.clock, call.settled(), CALL_SETUP_TIMEOUT_MS, `no final answer to the INVITE within ${CALL_SETUP_TIMEOUT_MS} ms`).catch(async (e: unknown) => {
    await call.hangup('no answer');
    throw e;
  });
  if (setup.state !== 'confirmed') throw new Error(describe(setup));
  let hold: TimerHandle | undefined;
  const held = new Promise<void>((resolve) => {
    hold = run.clock.setTimeout(resolve, step.durationMs ?? DEFAULT_CALL_DURATION_MS);
  });
  await Promise.race([call.ended(), held]);
  hold?.cancel();
  if (call.state.state === 'terminated') {
    throw new Error(`the call ended before its duration: ${describe(call.state)}`);
  }
  const end = await within(run.clock, call.hangup('scenario call duration reached'), CALL_RELEASE_TIMEOUT_MS, `no answer to the BYE within ${CALL_RELEASE_TIMEOUT_MS} ms`);
  if (end.status !== undefined && (end.status < 200 || end.status >= 300)) throw new Error(`BYE answered ${describe(end)}`);
  if (end.status === undefined) throw new Error(`BYE got no answer: ${end.reason ?? ''}`);
}

/** Hangs up every open call of the UE; fails when it has none. */
export async function hangupStep(run: StepRun, name: string): Promise<void> {
  const ue = ueOf(run, name);
  if (ue.calls.length === 0) throw new Error(`${name} has no call to hang up`);
  await within(run.clock, ue.hangup(), CALL_RELEASE_TIMEOUT_MS, `calls of ${name} did not end within ${CALL_RELEASE_TIMEOUT_MS} ms`);
}

/** Sends a MESSAGE; resolves on 2xx, fails with the status and reason otherwise. */
export async function messageStep(run: StepRun, step: { from: string; to: string; text: string }): Promise<void> {
  const outcome = await ueOf(run, step.from).message(targetOf(run, step.to), step.text);
  if (outcome.status < 200 || outcome.status >= 300) throw new Error(`${outcome.status} ${outcome.reason}`);
}

export function expectMessagesReceived(run: StepRun, e: { ue: string; count: number }): void {
  const got = ueOf(run, e.ue).messagesReceived.length;
  if (got !== e.count) throw new Error(`${e.ue} received ${got} message(s), expected ${e.count}`);
}

export function expectLastStatus(run: StepRun, e: { ue: string; code: number }): void {
  const got = ueOf(run, e.ue).lastStatus;
  if (got !== e.code) throw new Error(`${e.ue}'s last final status is ${got ?? 'none'}, expected ${e.code}`);
}

function ueOf(run: StepRun, name: string): Ue {
  const ue = run.ue(name);
  if (!(ue instanceof Ue)) throw new Error(`${name} is not a simulated UE that can call`);
  return ue;
}

/** A UE's name stands for its IMPU; sip:, sips: and tel: URIs are used as they are. */
function targetOf(run: StepRun, to: string): string {
  if (/^(sips?|tel):/i.test(to)) return to;
  return ueOf(run, to).config.impu;
}

function describe(s: CallState): string {
  return `${s.status ?? 'no status'} ${s.reason ?? ''}`.trim();
}

function within<T>(clock: Clock, p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(message)), ms);
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
