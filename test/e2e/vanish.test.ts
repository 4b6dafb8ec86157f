import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import { TOKENS } from '../../src/topology/tokens.js';
import type { SipTransportLayer } from '../../src/sip/transport/types.js';
import type { NoteEvent, TraceEvent } from '../../src/trace/events.js';
import type { Ue } from '../../src/ue/index.js';

/**
 * Issue 5, bad input: "a UE that vanishes mid-call ends the dialog by timer, and the trace says so". basic.yaml
 * moved to 127.0.96.x, with 4 s session intervals (RFC 4028) and a short T1 so that a request to the vanished UE
 * times out in seconds (64·T1, RFC 3261 §17.1.2.2).
 */
function topology() {
  const text = readFileSync(join(__dirname, '../../topologies/basic.yaml'), 'utf8')
    .replace(/127\.0\.(\d+)\.(\d+)/g, (_m, a: string, b: string) => `127.96.${a}.${b}`)
    .replace(/\bseed: 1\b/, 'seed: 1\ntimers: { T1: 40, T2: 400, T4: 500 }')
    .replace(/(    transport: udp)/g, '$1\n    sessionExpires: 4\n    minSe: 2\n    mediaTimeout: 60s');
  return parseTopology(text, 'vanish.yaml');
}

let run: RunningTopology | undefined;
afterEach(async () => {
  await run?.stop();
  run = undefined;
});

describe('a UE that vanishes mid-call', () => {
  it('its peer ends the call by the session timer, says why on the trace, and holds no call afterwards', { timeout: 40_000 }, async () => {
    run = await startTopology(topology(), { seed: 5 });
    const events: TraceEvent[] = [];
    run.bus.events$.subscribe((e) => events.push(e));
    await run.ue('alice').register();
    await run.ue('bob').register();
    const alice = run.ue('alice') as unknown as Ue;
    const bob = run.ue('bob') as unknown as Ue;

    const call = alice.call('sip:bob@ims.mnc001.mcc001.3gppnetwork.org');
    await call.settled();
    expect(call.state.state).toBe('confirmed');

    // bob disappears: his sockets close, no BYE is sent.
    const bobCalls = bob.calls;
    await run.containers.get('bob')!.get<SipTransportLayer>(TOKENS.Transport).close();
    await Promise.all(bobCalls.map((c) => c.release('vanished')));

    await call.ended();
    const gone = events.filter((e): e is NoteEvent => e.type === 'note' && e.node === 'alice' && /RFC 4028/.test(e.clause ?? ''));
    // Either the refresh timed out (Timer F) or the session interval ran out first: both are the timer at work.
    expect(gone.map((n) => n.text).join('\n')).toMatch(/session refresh to sip:bob@\S+ (failed|unanswered)[^\n]*call ended/);
    expect(alice.calls.filter((c) => c.state.state !== 'terminated')).toHaveLength(0);
  });
});
