/**
 * TS 24.229 §5.1.1.4.1: the UE refreshes its registration 600 s before it expires when it was granted more
 * than 1200 s, or when half of it has passed otherwise — in any case before the registrar drops the binding
 * (RFC 3261 §10.2.4). The expiry is the one the 200 (OK) granted, not the one the UE asked for.
 */
import type { Registration, Requirement, RequirementContextView } from '../model.js';
import { met, notMet } from './outcome.js';

/** Latest time (ms) the refresh is due by §5.1.1.4.1. */
function dueAt(r: Registration): number {
  const s = r.grantedSeconds;
  const before = s > 1200 ? 600 : s / 2;
  return r.response.time + (s - before) * 1000;
}

/** One second of slack: the UE's timer and ours are different clocks. */
const SLACK_MS = 1000;

function relevant(ctx: RequirementContextView): Registration[] {
  const registers = ctx.registers();
  return ctx.registrations().filter((r) => registers.some((x) => x.seq > r.response.seq) || ctx.now >= r.expiresAt);
}

export const reregisterBeforeExpiry: Requirement = {
  id: 'reregister-before-expiry',
  clause: 'TS 24.229 §5.1.1.4.1, RFC 3261 §10.2.4',
  title: 'The UE re-registers before its registration expires (600 s before, or at half time if ≤ 1200 s)',
  appliesWhen: 'a registration of the UE expired or was followed by another REGISTER',
  appliesTo: (ctx) => relevant(ctx).length > 0,
  evaluate(ctx) {
    const registers = ctx.registers();
    let refreshed = 0;
    for (const r of relevant(ctx)) {
      const next = registers.find((x) => x.seq > r.response.seq);
      const granted = `${r.grantedSeconds} s granted by ${ctx.describe(r.response)}`;
      const advice = `Refresh the registration ${r.grantedSeconds > 1200 ? '600 s before it expires' : 'when half of its time has passed'} (TS 24.229 §5.1.1.4.1); use the expiry in the 200 (OK), not the one requested.`;
      if (!next) {
        return notMet(`${granted}: expired at +${((r.expiresAt - ctx.messages[0]!.time) / 1000).toFixed(3)} s with no REGISTER from the UE`, advice);
      }
      if (next.time > r.expiresAt) {
        return notMet(`${ctx.describe(next)} came ${((next.time - r.expiresAt) / 1000).toFixed(3)} s after the registration expired (${granted})`, advice);
      }
      if (next.time > dueAt(r) + SLACK_MS) {
        return notMet(
          `${ctx.describe(next)} came ${((r.expiresAt - next.time) / 1000).toFixed(3)} s before expiry, later than §5.1.1.4.1 asks (${granted})`,
          advice,
        );
      }
      refreshed++;
    }
    return met(`${refreshed} registration(s) refreshed in time`);
  },
};
