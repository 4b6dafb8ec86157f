import { describe, expect, it } from 'vitest';
import { benchPeers, installed } from '../../bench/peers/run.js';

// bench:peers drives the real binaries; where SIPp or Kamailio is not installed there is nothing to compare.
const tools = installed('sipp') && installed('kamailio');

describe.runIf(tools)('bench:peers smoke (tiny rates)', () => {
  it('measures a clean call rate and REGISTER rate through both imslab and Kamailio, and stops both', async () => {
    const lines: string[] = [];
    const r = await benchPeers({ quick: true, budgetSeconds: 90, log: (l) => lines.push(l) });
    for (const key of ['peers.imslab_calls_per_s', 'peers.kamailio_calls_per_s', 'peers.imslab_registers_per_s', 'peers.kamailio_registers_per_s']) {
      const v = r.figures[key];
      expect(typeof v, `${key}: ${lines.join('\n')}`).toBe('number');
      expect(v!).toBeGreaterThan(0);
    }
    expect(r.figures['peers.calls_ratio']).toBeGreaterThan(0);
    for (const s of Object.values(r.servers)) {
      expect(s!.error).toBeUndefined();
      expect(s!.callSteps.every((x) => x.failed === 0)).toBe(true);
    }
    // Every server process was stopped (stopServer waits for its exit).
    expect(lines.some((l) => l.startsWith('imslab: listening'))).toBe(true);
    expect(lines.some((l) => l.startsWith('kamailio: listening'))).toBe(true);
  }, 120_000);
});
