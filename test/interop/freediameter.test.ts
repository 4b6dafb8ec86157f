import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseCommandCode } from '../../src/diameter/dictionary/base.js';
import { HssNode } from '../../src/hss/hss-node.js';
import { TraceBus } from '../../src/trace/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { collectDiameter, INTEROP_DIR, PeerProcess, renderTemplate, skipReason, waitUntil, type DiameterSeen } from './helpers/peers.js';

/**
 * freeDiameter (Debian `freediameter`, 1.2.1) against the imslab HSS: CER/CEA, DWR/DWA every Tw (6 s),
 * and DPR/DPA when it shuts down. Checked on both sides: our trace and freeDiameter's own log.
 */
const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
const HSS_ADDRESS = '127.0.46.1';
const HSS_PORT = 3868;
const FD_IDENTITY = `fd1.${DOMAIN}`;

const skip = skipReason(['freeDiameterd', 'openssl'], 'freediameter openssl');

describe.skipIf(skip !== undefined)('freeDiameter ↔ imslab HSS', () => {
  let dir: string;
  let hss: HssNode;
  let fd: PeerProcess | undefined;
  let seen: DiameterSeen[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imslab-fd-'));
    // freeDiameter refuses to start without a certificate whose CN is its Identity, even with No_TLS.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${FD_IDENTITY}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const template = join(INTEROP_DIR, 'freediameter/freeDiameter.conf');
    writeFileSync(join(dir, 'freeDiameter.conf'), renderTemplate(readFileSync(template, 'utf8'), {
      IDENTITY: FD_IDENTITY, REALM: DOMAIN, RUN_DIR: dir, HSS_IDENTITY: `hss1.${DOMAIN}`, HSS_ADDRESS, HSS_PORT: String(HSS_PORT),
    }, template));

    const clock = new SystemClock();
    const trace = new TraceBus(clock);
    seen = collectDiameter(trace).seen;
    hss = new HssNode({
      spec: { name: 'hss1', kind: 'hss', address: HSS_ADDRESS, ports: { diameter: HSS_PORT }, domain: DOMAIN, settings: { realm: DOMAIN } },
      clock, random: new SeededRandom(7).fork('hss1'), trace, dataDir: dir,
    });
    await hss.start();
    fd = new PeerProcess('freeDiameterd', 'freeDiameterd', ['-c', join(dir, 'freeDiameter.conf')]);
  }, 30_000);

  afterAll(async () => {
    await fd?.stop();
    await hss?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes CER/CEA: freeDiameter logs the HSS as OPEN, the HSS answered 2001', async () => {
    await fd!.waitFor(new RegExp(`-> 'STATE_OPEN'\\s+'hss1\\.${DOMAIN.replace(/\./g, '\\.')}'`), 10_000);
    const cer = seen.find((s) => s.direction === 'recv' && s.request && s.commandCode === BaseCommandCode.CapabilitiesExchange);
    expect(cer, 'the HSS received a CER').toBeDefined();
    const cea = seen.find((s) => s.direction === 'send' && !s.request && s.commandCode === BaseCommandCode.CapabilitiesExchange);
    expect(cea?.resultCode).toBe(2001);
    // What freeDiameter decoded of our CEA, in its own words.
    expect(fd!.output).toMatch(/Result-Code\(268\)\[-M\]='DIAMETER_SUCCESS'/);
    expect(fd!.output).toMatch(/Auth-Application-Id\(258\)\[-M\]=16777216/);
    expect(fd!.output).not.toMatch(/ERROR/);
  });

  it('exchanges DWR/DWA at freeDiameter\'s Tw of 6 s', async () => {
    await waitUntil(
      () => seen.find((s) => s.direction === 'send' && !s.request && s.commandCode === BaseCommandCode.DeviceWatchdog),
      12_000,
      () => `no DWA sent within 12 s; Diameter seen: ${JSON.stringify(seen)}`,
    );
    expect(seen.some((s) => s.direction === 'recv' && s.request && s.commandCode === BaseCommandCode.DeviceWatchdog)).toBe(true);
    expect(fd!.running).toBe(true);
    expect(fd!.output).not.toMatch(/SUSPECT|REOPEN|STATE_CLOSED'\s+-> /);
  }, 20_000);

  it('disconnects with DPR/DPA when freeDiameter stops', async () => {
    await fd!.stop(16_000);
    await waitUntil(
      () => seen.find((s) => s.direction === 'send' && !s.request && s.commandCode === BaseCommandCode.DisconnectPeer),
      2000,
      () => `no DPA; Diameter seen: ${JSON.stringify(seen)}`,
    );
    expect(fd!.output).toMatch(/'STATE_OPEN'\s+-> 'STATE_CLOSING_GRACE'/);
  }, 25_000);
});
