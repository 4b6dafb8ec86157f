import { afterEach, describe, expect, it } from 'vitest';
import { loadCorpus } from '../../fuzz/corpus/index.js';
import { liveDiameter } from '../../fuzz/targets/live-diameter.js';
import { liveSipTcp, liveSipUdp } from '../../fuzz/targets/live-sip.js';
import { AddressPool, NodeObserver } from '../../fuzz/targets/observe.js';
import type { FuzzInput, TargetInstance } from '../../fuzz/types.js';
import { TraceBus } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

const corpus = loadCorpus({});
const open: TargetInstance[] = [];
afterEach(async () => {
  for (const i of open.splice(0)) await i.close();
});

const inputs = (list: readonly Buffer[], from = 0): FuzzInput[] => list.map((bytes, k) => ({ index: from + k, bytes }));

describe('NodeObserver: what a live node notes becomes a finding', () => {
  it('flags error notes and caught programming errors, with the last received message as the culprit, and nothing else', () => {
    const trace = new TraceBus(new FakeClock());
    const o = new NodeObserver(trace, 'n', (a) => a === '127.0.48.2');
    const packet = (bytes: string, from = '127.0.48.2') =>
      trace.packet({ node: 'n', direction: 'recv', protocol: 'sip', transport: 'udp', local: { address: '127.0.48.1', port: 5060 }, remote: { address: from, port: 5070 }, bytes: Buffer.from(bytes) });
    o.batch = [{ index: 41, bytes: Buffer.from('first') }, { index: 42, bytes: Buffer.from('second') }];
    packet('first');
    trace.note({ node: 'n', level: 'warn', text: 'SAR: Server-Assignment-Type 16385 is not defined; answering DIAMETER_INVALID_AVP_VALUE' });
    trace.note({ node: 'n', level: 'warn', text: 'malformed request answered with 400: CSeq number out of range' });
    trace.note({ node: 'other', level: 'error', text: 'another node' });
    expect(o.drain()).toEqual([]);
    packet('second');
    packet('probe', '127.0.48.3');
    trace.note({ node: 'n', level: 'warn', text: "transaction layer dropped a message: Cannot read properties of undefined (reading 'host')" });
    trace.note({ node: 'n', level: 'error', text: 'handler for 300 failed: store locked' });
    const seen = o.drain();
    expect(seen.map((s) => s.message)).toEqual([
      "n noted (warn): transaction layer dropped a message: Cannot read properties of undefined (reading 'host')",
      'n noted (error): handler for 300 failed: store locked',
    ]);
    // The probe came from another address: the culprit stays the last fuzz input.
    expect(seen.every((s) => s.index === 42 && s.bytes!.toString() === 'second')).toBe(true);
    expect(o.received).toBe(2);
    expect(o.culprit()).toEqual({ bytes: Buffer.from('second'), index: 42 });
    o.close();
  });
});

describe('AddressPool', () => {
  it('hands out its addresses in turn and knows them, so TIME_WAIT ports spread over fifty addresses', () => {
    const pool = new AddressPool('127.0.48.', 100, 3);
    expect([pool.take(), pool.take(), pool.take(), pool.take()]).toEqual(['127.0.48.100', '127.0.48.101', '127.0.48.102', '127.0.48.100']);
    expect(pool.has('127.0.48.102')).toBe(true);
    expect(pool.has('127.0.48.103')).toBe(false);
    expect(pool.has('127.0.48.10')).toBe(false);
    expect(pool.has('127.0.49.100')).toBe(false);
  });
});

describe('live targets on 127.0.48.x', () => {
  it('SIP over UDP: the node receives every seed and garbage, and still answers the OPTIONS probe', async () => {
    const t = await liveSipUdp.create({ seed: 'live-test' });
    open.push(t);
    const seeds = liveSipUdp.seeds!(corpus.sip);
    await t.deliver!(inputs(seeds));
    await t.probe!();
    expect(t.received!()).toBe(seeds.length);
    await t.deliver!(inputs([new SeededRandom(1).bytes(900), Buffer.from('\r\n\r\n'), Buffer.alloc(0)], 100));
    await t.probe!();
    expect(t.received!()).toBe(seeds.length + 3);
    expect(t.drain!()).toEqual([]);
    await t.settle!();
  }, 30_000);

  it('SIP over TCP: seeds split at random points are framed and answered; the probe on a fresh connection still works', async () => {
    const t = await liveSipTcp.create({ seed: 'live-test' });
    open.push(t);
    const seeds = liveSipTcp.seeds!(corpus.sip).slice(0, 12);
    await t.deliver!(inputs(seeds));
    await t.probe!();
    expect(t.received!()).toBe(seeds.length);
    // A Content-Length lie on a stream: the rest of that connection is lost, the node is not.
    await t.deliver!(inputs([Buffer.from('OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n'), ...seeds.slice(0, 3)], 50));
    await t.probe!();
    expect(t.drain!()).toEqual([]);
  }, 30_000);

  it('Diameter: the HSS node takes every seed after a CER and still answers CER, DWR and UAR on a fresh connection', async () => {
    const t = await liveDiameter.create({ seed: 'live-test' });
    open.push(t);
    await t.deliver!(inputs(corpus.diameter));
    await t.probe!();
    expect(t.received!()).toBe(corpus.diameter.length);
    // A Message Length of 1 MiB + 4 loses the framing: that connection is closed, the node keeps serving.
    const broken = Buffer.from(corpus.diameter[6]!);
    broken.writeUIntBE((1 << 20) + 4, 1, 3);
    await t.deliver!(inputs([broken], 100));
    await t.probe!();
    expect(t.drain!()).toEqual([]);
  }, 30_000);
});
