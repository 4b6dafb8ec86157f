/**
 * RFC 3261 §17.1.1.2 (Timer A) and §17.1.2.2 (Timer E): over UDP a UE retransmits a request at T1, 2·T1, 4·T1 …
 * (non-INVITE capped at T2, and every T2 once a provisional arrived; INVITE stops on a provisional), never after
 * 64·T1, and never over TCP or TLS. The judging happens as packets arrive (retransmission.ts).
 */
import type { Requirement } from '../model.js';
import { met, notMet } from './outcome.js';

export const retransmissionTimers: Requirement = {
  id: 'retransmission-timers',
  clause: 'RFC 3261 §17.1.1.2, §17.1.2.2',
  title: 'Request retransmissions follow Timers A/E (T1 doubling, T2 cap; none over TCP/TLS)',
  appliesWhen: 'the UE retransmitted a request',
  appliesTo: (ctx) => ctx.retransmissions.retransmissions > 0,
  evaluate(ctx) {
    const f = ctx.retransmissions;
    const seen = `${f.retransmissions} retransmission(s) of ${f.transactions} request(s), intervals ${f.sampleIntervals.join(', ')} ms`;
    if (f.violationCount > 0) {
      return notMet(
        `${f.violationCount} off the timers: ${f.violations.join('; ')} (${seen})`,
        `Retransmit over UDP only, at T1 = ${ctx.options.t1} ms doubling (non-INVITE capped at T2 = ${ctx.options.t2} ms), stop an INVITE's on a provisional, give up at 64·T1.`,
      );
    }
    return met(seen);
  },
};
