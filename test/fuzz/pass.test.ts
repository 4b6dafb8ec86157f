import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFuzz } from '../../fuzz/harness.js';
import { TARGETS } from '../../fuzz/targets/index.js';

const dir = mkdtempSync(join(tmpdir(), 'imslab-fuzz-pass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a short seeded fuzz pass over every target', () => {
  it('finds no crash, hang, leak or broken property in 300 inputs per target, live nodes included', async () => {
    const s = await runFuzz({
      targets: TARGETS,
      inputs: 300 * TARGETS.length,
      seconds: 90,
      seed: 'ci-short-pass',
      findingsDir: join(dir, 'findings'),
      // Test files run in parallel on two cores: the 100 ms rule is `npm run fuzz`'s, here only hangs count.
      perInputMs: 1000,
    });
    const summary = s.findings.map((f) => `${f.target} ${f.kind} #${f.index}: ${f.message.split('\n')[0]}`);
    expect(summary).toEqual([]);
    expect(existsSync(join(dir, 'findings'))).toBe(false);
    expect(s.stats.map((t) => t.target)).toEqual(TARGETS.map((t) => t.name));
    for (const t of s.stats) {
      expect(t.inputs, t.target).toBe(300);
      expect(t.stopped, t.target).toBe('inputs');
      // Every target accepts some mutated inputs (the mutations are not all fatal) and rejects others.
      expect(t.accepted, t.target).toBeGreaterThan(0);
    }
    const live = s.stats.filter((t) => t.target.startsWith('live-'));
    expect(live).toHaveLength(3);
    // The nodes really received the inputs: every datagram, and most of what went over the streams.
    expect(live.find((t) => t.target === 'live-sip-udp')!.accepted).toBeGreaterThan(280);
    for (const t of live) expect(t.accepted, t.target).toBeGreaterThan(60);
  }, 180_000);
});
