import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import type { NoteEvent, PacketEvent, TraceEvent } from '../../src/trace/events.js';
import { parseMessage } from '../../src/sip/parser.js';
import { isRequest, type SipRequest } from '../../src/sip/message.js';
import type { Ue } from '../../src/ue/index.js';

/**
 * TS 33.203 §7.4: after a deregistration the UE deletes its security associations, so that its next
 * REGISTER is an initial one with a fresh Security-Client and no Security-Verify. basic.yaml's core with
 * sec-agree on, moved to 127.0.58.x so that it runs beside the other end-to-end files.
 */
function basicAt(prefix: string) {
  const text = readFileSync(join(__dirname, '../../topologies/basic.yaml'), 'utf8')
    .replaceAll('127.0.1.1', `${prefix}.1`)
    .replaceAll('127.0.2.1', `${prefix}.2`)
    .replaceAll('127.0.3.1', `${prefix}.3`)
    .replaceAll('127.0.4.1', `${prefix}.4`)
    .replaceAll('127.0.10.1', `${prefix}.11`)
    .replaceAll('127.0.10.2', `${prefix}.12`);
  return parseTopology(text, 'basic.yaml');
}

let run: RunningTopology | undefined;
afterEach(async () => {
  await run?.stop();
  run = undefined;
});

function registers(events: TraceEvent[]): SipRequest[] {
  return events
    .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.node === 'alice' && e.direction === 'send')
    .map((e) => parseMessage(e.bytes))
    .filter((m): m is SipRequest => isRequest(m) && m.method === 'REGISTER');
}

describe('UE security associations across deregistration (TS 33.203 §7.4)', () => {
  it('register, deregister, register again with sec-agree: 200, a new SPI pair, no stale Security-Verify', async () => {
    run = await startTopology(basicAt('127.0.58'), { seed: 11 });
    const events: TraceEvent[] = [];
    run.bus.events$.subscribe((e) => events.push(e));
    const alice = run.ue('alice') as Ue;
    expect(alice.config.secAgree).toBe(true);

    await alice.register();
    await alice.deregister();
    expect(alice.state.state).toBe('deregistered');
    const before = registers(events).length;
    await alice.register();
    expect(alice.state.state).toBe('registered');

    const again = registers(events).slice(before);
    // The initial REGISTER of the new registration: sec-agree offered, nothing verified yet (RFC 3329 §2.3.1).
    expect(again[0]!.headers.has('Security-Verify')).toBe(false);
    expect(again[0]!.headers.get('Authorization')).not.toMatch(/response="[0-9a-f]/);
    const spis = (r: SipRequest) => /spi-c=(\d+);spi-s=(\d+)/.exec(r.headers.get('Security-Client')!)!.slice(1).join('/');
    expect(spis(again[0]!)).not.toBe(spis(registers(events)[0]!));
    // Its challenge is answered over the new pair, and that REGISTER gets the 200, not 494.
    const statuses = events
      .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.node === 'alice' && e.direction === 'recv')
      .map((e) => parseMessage(e.bytes))
      .filter((m) => !isRequest(m) && m.headers.get('CSeq')!.endsWith('REGISTER'))
      .map((m) => (m as { status: number }).status);
    expect(statuses).not.toContain(494);
    expect(statuses.slice(-2)).toEqual([401, 200]);
    expect(again[1]!.headers.has('Security-Verify')).toBe(true);
    expect(events.some((e): e is NoteEvent => e.type === 'note' && e.node === 'alice' && e.clause === 'TS 33.203 §7.4')).toBe(true);
  });
});
