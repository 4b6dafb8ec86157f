import { describe, expect, it } from 'vitest';
import { PATTERN, receivedPerScenario, type RelayRole } from '../../bench/storm/pattern-messages.js';
import { runRegistrationPattern } from '../../bench/storm/pattern.js';
import { planOf } from '../../bench/storm/registration.js';

describe('registration pattern (the storm scenario with the work taken out)', () => {
  it('is the registration as the core passes it: 16 SIP datagrams and 8 Diameter messages, G → P → I → S → HSS and back', () => {
    expect(PATTERN.filter((s) => s.via === 'udp')).toHaveLength(16);
    expect(PATTERN.filter((s) => s.via === 'tcp').map((s) => s.what)).toEqual(['UAR', 'UAA', 'MAR', 'MAA', 'UAR', 'UAA', 'SAR', 'SAA']);
    expect(PATTERN.filter((s) => s.to === 'G').map((s) => s.what)).toEqual(['401', '200']);
    // Every Diameter message has the HSS at one end; every SIP one is between neighbours of the chain.
    for (const s of PATTERN) {
      if (s.via === 'tcp') expect([s.from, s.to]).toContain('H');
      else expect(['GP', 'PG', 'PI', 'IP', 'IS', 'SI', 'PS', 'SP']).toContain(s.from + s.to);
    }
  });

  it(
    'runs every scenario to its 200 through four relay processes, each receiving exactly its messages, and reports CPU per scenario',
    { timeout: 90_000 },
    async () => {
      const preamble = 20;
      // A generous lateness threshold: this checks the pattern's plumbing, not how loaded the test machine is.
      const plan = planOf({ steps: [40], windowSeconds: 1, latencyThresholdMs: 5_000, pauseMs: 50 });
      const r = await runRegistrationPattern({ plan, preamble });
      expect(r.doc_saps).toBe(40);
      const step = r.steps[0]!;
      expect(step).toMatchObject({ saps: 40, attempts: 40, started: 40, failed: 0 });
      expect(r.cpuMsPerScenario[0]!.cpu_ms).toBeGreaterThan(0);
      const scenarios = preamble + step.attempts;
      for (const relay of r.relays) {
        const expected = Object.fromEntries(PATTERN.map((s, i) => [i, s] as const).filter(([, s]) => s.to === relay.role).map(([i]) => [String(i), scenarios]));
        expect(relay.received, relay.role).toEqual(expected);
        expect(Object.values(relay.received).reduce((a, b) => a + b, 0)).toBe(scenarios * receivedPerScenario(relay.role as RelayRole));
      }
      expect(r.relays.map((x) => x.role).sort()).toEqual(['H', 'I', 'P', 'S']);
    },
  );
});
