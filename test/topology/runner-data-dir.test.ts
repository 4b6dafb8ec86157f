import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/topology/loader.js';
import { startTopology } from '../../src/topology/runner.js';

const BASIC = join(__dirname, '../../topologies/basic.yaml');

describe('the data directory of a run', () => {
  it('made by the run when none is given: holds the stores while it runs, and is gone once it stops', async () => {
    const run = await startTopology(loadTopology(BASIC), { ues: false });
    expect(run.dataDir.startsWith(tmpdir())).toBe(true);
    expect(readdirSync(run.dataDir)).toContain('hss.sqlite');
    await run.stop();
    expect(existsSync(run.dataDir)).toBe(false);
  });

  it('named by the caller: kept with what the run wrote, for the next run or a look inside', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imslab-test-kept-'));
    try {
      const run = await startTopology(loadTopology(BASIC), { ues: false, dataDir: dir });
      await run.stop();
      expect(readdirSync(dir)).toContain('hss.sqlite');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
