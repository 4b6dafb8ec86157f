import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { fromJsonLines, fromJsonTrace, JsonLinesWriter, serializeJsonTrace, stripTimes, toJsonTrace, writeJsonTrace } from '../../src/trace/json-trace.js';
import { registrationFlow } from './fixtures.js';

describe('JSON trace', () => {
  const flow = registrationFlow();
  const dir = mkdtempSync(join(tmpdir(), 'imslab-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the first line or Diameter command for reading, base64 bytes, and a fixed field order', () => {
    const t = toJsonTrace(flow);
    expect(t.format).toBe('imslab-trace');
    expect(t.start).toBe(flow[0]!.time);
    const first = t.events[0]!;
    expect(Object.keys(first)).toEqual(['seq', 'time', 'type', 'node', 'direction', 'protocol', 'transport', 'local', 'remote', 'firstLine', 'length', 'bytes']);
    expect(first.type === 'packet' && first.firstLine).toBe('REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org SIP/2.0');
    const uar = t.events.find((e) => e.type === 'packet' && e.protocol === 'diameter')!;
    expect(uar.type === 'packet' && uar.firstLine).toBe('Diameter 300 request (app 16777216)');
    const p = flow[0] as Extract<TraceEvent, { type: 'packet' }>;
    expect(first.type === 'packet' && Buffer.from(first.bytes, 'base64').equals(p.bytes)).toBe(true);
  });

  it('round-trips through JSON and JSON Lines', async () => {
    const file = join(dir, 't.json');
    writeJsonTrace(file, flow);
    expect(fromJsonTrace(JSON.parse(readFileSync(file, 'utf8')))).toEqual(flow);
    const lines = join(dir, 't.jsonl');
    const w = new JsonLinesWriter(lines);
    for (const e of flow) w.write(e);
    await w.close();
    const text = readFileSync(lines, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(flow.length);
    expect(fromJsonLines(text)).toEqual(flow);
  });

  it('stripTimes makes two runs that differ only in time identical, and nothing else', () => {
    const later = flow.map((e) => ({ ...e, time: e.time + 12_345.678 }));
    expect(serializeJsonTrace(toJsonTrace(later))).not.toBe(serializeJsonTrace(toJsonTrace(flow)));
    expect(serializeJsonTrace(stripTimes(toJsonTrace(later)))).toBe(serializeJsonTrace(stripTimes(toJsonTrace(flow))));
    const changed = flow.map((e, i) => (i === 3 && e.type === 'packet' ? { ...e, bytes: Buffer.from('other') } : e));
    expect(serializeJsonTrace(stripTimes(toJsonTrace(changed)))).not.toBe(serializeJsonTrace(stripTimes(toJsonTrace(flow))));
    expect(stripTimes(toJsonTrace(flow)).events.every((e) => !('time' in e))).toBe(true);
  });

  it('note data keys are sorted, so insertion order does not change the bytes', () => {
    const a: TraceEvent = { type: 'note', seq: 1, time: 0, node: 'n', level: 'info', text: 't', data: { b: 1, a: { d: 2, c: 3 } } };
    const b: TraceEvent = { type: 'note', seq: 1, time: 0, node: 'n', level: 'info', text: 't', data: { a: { c: 3, d: 2 }, b: 1 } };
    expect(serializeJsonTrace(toJsonTrace([a]))).toBe(serializeJsonTrace(toJsonTrace([b])));
  });

  it('rejects what is not a trace with a clear error', () => {
    expect(() => fromJsonTrace({ hello: 1 })).toThrow('not an imslab-trace JSON trace');
    expect(() => fromJsonTrace({ format: 'imslab-trace', version: 9, events: [] })).toThrow('version 9 is not supported');
    expect(() => fromJsonLines('{"type":"packet"\n')).toThrow('line 1: not JSON');
  });
});
