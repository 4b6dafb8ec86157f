import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import type { Ue } from '../../src/ue/index.js';

/**
 * Softphones add their account's transport to what they dial (`sip:bob@…;transport=tcp`). The I-CSCF's LIR,
 * the HSS and the terminating S-CSCF must still find bob (TS 23.003 §13.4: parameters name no other identity).
 */
let run: RunningTopology | undefined;
afterEach(async () => {
  await run?.stop();
  run = undefined;
});

describe('a Request-URI with parameters', () => {
  it('reaches the registered user through LIR and the terminating S-CSCF', async () => {
    run = await startTopology(loadTopology(join(__dirname, '../../topologies/basic.yaml')), { seed: 12 });
    await run.ue('alice').register();
    await run.ue('bob').register();
    const alice = run.ue('alice') as unknown as Ue;
    const bob = run.ue('bob') as unknown as Ue;
    const result = await alice.message('sip:bob@ims.mnc001.mcc001.3gppnetwork.org;transport=tcp', 'hello with parameters');
    expect(result.status).toBe(200);
    expect(bob.messagesReceived.map((m) => m.text)).toContain('hello with parameters');
  });
});
