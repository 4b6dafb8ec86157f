/**
 * The whole-core memory bench's harness (bench/memory-core.ts): a small run through a real core must register
 * every UE it is asked for, warm up first, and report a per-UE heap growth that is there (a core that keeps
 * a registration, a reg-event subscription and a notifier entry per UE cannot grow by nothing) and bounded.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { benchWholeCoreMemory } from '../../bench/memory-core.js';

describe('whole-core memory bench', () => {
  it('registers the warm-up UEs before the baseline and the measured ones after, and reports their growth', async () => {
    const g = globalThis as { gc?: unknown };
    const had = g.gc;
    if (typeof had !== 'function') {
      await expect(benchWholeCoreMemory({ ues: 100 })).rejects.toThrow(/--expose-gc/);
      // What `node --expose-gc` gives the bench, for this worker only.
      setFlagsFromString('--expose-gc');
      g.gc = runInNewContext('gc');
    }
    const steps: string[] = [];
    const r = await benchWholeCoreMemory({
      ues: 300,
      warmUes: 150,
      settleMs: 3_000,
      registerBudgetMs: 30_000,
      network: { prefix: '127.0.65', sipPort: 27160, diameterPort: 25968 },
      step: (s) => steps.push(s),
    });
    expect(r).toMatchObject({ ues: 300, warm_ues: 150, registered: 300, failed: 0 });
    expect(steps.some((s) => s.startsWith('register 150 UEs before the baseline'))).toBe(true);
    expect(r.heap_bytes_per_ue).toBeGreaterThan(500);
    expect(r.heap_bytes_per_ue).toBeLessThan(100_000);
    if (typeof had !== 'function') delete g.gc;
  }, 90_000);
});
