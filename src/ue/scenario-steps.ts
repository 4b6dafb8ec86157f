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
  /** The final status the INVITE must get; a failure status makes a refused call the step's success. */
  expect?: number;
  /** The caller gives up (CANCEL, RFC 3261 §9.1) when no final answer came within this many ms. */
  timeoutMs?: number;
  maxForwards?: number;
  /** P-Preferred-Identity to claim: a UE name (its IMPU) or a URI. */
  identity?: string;
  /** 'hangup': the call stays up after the 200 until a `hangup` step (hold, resume and dtmf run meanwhile). */
  until?: 'hangup';
}

/**
 * Places the call and waits for its final answer (bounded by `timeoutMs`, then CANCEL, or Timer B). With
 * `expect` set to a failure status the step succeeds when the call fails with exactly that status. Otherwise
 * a 200 is needed: the call is held for `durationMs` on the run clock, hung up, and the BYE's answer awaited
 * — unless `until: hangup` leaves it up for later steps.
 */
export async function callStep(run: StepRun, step: CallStep): Promise<void> {
  const caller = ueOf(run, step.from);
  const call = caller.call(targetOf(run, step.to), {
    ...(step.codec !== undefined ? { codec: step.codec } : {}),
    ...(step.preconditions !== undefined ? { preconditions: step.preconditions } : {}),
    ...(step.maxForwards !== undefined ? { maxForwards: step.maxForwards } : {}),
    ...(step.identity !== undefined ? { preferredIdentity: targetOf(run, step.identity) } : {}),
  });
  const limit = step.timeoutMs ?? CALL_SETUP_TIMEOUT_MS;
  let setup: CallState;
  try {
    setup = await within(run.clock, call.settled(), limit, `no final answer to the INVITE within ${limit} ms`);
  } catch (e) {
    // RFC 3261 §9.1: the caller gives up; the INVITE then ends with 487 (or Timer B's 408).
    const end = await within(run.clock, call.hangup('no answer'), CALL_RELEASE_TIMEOUT_MS, `the CANCEL got no answer within ${CALL_RELEASE_TIMEOUT_MS} ms`);
    if (step.expect !== undefined && end.status === step.expect) return;
    throw new Error(`${(e as Error).message}; cancelled: ${describe(end)}`);
  }
  const wanted = step.expect ?? 200;
  if (setup.state !== 'confirmed') {
    if (setup.status === wanted) return;
    throw new Error(step.expect !== undefined ? `expected ${step.expect}, the call ended with ${describe(setup)}` : describe(setup));
  }
  if (wanted >= 300) {
    await within(run.clock, call.hangup('answered, but a failure was expected'), CALL_RELEASE_TIMEOUT_MS, 'BYE unanswered');
    throw new Error(`expected ${wanted}, the call was answered ${describe(setup)}`);
  }
  if (step.until === 'hangup') return;
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

/** RFC 3264 §8.4: the UE puts its confirmed call on hold (re-INVITE, sendonly). */
export function holdStep(run: StepRun, name: string): Promise<void> {
  return within(run.clock, ueOf(run, name).confirmedCall().hold(), CALL_SETUP_TIMEOUT_MS, `the hold re-INVITE of ${name} got no answer within ${CALL_SETUP_TIMEOUT_MS} ms`);
}

/** RFC 3264 §8.4: the UE takes its call off hold (re-INVITE, sendrecv). */
export function resumeStep(run: StepRun, name: string): Promise<void> {
  return within(run.clock, ueOf(run, name).confirmedCall().resume(), CALL_SETUP_TIMEOUT_MS, `the resume re-INVITE of ${name} got no answer within ${CALL_SETUP_TIMEOUT_MS} ms`);
}

/** RFC 4733: digits as telephone events on the UE's confirmed call. */
export function dtmfStep(run: StepRun, step: { ue: string; digits: string; durationMs?: number }): Promise<void> {
  const perDigit = step.durationMs ?? 100;
  // Each digit lasts its duration plus three end packets 20 ms apart (RFC 4733 §2.5.1.4); generous bound.
  const bound = step.digits.length * (perDigit + 200) + 2000;
  return within(run.clock, ueOf(run, step.ue).confirmedCall().sendDtmf(step.digits, perDigit), bound, `DTMF ${step.digits} not sent within ${bound} ms`);
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

/** The digits the UE received as RFC 4733 events on its calls must be exactly these. */
export function expectDtmfReceived(run: StepRun, e: { ue: string; digits: string }): void {
  const got = ueOf(run, e.ue).dtmfReceived;
  if (got !== e.digits.toUpperCase()) throw new Error(`${e.ue} received DTMF ${JSON.stringify(got)}, expected ${JSON.stringify(e.digits)}`);
}

/**
 * The identity the network asserted to the UE for its last incoming call (RFC 3325 §9.1): a UE name stands for
 * its IMPU. A spoofed P-Preferred-Identity must not come through.
 */
export function expectLastCaller(run: StepRun, e: { ue: string; identity: string }): void {
  const seen = ueOf(run, e.ue).lastCaller;
  if (seen === undefined) throw new Error(`${e.ue} received no call`);
  const want = targetOf(run, e.identity);
  const uri = /<([^>]*)>/.exec(seen)?.[1] ?? seen.split(';')[0]!.trim();
  if (uri.toLowerCase() !== want.toLowerCase()) throw new Error(`${e.ue}'s last caller was asserted as ${seen}, expected ${want}`);
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
