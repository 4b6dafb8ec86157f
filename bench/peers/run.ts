/**
 * `npm run bench:peers`: one hop of imslab against one hop of Kamailio under the same SIPp load (issue 7).
 *
 * For each server in turn (never both at once, so each has the two cores to itself with SIPp): the server, a
 * SIPp answerer registered as sip:callee@bench.peers.test, then SIPp callers at stepped rates (INVITE … BYE
 * through the proxy, which looks the callee up in its location service and Record-Routes), then SIPp
 * registering users with digest at stepped rates. A step is clean when every scenario succeeded, SIPp
 * retransmitted under 1 % and the rate was reached (90 %); the figure is the highest clean rate. Stepping stops
 * at the first unclean step. Both servers do the same work: digest on REGISTER only (401, qop=auth, one-time
 * nonces with nonce-count, an in-memory password table), INVITEs not challenged, bindings in memory.
 *
 * Options: --json FILE (the figures), --quick (tiny steps, for the smoke test), --only imslab|kamailio.
 * Everything it starts is stopped by process id at the end; the whole run is bounded (< 5 minutes).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, runSipp, startUas, type SippStep } from './sipp.js';
import { startImslab, startKamailio, stopServer, type Server } from './servers.js';

export const DOMAIN = 'bench.peers.test';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const SCENARIOS = join(HERE, 'scenarios');
const IMSLAB = { address: '127.0.61.1', port: 15060 };
const KAMAILIO = { address: '127.0.61.2', port: 15060 };
const UAS = { address: '127.0.61.10', port: 15070 };
const UAC = { address: '127.0.61.11', port: 15071 };
const REGISTERING = { address: '127.0.61.12', port: 15072 };

export interface PeersOptions {
  quick?: boolean;
  only?: Array<'imslab' | 'kamailio'>;
  /** Whole-run budget in seconds (default 280). */
  budgetSeconds?: number;
  log?: (line: string) => void;
}

export interface ServerResult {
  calls_per_s: number | null;
  registers_per_s: number | null;
  callSteps: SippStep[];
  registerSteps: SippStep[];
  error?: string;
}

export interface PeersResult {
  figures: Record<string, number | null>;
  servers: Partial<Record<'imslab' | 'kamailio', ServerResult>>;
}

const CALL_STEPS = [250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000];
const REGISTER_STEPS = [500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000];
/** Seconds of load per step. */
const STEP_SECONDS = 2;

export function installed(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The users both servers know: uN / pwN, plus the callee. Same table, same passwords, on both sides. */
function writeInputs(dir: string, users: number): { topology: string; usersCsv: string; calleeCsv: string } {
  const subs = [`  - { impi: callee@${DOMAIN}, impus: [sip:callee@${DOMAIN}], password: pwcallee }`];
  for (let i = 0; i < users; i++) subs.push(`  - { impi: u${i}@${DOMAIN}, impus: [sip:u${i}@${DOMAIN}], password: pw${i} }`);
  const topology = join(dir, 'peers.yaml');
  writeFileSync(
    topology,
    `name: bench-peers
domains: [${DOMAIN}]
nodes:
  - name: proxy1
    kind: proxy
    address: ${IMSLAB.address}
    transports: { udp: ${IMSLAB.port} }
    recordRoute: true
    # As Kamailio's config: REGISTER challenged, INVITE not (RFC 3261 §22.2 registrar, no §22.3 proxy auth).
    auth: register
subscribers:
${subs.join('\n')}
`,
  );
  const usersCsv = join(dir, 'users.csv');
  const rows = ['SEQUENTIAL'];
  for (let i = 0; i < users; i++) rows.push(`u${i};pw${i};${REGISTERING.address}:${REGISTERING.port}`);
  writeFileSync(usersCsv, rows.join('\n') + '\n');
  const calleeCsv = join(dir, 'callee.csv');
  writeFileSync(calleeCsv, `SEQUENTIAL\ncallee;pwcallee;${UAS.address}:${UAS.port}\n`);
  return { topology, usersCsv, calleeCsv };
}

async function step(
  server: Server,
  scenario: string,
  local: { address: string; port: number },
  rates: number[],
  dir: string,
  inf: string | undefined,
  deadline: number,
  log: (l: string) => void,
  what: string,
): Promise<{ best: number | null; steps: SippStep[] }> {
  const steps: SippStep[] = [];
  let best: number | null = null;
  for (const rate of rates) {
    const left = (deadline - Date.now()) / 1000;
    if (left < STEP_SECONDS + 8) {
      log(`  ${server.name} ${what}: budget reached, stepping stops at ${rate}/s`);
      break;
    }
    const s = await runSipp({
      scenario,
      server: { address: server.address, port: server.port },
      local,
      rate,
      count: Math.max(10, Math.round(rate * STEP_SECONDS)),
      workDir: dir,
      keys: { domain: DOMAIN },
      ...(inf ? { inf } : {}),
      timeoutSeconds: Math.min(STEP_SECONDS + 10, Math.floor(left)),
    });
    steps.push(s);
    log(`  ${server.name} ${what} ${rate}/s: ${s.successful}/${s.calls} ok, ${s.failed} failed, ${s.retransmissions} retrans, ${s.achieved}/s reached${s.clean ? '' : '  ← not clean'}`);
    if (!s.clean) break;
    best = Math.max(best ?? 0, s.achieved);
  }
  return { best, steps };
}

async function measure(
  which: 'imslab' | 'kamailio',
  dir: string,
  inputs: ReturnType<typeof writeInputs>,
  users: number,
  o: Required<Pick<PeersOptions, 'quick'>>,
  deadline: number,
  log: (l: string) => void,
): Promise<ServerResult> {
  const result: ServerResult = { calls_per_s: null, registers_per_s: null, callSteps: [], registerSteps: [] };
  let server: Server | undefined;
  let uas: ReturnType<typeof startUas> | undefined;
  try {
    server =
      which === 'imslab'
        ? await startImslab(inputs.topology, 'proxy1', IMSLAB.address, IMSLAB.port)
        : await startKamailio(join(HERE, 'kamailio.cfg'), KAMAILIO.address, KAMAILIO.port, users, dir);
    log(`${which}: listening on ${server.address}:${server.port} (pid ${server.child.pid})`);
    uas = startUas(join(SCENARIOS, 'uas-call.xml'), UAS, dir);
    // The callee's binding: the answering SIPp is sip:callee@bench.peers.test in the location service.
    const reg = await runSipp({
      scenario: join(SCENARIOS, 'register.xml'),
      server: { address: server.address, port: server.port },
      local: REGISTERING,
      rate: 10,
      count: 1,
      workDir: dir,
      keys: { domain: DOMAIN },
      inf: inputs.calleeCsv,
      timeoutSeconds: 10,
    });
    if (reg.successful !== 1) throw new Error(`the callee could not register (exit ${reg.exitCode}): ${server.log().slice(-500)}`);
    const calls = await step(server, join(SCENARIOS, 'uac-call.xml'), UAC, o.quick ? [20, 50] : CALL_STEPS, dir, undefined, deadline, log, 'calls');
    result.calls_per_s = calls.best;
    result.callSteps = calls.steps;
    const regs = await step(server, join(SCENARIOS, 'register.xml'), REGISTERING, o.quick ? [20, 50] : REGISTER_STEPS, dir, inputs.usersCsv, deadline, log, 'REGISTERs');
    result.registers_per_s = regs.best;
    result.registerSteps = regs.steps;
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    log(`${which}: ${result.error}`);
  } finally {
    if (uas) {
      uas.kill('SIGTERM');
      await exited(uas, 5000);
    }
    if (server) await stopServer(server);
  }
  return result;
}

/** Both servers, one after the other; figures under the keys of issue 7 (null when not measured). */
export async function benchPeers(options: PeersOptions = {}): Promise<PeersResult> {
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const deadline = Date.now() + (options.budgetSeconds ?? 280) * 1000;
  const only = options.only ?? ['imslab', 'kamailio'];
  const dir = mkdtempSync(join(tmpdir(), 'imslab-peers-'));
  const users = options.quick ? 200 : 2000;
  const servers: PeersResult['servers'] = {};
  try {
    const inputs = writeInputs(dir, users);
    // Each server gets half of what is left, so that the second is not starved by the first.
    for (const [i, which] of only.entries()) {
      const share = Date.now() + (deadline - Date.now()) / (only.length - i);
      servers[which] = await measure(which, dir, inputs, users, { quick: options.quick ?? false }, share, log);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? Math.round((a / b) * 1000) / 1000 : null);
  const im = servers.imslab;
  const ka = servers.kamailio;
  return {
    figures: {
      'peers.imslab_calls_per_s': im?.calls_per_s ?? null,
      'peers.kamailio_calls_per_s': ka?.calls_per_s ?? null,
      'peers.imslab_registers_per_s': im?.registers_per_s ?? null,
      'peers.kamailio_registers_per_s': ka?.registers_per_s ?? null,
      'peers.calls_ratio': ratio(im?.calls_per_s, ka?.calls_per_s),
      'peers.registers_ratio': ratio(im?.registers_per_s, ka?.registers_per_s),
    },
    servers,
  };
}

function table(r: PeersResult): string {
  const f = r.figures;
  const v = (x: number | null | undefined) => (x === null || x === undefined ? '—' : String(x));
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${Math.round(x * 100)} %`);
  return [
    'one proxy hop, highest clean rate (SIPp UAC → proxy → SIPp UAS; digest REGISTER 401 → 200)',
    '                       imslab   kamailio   imslab/kamailio',
    `  calls/s (INVITE…BYE) ${v(f['peers.imslab_calls_per_s']).padStart(6)}   ${v(f['peers.kamailio_calls_per_s']).padStart(8)}   ${pct(f['peers.calls_ratio'])}`,
    `  REGISTERs/s (digest) ${v(f['peers.imslab_registers_per_s']).padStart(6)}   ${v(f['peers.kamailio_registers_per_s']).padStart(8)}   ${pct(f['peers.registers_ratio'])}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
  const quick = argv.includes('--quick');
  const onlyArg = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const missing = ['sipp', 'kamailio'].filter((t) => !installed(t));
  if (missing.length > 0) {
    process.stderr.write(`bench:peers needs ${missing.join(' and ')} (Debian: sip-tester, kamailio); nothing measured\n`);
    return 2;
  }
  const only: Array<'imslab' | 'kamailio'> | undefined = onlyArg === 'imslab' || onlyArg === 'kamailio' ? [onlyArg] : undefined;
  const r = await benchPeers({ quick, ...(only ? { only } : {}) });
  process.stdout.write(table(r) + '\n');
  if (json) writeFileSync(json, JSON.stringify({ ...r.figures, details: r.servers }, null, 2) + '\n');
  const failed = Object.values(r.servers).some((s) => s?.error !== undefined);
  return failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`bench:peers: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
