/**
 * The load generator process (see load-process.ts): runs one job from its parent, reports progress and step
 * marks over IPC, sends the result, then waits, idle, until the parent says it may leave.
 */
import { callLoad, type CallLoadJob } from './calls.js';
import type { LoadHooks, LoadMessage } from './load-process.js';
import { patternLoad, type PatternJob } from './pattern.js';
import { registrationLoad, type RegistrationLoadJob } from './registration.js';
import type { StormSubscriber } from './topology.js';

const send = (m: LoadMessage) => process.send!(m);

process.on('message', (m: RegistrationLoadJob | CallLoadJob | PatternJob | { type: 'exit' }) => {
  if ('type' in m) {
    process.exit(0);
  }
  const hooks: LoadHooks = { step: (label) => send({ type: 'step', label }), mark: () => send({ type: 'mark' }) };
  // IPC carries JSON: the subscribers' keys arrive as { type: 'Buffer', data } and become Buffers again.
  const revive = (list: StormSubscriber[]) => list.forEach((s) => ((s.k = toBuffer(s.k)), (s.opc = toBuffer(s.opc))));
  if (m.kind === 'registration') revive(m.subscribers);
  else if (m.kind === 'call') (revive(m.callers), revive(m.callees));
  const run = m.kind === 'registration' ? registrationLoad(m, hooks) : m.kind === 'call' ? callLoad(m, hooks) : patternLoad(m, hooks);
  run.then(
    (result) => send({ type: 'result', result }),
    (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});
send({ type: 'ready' });

function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from((v as { data: number[] }).data);
}

// The parent went away (killed, crashed): nothing is left to report to.
process.on('disconnect', () => process.exit(0));
