/**
 * The control commands the softphone tests drive (`ue.list`, `ue.call`), on a serve-like run in process with
 * the served UEs set up as `imslab serve` sets them (registered, answering with echo): a UE's call to the
 * echoing UE carries media both ways, a busy UE's 486 comes back as not answered, and bad requests get a
 * clear error without placing any call. Topology on 127.0.54.65-75.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlCommands, ControlError, type UeCallResult, type UeListEntry } from '../../../src/control/commands.js';
import { loadTopology } from '../../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../../src/topology/runner.js';
import { describeServedUes, registerServedUes } from '../../../src/cli/served-ues.js';
import { DOMAIN, writeSoftphoneTopology } from './harness.js';

let dir: string;
let run: RunningTopology | undefined;
let commands: ControlCommands;
let banner: string;

describe('ue.list and ue.call on the served UEs', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imslab-cc-'));
    const file = join(dir, 't.yaml');
    writeSoftphoneTopology(file, '127.0.54', 64);
    run = await startTopology(loadTopology(file), { dataDir: join(dir, 'd') });
    banner = describeServedUes(await registerServedUes(run));
    commands = new ControlCommands(run);
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists both UEs registered, echoing, with their answer settings; the banner names whom to call', async () => {
    const list = (await commands.handle('ue.list', {})) as UeListEntry[];
    expect(list.map((u) => [u.name, u.impu, u.address, u.state, u.answer, u.media, u.calls])).toEqual([
      ['dave', `sip:dave@${DOMAIN}`, '127.0.54.74', 'registered', 'auto', 'echo', 0],
      ['erin', `sip:erin@${DOMAIN}`, '127.0.54.75', 'registered', 'busy', 'echo', 0],
    ]);
    expect(banner).toBe(`Simulated UEs you can call: sip:dave@${DOMAIN} (answers, echoes your audio), sip:erin@${DOMAIN} (busy: 486)`);
  });

  it('erin calls dave: answered, held for the duration, BYE 200; dave echoes erin\'s tone, so RTP flows both ways', { timeout: 30_000 }, async () => {
    const r = (await commands.handle('ue.call', { from: 'erin', to: 'dave', durationMs: 1000 })) as UeCallResult;
    expect(r.answered).toBe(true);
    expect(r.status).toBe(200);
    expect(r.to).toBe(`sip:dave@${DOMAIN}`);
    expect(r.durationMs).toBeGreaterThanOrEqual(950);
    expect(r.ended).toMatch(/BYE answered 200/);
    // 1 s of 20 ms packets each way; the echo returns what arrived.
    expect(r.rtp!.sent).toBeGreaterThanOrEqual(40);
    expect(r.rtp!.received).toBeGreaterThanOrEqual(35);
    expect(r.rtp!.lost).toBe(0);
    expect(r.rtp!.unexpected).toBe(0);
  });

  it('dave calls busy erin: 486, not answered, no media', { timeout: 30_000 }, async () => {
    const r = (await commands.handle('ue.call', { from: 'dave', to: `sip:erin@${DOMAIN}`, durationMs: 1000 })) as UeCallResult;
    expect([r.answered, r.status, r.reason]).toEqual([false, 486, 'Busy Here']);
    expect(r.rtp).toBeUndefined();
  });

  it('refuses bad requests with the reason and places no call', async () => {
    await expect(commands.handle('ue.call', { from: 'zoe', to: 'dave' })).rejects.toThrow(/no simulated UE named "zoe" runs here \(running: dave, erin\)/);
    await expect(commands.handle('ue.call', { from: 'dave', to: 'mailto:x@y' })).rejects.toThrow(ControlError);
    await expect(commands.handle('ue.call', { from: 'dave', to: 'sip:x@y', durationMs: -1 })).rejects.toThrow(/durationMs/);
    await expect(commands.handle('ue.call', { from: 'dave', to: 'sip:x@y', extra: 1 })).rejects.toThrow(/ue\.call/);
    await expect(commands.handle('ue.list', { x: 1 })).rejects.toThrow(/ue\.list/);
    const list = (await commands.handle('ue.list', {})) as UeListEntry[];
    expect(list.every((u) => u.calls === 0)).toBe(true);
  });
});
