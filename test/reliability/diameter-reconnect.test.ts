import { afterEach, describe, expect, it } from 'vitest';
import type { HssNode } from '../../src/hss/hss-node.js';
import type { Icscf } from '../../src/scscf/icscf/icscf.js';
import { HssLink, type Scscf } from '../../src/scscf/index.js';
import { Directory } from '../../src/topology/directory.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology } from '../../src/topology/runner.js';
import { runScenario } from '../../src/topology/scenario.js';
import type { PacketEvent } from '../../src/trace/events.js';
import { TraceBus } from '../../src/trace/events.js';
import { DiameterNode } from '../../src/diameter/node.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { impiOf, impuOf, nextNote, reliabilityTopology, tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Diameter Tc reconnect of the CSCFs to the HSS (RFC 6733 §5.1)', () => {
  it('after an HSS restart both CSCFs reconnect within Tc by themselves, and an RTR reaches the S-CSCF with no SIP in between', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const topology = parseTopology(reliabilityTopology(41, { extra: 'timers: { Tc: 1s }\nscenarios:\n  reg: [ { register: alice } ]' }));
    expect(topology.timers.Tc).toBe(1000);
    const run = await startTopology(topology, { dataDir: dir.path });
    cleanups.push(() => run.stop());
    expect((await runScenario(run, 'reg', topology.scenarios.reg!)).ok).toBe(true);
    const scscf = run.node<Scscf>('scscf1');
    const icscf = run.node<Icscf>('icscf1');
    expect(scscf.hss.reconnectIntervalMs).toBe(1000);
    expect(scscf.hss.connected).toBe(true);
    expect(icscf.hss.connected).toBe(true);

    await run.stopNode('hss1');
    expect(scscf.hss.connected).toBe(false);
    const sip: PacketEvent[] = [];
    const sub = run.bus.events$.subscribe((e) => {
      if (e.type === 'packet' && e.protocol === 'sip') sip.push(e);
    });
    cleanups.push(() => sub.unsubscribe());
    const scscfBack = nextNote(run.bus, 'scscf1', /Diameter connection to hss1 re-established after Tc/, 8000);
    const icscfBack = nextNote(run.bus, 'icscf1', /Diameter connection to hss1 re-established after Tc/, 8000);
    const started = Date.now();
    await run.startNode('hss1');
    await Promise.all([scscfBack, icscfBack]);
    // Tc is 1 s: the first attempt after the restart comes at most one Tc (plus the CER/CEA) later.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(scscf.hss.connected).toBe(true);
    expect(icscf.hss.connected).toBe(true);

    const rta = await run.node<HssNode>('hss1').deregister(impuOf('alice'));
    expect(rta.resultCode).toBe(2001);
    expect(scscf.store.byImpi(impiOf('alice'))).toBeUndefined();
    // Only the S-CSCF's NOTIFYs of the de-registration (RFC 3680) may be SIP; nothing that would reopen Cx.
    expect(sip.filter((p) => !/^NOTIFY |^SIP\/2\.0 200/.test(p.bytes.toString('latin1')))).toEqual([]);
  }, 30_000);
});

describe('HssLink Tc timer (FakeClock)', () => {
  const HSS = { name: 'hss9', kind: 'hss' as const, address: '127.0.53.51', ports: { diameter: 23999 }, domain: 'x.org' };
  const fakeHss = (clock: FakeClock, trace: TraceBus) =>
    new DiameterNode({ name: 'hss9', originHost: 'hss9.x.org', originRealm: 'x.org', address: HSS.address, port: 23999, clock, random: new SeededRandom(2), trace });
  const flush = async (trace: TraceBus, node: string, pattern: RegExp) => nextNote(trace, node, pattern, 3000);

  it('a lost connection is reopened every Tc until the HSS answers, not before Tc, and not after close()', async () => {
    const clock = new FakeClock();
    const trace = new TraceBus(clock);
    const link = new HssLink({
      spec: { name: 'scscf9', domain: 'x.org', address: '127.0.53.52', ports: {} },
      directory: new Directory([HSS], 'x.org'),
      clock,
      random: new SeededRandom(1),
      trace,
      hss: 'hss9',
      reconnectIntervalMs: 2000,
    });
    cleanups.push(() => link.close());
    let hss = fakeHss(clock, trace);
    await hss.listen();
    await link.cx();
    expect(link.connected).toBe(true);

    const lost = flush(trace, 'scscf9', /closed/);
    await hss.close();
    await lost;
    expect(link.connected).toBe(false);
    // Tc has not elapsed: no attempt yet. At Tc the HSS is still down: refused, and a note says when again.
    clock.advance(1999);
    expect(link.connected).toBe(false);
    const refused = flush(trace, 'scscf9', /no Diameter connection to hss9 .*trying again in 2000 ms/);
    clock.advance(1);
    await refused;

    hss = fakeHss(clock, trace);
    cleanups.push(() => hss.close());
    await hss.listen();
    const back = flush(trace, 'scscf9', /re-established after Tc/);
    clock.advance(2000);
    await back;
    expect(link.connected).toBe(true);
    expect(hss.connections).toHaveLength(1);

    // After close() no timer is left to reopen anything.
    await link.close();
    clock.advance(10_000);
    expect(link.connected).toBe(false);
    expect(hss.connections.filter((c) => c.state === 'Open')).toHaveLength(0);
  });

  it('refuses a Tc that is not a positive duration', () => {
    const clock = new FakeClock();
    const make = (ms: number) =>
      new HssLink({ spec: { name: 'n', domain: 'x.org', address: '127.0.53.52', ports: {} }, directory: new Directory([HSS], 'x.org'), clock, random: new SeededRandom(1), trace: new TraceBus(clock), hss: 'hss9', reconnectIntervalMs: ms });
    expect(() => make(0)).toThrow(RangeError);
    expect(() => make(Number.NaN)).toThrow(RangeError);
    expect(() => parseTopology(reliabilityTopology(41, { extra: 'timers: { Tc: 0 }' }))).toThrow(/Tc/);
  });
});
