import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ControlClient, ControlRequestError, ControlUnavailableError } from '../control/client.js';
import { MAX_CONTROL_CALL_MS, type CxOutcome, type RegistrationsResult, type StatusResult, type UeCallResult, type UeListEntry } from '../control/commands.js';
import type { NodeCounters } from '../control/counters.js';
import { CONTROL_SOCKET_NAME, controlSocketPath } from '../control/protocol.js';
import { loadTopology } from '../topology/loader.js';

/** How a command finds the serve to talk to: its data directory, or the topology it serves. */
export interface ControlTarget {
  data?: string;
  topology?: string;
  json?: boolean;
}

class TargetError extends Error {}

/**
 * The data directory of the serve to talk to, resolved as `imslab serve` resolves it: --data, else the
 * topology's dataDir or `.imslab/<topology name>`; with neither, the one serve found under ./.imslab.
 */
export function controlDataDir(o: ControlTarget): string {
  if (o.data) return resolve(o.data);
  if (o.topology) {
    const t = loadTopology(o.topology);
    return resolve(t.dataDir ?? `.imslab/${t.name}`);
  }
  const root = resolve('.imslab');
  const found = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(root, d.name, CONTROL_SOCKET_NAME)))
        .map((d) => join(root, d.name))
    : [];
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new TargetError(`no imslab serve found under ${root}; give --data DIR or --topology FILE`);
  throw new TargetError(`several serves under ${root} (${found.join(', ')}); say which with --data DIR`);
}

export function addTargetOptions(c: Command): Command {
  return c
    .option('--data <dir>', "the serve's data directory (default: as serve derives it from --topology, else the one under ./.imslab)")
    .option('--topology <file>', 'the topology the serve runs (its data directory is derived as serve does)')
    .option('--json', 'print the answer as JSON');
}

/** Connects to the serve, runs `fn`, and turns every failure into one line on stderr and exit status 1. */
export async function withControl(o: ControlTarget, fn: (client: ControlClient) => Promise<boolean | void>): Promise<void> {
  let client: ControlClient | undefined;
  try {
    client = await ControlClient.connect(controlSocketPath(controlDataDir(o)));
    const ok = await fn(client);
    if (ok === false) process.exitCode = 1;
  } catch (e) {
    const known = e instanceof ControlUnavailableError || e instanceof ControlRequestError || e instanceof TargetError;
    process.stderr.write(`error: ${known ? e.message : e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  } finally {
    client?.close();
  }
}

function print(o: ControlTarget, value: unknown, text: () => string): void {
  process.stdout.write(o.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

/** The RTA or PPA as one line: which HSS, what came back. */
export function describeCxOutcome(command: 'RTA' | 'PPA', r: CxOutcome): string {
  const code = r.resultCode ?? r.experimentalResultCode;
  return `${command} ${code ?? '-'} ${r.result}${r.success ? '' : ' (failed)'} (via ${r.hss})`;
}

export function renderStatus(s: StatusResult): string {
  const lines = [`imslab serve: ${s.topology} (data in ${s.dataDir})`];
  const rows = s.nodes.map((n) => [n.name, n.kind, n.address, Object.entries(n.ports).map(([t, p]) => `${t}/${p}`).join(' '), n.running ? 'running' : 'stopped']);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), 4));
  for (const r of rows) lines.push(`  ${r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ')}`);
  lines.push('counters:');
  for (const [name, c] of Object.entries(s.counters)) lines.push(...renderCounters(name, c));
  return lines.join('\n');
}

function renderCounters(name: string, c: NodeCounters): string[] {
  const out: string[] = [];
  const pad = ' '.repeat(name.length + 4);
  const add = (text: string) => out.push(`${out.length ? pad : `  ${name}  `}${text}`);
  const t = c.transactions;
  if (t) {
    add(
      `transactions: ${t['clientTransactionsCreated']} client, ${t['serverTransactionsCreated']} server; retransmissions ${t['retransmissionsSent']} sent, ` +
        `${t['retransmissionsReceived']} absorbed; ${t['timeouts']} timeouts, ${t['transportErrors']} transport errors, ${t['strayMessages']} stray`,
    );
  }
  const tr = c.transport;
  if (tr) {
    const per = (r: Record<string, number>) => Object.entries(r).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || '0';
    const dropped = Object.entries(tr.dropped).map(([why, n]) => `${n} ${why}`).join(', ') || 'none';
    add(`transport: in ${per(tr.received)}; out ${per(tr.sent)}; ${tr.badRequests} answered 400; dropped: ${dropped}`);
  }
  if (c.diameter) add(`diameter: ${c.diameter.open} open of ${c.diameter.connections} connections`);
  const r = c.registrations;
  if (r) add(`registrations: ${r.subscriptions}${r.contacts !== undefined ? ` (${r.contacts} contacts)` : ''}${r.impus !== undefined ? ` (${r.impus} IMPUs registered)` : ''}`);
  if (!out.length) add('nothing to count');
  return out;
}

export function renderRegistrations(r: RegistrationsResult): string {
  const lines: string[] = [];
  for (const [node, regs] of Object.entries(r.scscf)) {
    lines.push(`${node} (S-CSCF): ${regs.length} registered`);
    for (const x of regs) {
      lines.push(`  ${x.impi}  ${x.impus.join(', ')}`);
      for (const c of x.contacts) lines.push(`    ${c.uri}  expires in ${c.expiresInS} s`);
    }
  }
  for (const [node, regs] of Object.entries(r.pcscf)) {
    lines.push(`${node} (P-CSCF): ${regs.length} registered`);
    for (const x of regs) lines.push(`  ${x.impu}${x.impi ? ` (${x.impi})` : ''}  ${x.contact} from ${x.ue}  expires in ${x.expiresInS} s`);
  }
  return lines.join('\n') || 'no S-CSCF or P-CSCF is running';
}

export function renderUes(ues: UeListEntry[]): string {
  if (ues.length === 0) return 'no simulated UEs run in this serve';
  return ues
    .map((u) => `  ${u.name.padEnd(10)} ${u.impu}  ${u.transport}/${u.address}  ${u.state}${u.reason ? ` (${u.reason})` : ''}  answers: ${u.answer}, media ${u.media}${u.calls ? `, ${u.calls} call(s)` : ''}`)
    .join('\n');
}

/** One paragraph: the INVITE's answer, then the media each way. */
export function renderCall(r: UeCallResult): string {
  const head = `${r.from} → ${r.to}: ${r.status ?? 'no answer'} ${r.reason ?? ''}`.trimEnd();
  if (!r.answered) return `${head} (not answered)`;
  const lines = [`${head}; call lasted ${((r.durationMs ?? 0) / 1000).toFixed(1)} s${r.ended ? `, ${r.ended}` : ''}`];
  if (r.rtp) {
    lines.push(`  RTP sent ${r.rtp.sent}, received ${r.rtp.received} (lost ${r.rtp.lost}, jitter ${r.rtp.jitterMs} ms); RTCP sent ${r.rtp.rtcpSent}, received ${r.rtp.rtcpReceived}`);
  }
  return lines.join('\n');
}

/** `--duration 3`, `2.5`, `1500ms`: seconds unless the unit says ms. */
export function parseCallDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!m) throw new TargetError(`--duration ${JSON.stringify(text)} is not a number of seconds (e.g. 3, 2.5 or 1500ms)`);
  const ms = m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
  if (ms > MAX_CONTROL_CALL_MS) throw new TargetError(`--duration ${text}: at most ${MAX_CONTROL_CALL_MS / 1000} s`);
  return Math.round(ms);
}

/** `imslab ctl …`: talk to a running `imslab serve` over its control socket (<data>/control.sock). */
export function registerControlCommands(program: Command): void {
  const ctl = program.command('ctl').description('control a running imslab serve: status and counters, stop/start one network function, registrations');

  addTargetOptions(ctl.command('status'))
    .description('nodes with their addresses and state, and each node\'s counters')
    .action((o: ControlTarget) =>
      withControl(o, async (c) => {
        const s = await c.request<StatusResult>('status');
        print(o, s, () => renderStatus(s));
      }),
    );

  addTargetOptions(ctl.command('stop').argument('<node>', 'network function name, e.g. hss1 or scscf1'))
    .description('stop one network function; the others answer as the specs say while it is gone (504, 408)')
    .action((node: string, o: ControlTarget) =>
      withControl(o, async (c) => {
        const r = await c.request('node.stop', { name: node });
        print(o, r, () => `stopped ${node}`);
      }),
    );

  addTargetOptions(ctl.command('start').argument('<node>', 'a network function stopped with "ctl stop"'))
    .description('start a stopped network function again, from the same data directory')
    .action((node: string, o: ControlTarget) =>
      withControl(o, async (c) => {
        const r = await c.request('node.start', { name: node });
        print(o, r, () => `started ${node}`);
      }),
    );

  addTargetOptions(ctl.command('ues'))
    .description('the simulated UEs of the serve: identity, registration state, how they answer')
    .action((o: ControlTarget) =>
      withControl(o, async (c) => {
        const r = await c.request<UeListEntry[]>('ue.list');
        print(o, r, () => renderUes(r));
      }),
    );

  addTargetOptions(
    ctl
      .command('call')
      .argument('<from>', 'a simulated UE of the serve, e.g. carol')
      .argument('<to>', 'whom to call: a sip:/tel: URI (an outside UE registered to the core) or another simulated UE'),
  )
    .option('--duration <seconds>', 'hang up this long after the answer', '5')
    .description('a simulated UE calls, holds the call, hangs up; prints the answer and RTP both ways (exit 1 if not answered)')
    .action((from: string, to: string, o: ControlTarget & { duration: string }) =>
      withControl(o, async (c) => {
        const durationMs = parseCallDuration(o.duration);
        // Timer B for the answer, the call itself, Timer F for the BYE, and a margin for the socket.
        const r = await c.request<UeCallResult>('ue.call', { from, to, durationMs }, durationMs + 2 * 32_000 + 10_000);
        print(o, r, () => renderCall(r));
        return r.answered;
      }),
    );

  addTargetOptions(ctl.command('registrations'))
    .description('who is registered at each S-CSCF and P-CSCF')
    .action((o: ControlTarget) =>
      withControl(o, async (c) => {
        const r = await c.request<RegistrationsResult>('registrations');
        print(o, r, () => renderRegistrations(r));
      }),
    );
}
