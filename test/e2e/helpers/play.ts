import { startTopology } from '../../../src/topology/runner.js';
import { runScenario, type ScenarioResult } from '../../../src/topology/scenario.js';
import type { Topology } from '../../../src/topology/schema.js';
import type { TraceEvent } from '../../../src/trace/events.js';

export interface Played {
  /** Every trace event of the run, in order. */
  events: TraceEvent[];
  result: ScenarioResult;
  /** "label: reason" of the first step that failed, if any. */
  failed?: string;
}

/** Starts a topology, runs one of its scenarios while collecting the trace, and stops everything. */
export async function playScenario(topology: Topology, name: string, seed: number): Promise<Played> {
  const run = await startTopology(topology, { seed });
  const events: TraceEvent[] = [];
  run.bus.events$.subscribe((e) => events.push(e));
  let result: ScenarioResult;
  try {
    result = await runScenario(run, name, topology.scenarios[name]!);
  } finally {
    await run.stop();
  }
  const f = result.steps.find((s) => !s.ok);
  return { events, result, ...(f ? { failed: `${f.label}: ${f.reason}` } : {}) };
}
