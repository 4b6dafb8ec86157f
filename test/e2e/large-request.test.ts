import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import type { PacketEvent, TraceEvent } from '../../src/trace/events.js';
import type { Ue } from '../../src/ue/index.js';

/**
 * RFC 3261 §18.1.1: a UE registered over UDP sends a request over 1300 bytes over TCP, from a port the
 * operating system picks. The P-CSCF must still know it as the registered UE (same address, Via sent-by =
 * the registered port) and not refuse it as a stranger.
 */
let run: RunningTopology | undefined;
afterEach(async () => {
  await run?.stop();
  run = undefined;
});

describe('a request over 1300 bytes from a UE registered over UDP', () => {
  it('goes over TCP, is recognised by the P-CSCF as the registered UE and delivered', async () => {
    const topology = loadTopology(join(__dirname, '../../topologies/basic.yaml'));
    run = await startTopology(topology, { seed: 11 });
    const events: TraceEvent[] = [];
    run.bus.events$.subscribe((e) => events.push(e));
    await run.ue('alice').register();
    await run.ue('bob').register();
    const alice = run.ue('alice') as unknown as Ue;
    const bob = run.ue('bob') as unknown as Ue;
    const text = 'x'.repeat(1500);
    const result = await alice.message('sip:bob@ims.mnc001.mcc001.3gppnetwork.org', text);
    expect(result.status).toBe(200);
    expect(bob.messagesReceived.map((m) => m.text)).toContain(text);
    // The MESSAGE left alice over TCP (it is over 1300 bytes), not from her registered UDP port.
    const sent = events.filter(
      (e): e is PacketEvent => e.type === 'packet' && e.node === 'alice' && e.direction === 'send' && e.bytes.subarray(0, 8).toString() === 'MESSAGE ',
    );
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]!.transport).toBe('tcp');
  });
});
