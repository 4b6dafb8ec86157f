import dgram from 'node:dgram';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/sip/parser.js';
import type { Scscf } from '../../src/scscf/index.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology } from '../../src/topology/runner.js';
import { runScenario } from '../../src/topology/scenario.js';
import type { PacketEvent } from '../../src/trace/events.js';
import { impiOf, reliabilityTopology, tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a replayed Authorization is refused (issue 8 point 4, RFC 3261 §22.4 / RFC 3310 §3: one nonce, one use)', () => {
  it('the second REGISTER, resent byte for byte with a new branch, gets a new 401 challenge, never 200', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const topology = parseTopology(reliabilityTopology(71, { extra: 'scenarios:\n  reg: [ { register: alice }, { deregister: alice } ]' }));
    const run = await startTopology(topology, { dataDir: dir.path });
    cleanups.push(() => run.stop());
    const answered = firstValueFrom(
      run.bus.events$.pipe(
        filter((e): e is PacketEvent => e.type === 'packet' && e.node === 'scscf1' && e.direction === 'recv' && /^REGISTER [^]*response="[0-9a-f]{32}"/.test(e.bytes.toString('latin1'))),
        take(1),
        timeout(10_000),
      ),
    );
    expect((await runScenario(run, 'reg', topology.scenarios.reg!)).ok).toBe(true);
    const original = (await answered).bytes.toString('latin1');
    expect(run.node<Scscf>('scscf1').store.byImpi(impiOf('alice'))).toBeUndefined();

    // The attacker replays it from its own socket: same Authorization, Call-ID, CSeq; its own Via with a new branch.
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.53.79', () => r()));
    cleanups.push(() => void socket.close());
    const port = socket.address().port;
    const lines = original.split('\r\n');
    const head = lines.filter((l) => !/^(Via|v):/i.test(l));
    head.splice(1, 0, `Via: SIP/2.0/UDP 127.0.53.79:${port};branch=z9hG4bKreplay1`);
    const replay = head.join('\r\n');
    const final = new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no final response within 5 s')), 5000);
      socket.on('message', (m) => {
        const text = m.toString('latin1');
        if (/^SIP\/2\.0 [2-6]\d\d /.test(text)) {
          clearTimeout(t);
          resolve(text);
        }
      });
    });
    socket.send(replay, 25060, '127.0.53.73');
    const response = parseMessage(Buffer.from(await final, 'latin1'));
    expect('status' in response && response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toMatch(/^Digest .*nonce="/);
    // The challenge is a fresh one: not the nonce that was replayed.
    const replayedNonce = /nonce="([^"]+)"/.exec(original)![1];
    expect(response.headers.get('WWW-Authenticate')).not.toContain(replayedNonce);
    expect(run.node<Scscf>('scscf1').store.byImpi(impiOf('alice'))).toBeUndefined();
  }, 30_000);
});
