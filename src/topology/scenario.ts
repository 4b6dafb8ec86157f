import type { RunningTopology } from './runner.js';
import type { RegisterExpectation, ScenarioStep } from './schema.js';
import {
  callStep,
  dtmfStep,
  expectDtmfReceived,
  expectLastCaller,
  expectLastStatus,
  expectMessagesReceived,
  hangupStep,
  holdStep,
  messageStep,
  resumeStep,
} from '../ue/scenario-steps.js';

export interface StepResult {
  step: ScenarioStep;
  /** Human label, e.g. "register alice". */
  label: string;
  ok: boolean;
  /** Why the step failed (the status and reason the network gave). */
  reason?: string;
  startedAt: number;
  durationMs: number;
}

export interface ScenarioResult {
  name: string;
  ok: boolean;
  steps: StepResult[];
}

export function stepLabel(step: ScenarioStep): string {
  switch (step.kind) {
    case 'register':
      return `register ${step.ue}${step.expect !== undefined ? `, expecting ${step.expect === 'failed' ? 'failure' : step.expect}` : ''}`;
    case 'deregister':
      return `deregister ${step.ue}`;
    case 'hangup':
      return `hangup ${step.ue}`;
    case 'wait':
      return `wait ${step.ms} ms`;
    case 'call':
      return (
        `call ${step.from} → ${step.to}` +
        (step.durationMs !== undefined ? ` for ${step.durationMs} ms` : '') +
        (step.until ? ' until hangup' : '') +
        (step.preconditions ? ' with preconditions' : '') +
        (step.expect !== undefined ? `, expecting ${step.expect}` : '')
      );
    case 'hold':
    case 'resume':
      return `${step.kind} ${step.ue}`;
    case 'dtmf':
      return `dtmf ${step.ue} ${step.digits}`;
    case 'message':
      return `message ${step.from} → ${step.to}`;
    case 'expect':
      return `expect ${JSON.stringify(step.expect)}`;
    case 'stop':
    case 'start':
    case 'restart':
      return `${step.kind} ${step.node}`;
  }
}

/**
 * A register step that must fail (TS 24.229 §5.1.1.5.1 / TS 33.102 §6.3.3): `failed` takes any refusal,
 * whether the network's or the UE's own; a status must be the REGISTER's final response.
 */
async function registerRefused(run: RunningTopology, name: string, expect: RegisterExpectation): Promise<void> {
  const ue = run.ue(name);
  try {
    await ue.register();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    if (expect === 'failed') return;
    // The reason starts with the final response ("403 Forbidden (Warning: …)") unless the UE refused first.
    if (reason.startsWith(`${expect} `)) return;
    throw new Error(`registration failed with "${reason}", expected ${expect}`);
  }
  throw new Error(`${name} registered, expected ${expect === 'failed' ? 'the registration to fail' : expect}`);
}

/** Waits `ms` on the run's clock (a FakeClock in tests moves it; the system clock just waits). */
function wait(run: RunningTopology, ms: number): Promise<void> {
  return new Promise((resolve) => run.clock.setTimeout(resolve, ms));
}

async function runStep(run: RunningTopology, step: ScenarioStep): Promise<void> {
  switch (step.kind) {
    case 'register':
      return step.expect === undefined ? run.ue(step.ue).register() : registerRefused(run, step.ue, step.expect);
    case 'deregister':
      return run.ue(step.ue).deregister();
    case 'wait':
      return wait(run, step.ms);
    case 'call':
      return callStep(run, step);
    case 'hangup':
      return hangupStep(run, step.ue);
    case 'hold':
      return holdStep(run, step.ue);
    case 'resume':
      return resumeStep(run, step.ue);
    case 'dtmf':
      return dtmfStep(run, step);
    case 'message':
      return messageStep(run, step);
    case 'stop':
      return run.stopNode(step.node);
    case 'start':
      return run.startNode(step.node);
    case 'restart':
      await run.stopNode(step.node);
      return run.startNode(step.node);
    case 'expect': {
      const e = step.expect;
      for (const name of e.registered ?? []) {
        const s = run.ue(name).state;
        if (s.state !== 'registered') throw new Error(`${name} is ${s.state}, expected registered`);
      }
      for (const name of e.unregistered ?? []) {
        const s = run.ue(name).state;
        if (s.state === 'registered') throw new Error(`${name} is registered, expected not registered`);
      }
      if (e.messagesReceived) expectMessagesReceived(run, e.messagesReceived);
      if (e.lastStatus) expectLastStatus(run, e.lastStatus);
      if (e.dtmfReceived) expectDtmfReceived(run, e.dtmfReceived);
      if (e.lastCaller) expectLastCaller(run, e.lastCaller);
      return;
    }
    default:
      throw new Error(`step "${(step as ScenarioStep).kind}" is not supported yet`);
  }
}

/**
 * Runs a scenario's steps in order; the first failing step ends it (later steps would only fail for the same
 * reason). The result says which step failed and the reason the network gave.
 */
export async function runScenario(run: RunningTopology, name: string, steps: readonly ScenarioStep[]): Promise<ScenarioResult> {
  const results: StepResult[] = [];
  for (const step of steps) {
    const startedAt = run.clock.now();
    const label = stepLabel(step);
    run.bus.note({ node: 'scenario', level: 'info', text: `step: ${label}` });
    try {
      await runStep(run, step);
      results.push({ step, label, ok: true, startedAt, durationMs: run.clock.now() - startedAt });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      results.push({ step, label, ok: false, reason, startedAt, durationMs: run.clock.now() - startedAt });
      run.bus.note({ node: 'scenario', level: 'error', text: `step failed: ${label}: ${reason}` });
      return { name, ok: false, steps: results };
    }
  }
  return { name, ok: true, steps: results };
}
