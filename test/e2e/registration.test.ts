import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/topology/loader.js';
import type { RunningTopology } from '../../src/topology/runner.js';
import type { TraceEvent } from '../../src/trace/events.js';
import { tempPcap } from '../helpers/temp-pcap.js';
import { playScenario } from './helpers/play.js';

/**
 * The walking product: basic.yaml's UEs register with IMS AKA through P-CSCF, I-CSCF, S-CSCF and HSS over
 * real sockets, and the capture reads as TS 24.228 §6.2 — checked hop by hop against the published flow
 * checklist (../shared/vectors/flows.json) by tshark's own dissectors.
 */
const FLOWS = join(__dirname, '../../../shared/vectors/flows.json');
const hasTshark = existsSync('/usr/bin/tshark');

interface FlowStep {
  from: string;
  to: string;
  message: string;
  adds?: string[];
  removes?: string[];
}

const ROLE_OF: Record<string, string> = {
  UE: '127.0.10.1',
  'P-CSCF': '127.0.1.1',
  'I-CSCF': '127.0.2.1',
  'S-CSCF': '127.0.3.1',
  HSS: '127.0.4.1',
};

async function runBasic(scenario: string, seed = 7): Promise<{ events: TraceEvent[]; ok: boolean; failed?: string }> {
  const { events, result, failed } = await playScenario(loadTopology(join(__dirname, '../../topologies/basic.yaml')), scenario, seed);
  return { events, ok: result.ok, ...(failed ? { failed } : {}) };
}

interface Row {
  src: string;
  dst: string;
  method: string;
  status: string;
  diameter: string;
  request: string;
  headers: Record<string, string>;
}

const SIP_FIELDS = [
  'sip.Path',
  'sip.Require',
  'sip.Proxy-Require',
  'sip.Supported',
  'sip.P-Visited-Network-ID',
  'sip.P-Charging-Vector',
  'sip.Security-Client',
  'sip.Security-Server',
  'sip.Security-Verify',
  'sip.Authorization',
  'sip.WWW-Authenticate',
  'sip.Service-Route',
  'sip.P-Associated-URI',
  'sip.Contact',
];

function tsharkRows(pcap: string): Row[] {
  const fields = ['ip.src', 'ip.dst', 'sip.Method', 'sip.Status-Code', 'diameter.cmd.code', 'diameter.flags.request', ...SIP_FIELDS];
  const out = execFileSync('tshark', ['-r', pcap, '-Y', 'sip || diameter', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const c = line.split('\t');
      const headers: Record<string, string> = {};
      SIP_FIELDS.forEach((f, i) => (headers[f.slice(4)] = c[6 + i] ?? ''));
      return { src: c[0]!, dst: c[1]!, method: c[2]!, status: c[3]!, diameter: c[4]!, request: c[5]!, headers };
    });
}

function matches(row: Row, step: FlowStep): boolean {
  if (row.src !== ROLE_OF[step.from] || row.dst !== ROLE_OF[step.to]) return false;
  const m = step.message;
  if (m.startsWith('REGISTER')) return row.method === 'REGISTER';
  if (m.startsWith('401')) return row.status === '401';
  if (m.startsWith('200')) return row.status === '200' && row.method === '';
  const code = /Diameter (UAR|UAA|MAR|MAA|SAR|SAA)/.exec(m)?.[1];
  if (code) {
    const cmd = { UAR: '300', UAA: '300', SAR: '301', SAA: '301', MAR: '303', MAA: '303' }[code];
    const isRequest = code.endsWith('R');
    return row.diameter === cmd && (row.request === '1' || row.request === 'True') === isRequest;
  }
  return false;
}

let running: RunningTopology | undefined;
afterEach(async () => {
  await running?.stop().catch(() => undefined);
  running = undefined;
});

describe('registration end to end (basic.yaml)', () => {
  it('registers alice and bob with IMS AKA; the capture holds the TS 24.228 §6.2 flow hop by hop', async () => {
    const { events, ok, failed } = await runBasic('register-only');
    expect(failed).toBeUndefined();
    expect(ok).toBe(true);
    if (!hasTshark) throw new Error('tshark is required for this test (apt-get install tshark)');

    const pcap = tempPcap(events, 'reg.pcap');
    const malformed = execFileSync('tshark', ['-r', pcap, '-Y', '_ws.malformed || _ws.expert.severity == error'], { encoding: 'utf8' });
    expect(malformed.trim()).toBe('');

    const steps: FlowStep[] = JSON.parse(readFileSync(FLOWS, 'utf8')).initial_registration;
    const rows = tsharkRows(pcap);
    // Every step of the checklist appears, in order (other traffic — bob, reg-event — may sit between).
    let at = 0;
    const found: Row[] = [];
    for (const step of steps) {
      while (at < rows.length && !matches(rows[at]!, step)) at++;
      expect(at, `flow step not found in order: ${step.from} → ${step.to} ${step.message}`).toBeLessThan(rows.length);
      found.push(rows[at]!);
      at++;
    }
    const [ue1, p1, , , i1, , , s401, , p401, ue2, p2, , , , , , s200, , p200] = found as Row[];
    // UE → P-CSCF, initial REGISTER (TS 24.229 §5.1.1.2.1).
    expect(ue1!.headers['Authorization']).toMatch(/response=""/);
    expect(ue1!.headers['Security-Client']).toMatch(/ipsec-3gpp/);
    expect(ue1!.headers['Supported']).toMatch(/path/);
    // P-CSCF → I-CSCF (§5.2.2): Path, Require: path, P-Visited-Network-ID, P-Charging-Vector added; sec-agree removed.
    expect(p1!.headers['Path']).toMatch(/127\.0\.1\.1/);
    expect(p1!.headers['Require']).toMatch(/path/);
    expect(p1!.headers['P-Visited-Network-ID']).not.toBe('');
    expect(p1!.headers['P-Charging-Vector']).toMatch(/icid-value/);
    expect(p1!.headers['Security-Client']).toBe('');
    expect(p1!.headers['Proxy-Require']).not.toMatch(/sec-agree/);
    expect(i1!.headers['Path']).toMatch(/127\.0\.1\.1/);
    // The 401 carries ck/ik toward the P-CSCF, which strips them and adds Security-Server (§5.2.2, TS 33.203 §7).
    expect(s401!.headers['WWW-Authenticate']).toMatch(/ck=/);
    expect(s401!.headers['WWW-Authenticate']).toMatch(/ik=/);
    expect(p401!.headers['WWW-Authenticate']).not.toMatch(/ck=|ik=/);
    expect(p401!.headers['Security-Server']).toMatch(/ipsec-3gpp/);
    // Second REGISTER: AKA response and Security-Verify; the P-CSCF marks it integrity-protected.
    expect(ue2!.headers['Authorization']).toMatch(/algorithm=AKAv1-MD5/i);
    expect(ue2!.headers['Security-Verify']).toBe(p401!.headers['Security-Server']);
    expect(p2!.headers['Authorization']).toMatch(/integrity-protected="yes"/);
    expect(p2!.headers['Security-Verify']).toBe('');
    // 200 OK: Service-Route and P-Associated-URI from the S-CSCF, delivered to the UE (§5.4.1.2.2).
    expect(s200!.headers['Service-Route']).toMatch(/127\.0\.3\.1/);
    expect(p200!.headers['P-Associated-URI']).toMatch(/alice/);
    expect(p200!.headers['Path']).toMatch(/127\.0\.1\.1/);
  });

  it('two runs with one seed give the same messages in the same order', async () => {
    const a = await runBasic('register-only', 42);
    const b = await runBasic('register-only', 42);
    expect(a.ok && b.ok).toBe(true);
    const sip = (events: TraceEvent[]) =>
      events
        .filter((e): e is Extract<TraceEvent, { type: 'packet' }> => e.type === 'packet' && e.protocol === 'sip')
        .map((e) => `${e.node} ${e.direction} ${e.bytes.toString('latin1').replace(/^Date:.*\r\n/gm, '')}`);
    expect(sip(a.events).length).toBeGreaterThan(10);
    expect(sip(b.events)).toEqual(sip(a.events));
  });
});
