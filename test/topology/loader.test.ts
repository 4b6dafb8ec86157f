import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTopology, parseTopology } from '../../src/topology/loader.js';
import { TopologyError } from '../../src/topology/errors.js';

const F = 'topologies/x.yaml';

/** The error lines a text produces, or a failure if it loads. */
function errorsOf(text: string, file = F): string[] {
  try {
    parseTopology(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(TopologyError);
    return (e as TopologyError).message.split('\n');
  }
  throw new Error('expected the topology to be rejected');
}

const HEAD = `name: t
domains: [ims.example.org]
`;
const CORE = `nodes:
  - { name: p1, kind: pcscf }
  - { name: i1, kind: icscf }
  - { name: s1, kind: scscf }
  - { name: h1, kind: hss }
`;

describe('topologies/basic.yaml', () => {
  const t = loadTopology('topologies/basic.yaml');

  it('has the four core nodes on their own loopback addresses and ports', () => {
    expect(t.domains).toEqual(['ims.mnc001.mcc001.3gppnetwork.org']);
    expect(t.nodes.map((n) => [n.name, n.kind, n.address])).toEqual([
      ['pcscf1', 'pcscf', '127.0.1.1'],
      ['icscf1', 'icscf', '127.0.2.1'],
      ['scscf1', 'scscf', '127.0.3.1'],
      ['hss1', 'hss', '127.0.4.1'],
    ]);
    expect(t.nodes[0]!.transports).toEqual({ udp: 5060, tcp: 5060, tls: 5061 });
    expect(t.nodes[3]!.transports).toEqual({ diameter: 3868 });
    const p = t.nodes[0]!;
    expect(p.kind === 'pcscf' && p.icscf).toEqual({ kind: 'node', name: 'icscf1' });
  });

  it('has alice and bob with IMS AKA credentials and their UEs', () => {
    expect(t.subscribers.map((s) => [s.impi, s.impus, s.schemes, s.amf])).toEqual([
      ['alice@ims.mnc001.mcc001.3gppnetwork.org', ['sip:alice@ims.mnc001.mcc001.3gppnetwork.org', 'tel:+15550001'], ['aka'], '8000'],
      ['bob@ims.mnc001.mcc001.3gppnetwork.org', ['sip:bob@ims.mnc001.mcc001.3gppnetwork.org', 'tel:+15550002'], ['aka'], '8000'],
    ]);
    expect(t.subscribers[0]!.k).toBe('465b5ce8b199b49faa5f0a2ee238a6bc');
    expect(t.ues.map((u) => [u.name, u.address, u.pcscf, u.auth, u.secAgree, u.expires])).toEqual([
      ['alice', '127.0.10.1', 'pcscf1', 'aka', true, 600],
      ['bob', '127.0.10.2', 'pcscf1', 'aka', true, 600],
    ]);
  });

  it('runs register, call, message and deregister by default, and has register-only', () => {
    expect(t.defaultScenario).toBe('default');
    expect(t.scenarios['default']!.map((s) => s.kind)).toEqual([
      'register', 'register', 'expect', 'call', 'message', 'expect', 'deregister', 'deregister', 'expect',
    ]);
    expect(t.scenarios['default']![3]).toEqual({ kind: 'call', from: 'alice', to: 'bob', durationMs: 2000 });
    expect(t.scenarios['register-only']!.map((s) => s.kind)).toEqual(['register', 'register', 'expect']);
  });

  it('digest.yaml loads with digest users and defaulted addresses', () => {
    const d = loadTopology('topologies/digest.yaml');
    expect(d.subscribers.every((s) => s.schemes.join() === 'digest')).toBe(true);
    expect(d.ues.map((u) => [u.address, u.transport, u.auth, u.secAgree])).toEqual([
      ['127.0.10.1', 'udp', 'digest', false],
      ['127.0.10.2', 'tcp', 'digest', false],
    ]);
    expect(d.nodes.map((n) => n.address)).toEqual(['127.0.1.1', '127.0.2.1', '127.0.3.1', '127.0.4.1']);
  });
});

describe('defaults', () => {
  it('gives several nodes of one kind .1, .2 … skipping explicit addresses, and resolves single references', () => {
    const t = parseTopology(
      HEAD +
        `nodes:
  - { name: p1, kind: pcscf }
  - { name: p2, kind: pcscf, address: 127.0.1.1 }
  - { name: p3, kind: pcscf }
  - { name: i1, kind: icscf }
  - { name: s1, kind: scscf }
  - { name: s2, kind: scscf, capabilities: [1, 2] }
  - { name: h1, kind: hss }
`,
      F,
    );
    expect(t.nodes.map((n) => n.address)).toEqual(['127.0.1.2', '127.0.1.1', '127.0.1.3', '127.0.2.1', '127.0.3.1', '127.0.3.2', '127.0.4.1']);
    const i1 = t.nodes[3]!;
    expect(i1.kind === 'icscf' && [i1.hss, i1.scscfs]).toEqual(['h1', ['s1', 's2']]);
    const s2 = t.nodes[5]!;
    expect(s2.kind === 'scscf' && s2.uri).toBe('sip:127.0.3.2:5060');
    expect(t.timers).toEqual({ T1: 500, T2: 4000, T4: 5000, Tw: 30000 });
    expect(t.seed).toBe(1);
  });

  it("an S-CSCF's default Server-Name names the transport it listens on when that is not UDP (RFC 3263 §4.1)", () => {
    const t = parseTopology(
      HEAD +
        `nodes:
  - { name: p1, kind: pcscf }
  - { name: i1, kind: icscf, transports: { tcp: 5060 } }
  - { name: s1, kind: scscf, transports: { tcp: 5070 } }
  - { name: s2, kind: scscf, transports: { tls: 5061 } }
  - { name: s3, kind: scscf, transports: { udp: 5080, tcp: 5080 } }
  - { name: h1, kind: hss }
`,
      F,
    );
    const uris = t.nodes.filter((n) => n.kind === 'scscf').map((n) => n.kind === 'scscf' && n.uri);
    expect(uris).toEqual(['sip:127.0.3.1:5070;transport=tcp', 'sips:127.0.3.2:5061', 'sip:127.0.3.3:5080']);
  });

  it('reads durations, percentages, SQN in hex and a loopback URI entry point', () => {
    const t = parseTopology(
      HEAD +
        `timers: { T1: 250ms, T2: 2s, Tw: 1m }
nodes:
  - { name: p1, kind: pcscf, icscf: "sip:[::1]:5070", impairment: { loss: 5%, delay: 20, jitter: 10ms } }
  - { name: h1, kind: hss }
subscribers:
  - { impi: a@ims.example.org, impus: [sip:a@ims.example.org], k: 465b5ce8b199b49faa5f0a2ee238a6bc, opc: CD63CB71954A9F4E48A5994E37A02BAF, sqn: "000000000020" }
`,
      F,
    );
    expect(t.timers).toEqual({ T1: 250, T2: 2000, T4: 5000, Tw: 60000 });
    const p = t.nodes[0]!;
    expect(p.kind === 'pcscf' && p.icscf).toEqual({ kind: 'uri', uri: 'sip:[::1]:5070', address: '::1', port: 5070 });
    expect(p.impairment).toEqual({ loss: 0.05, delayMs: 20, jitterMs: 10, duplicate: 0, reorder: 0 });
    expect(t.subscribers[0]!.sqn).toBe(32);
    expect(t.subscribers[0]!.opc).toBe('cd63cb71954a9f4e48a5994e37a02baf');
  });
});

describe('errors name file:line:column and the field', () => {
  it('unknown field, bad address, unknown kind — all reported at once', () => {
    expect(
      errorsOf(
        HEAD +
          `nodes:
  - name: p1
    kind: pcscf
  - name: i1
    kind: icscf
    adress: 127.0.2.9
  - name: s1
    kind: scscf
    address: 127.0.1
  - name: h1
    kind: hsss
`,
      ),
    ).toEqual([
      'topologies/x.yaml:8:5: nodes[1].adress: unknown field "adress" (did you mean "address"?)',
      'topologies/x.yaml:11:14: nodes[2].address: "127.0.1" is not an IPv4 or IPv6 address',
      'topologies/x.yaml:13:11: nodes[3].kind: "hsss" is not one of pcscf, icscf, scscf, hss, proxy, as (did you mean "hss"?)',
    ]);
  });

  it('a non-loopback address is refused', () => {
    expect(errorsOf(HEAD + `nodes:\n  - { name: p1, kind: pcscf, address: 10.0.0.1 }\n`)).toEqual([
      'topologies/x.yaml:4:39: nodes[0].address: "10.0.0.1" is not a loopback address (127.0.0.0/8 or ::1): imslab stays on this machine',
    ]);
  });

  it('a missing required field points at the mapping that lacks it', () => {
    expect(errorsOf(`name: t\nnodes:\n  - { name: h1, kind: hss }\n`)).toEqual(['topologies/x.yaml:1:1: domains: is required']);
    expect(errorsOf(HEAD + `nodes:\n  - name: p1\n    address: 127.0.1.1\n`)).toEqual([
      'topologies/x.yaml:4:5: nodes[0].kind: is required (one of pcscf, icscf, scscf, hss, proxy, as)',
    ]);
  });

  it('wrong types say what was expected and what was found', () => {
    expect(errorsOf(`name: 5\ndomains: ims\nnodes: []\ntimers: { T1: fast }\n`)).toEqual([
      'topologies/x.yaml:1:7: name: expected text, got the number 5',
      'topologies/x.yaml:2:10: domains: expected a list, got the text "ims"',
      'topologies/x.yaml:3:8: nodes: needs at least 1 item',
      'topologies/x.yaml:4:15: timers.T1: "fast" is not a duration (milliseconds, or "500ms", "2s", "1m")',
    ]);
  });

  it('YAML syntax errors carry their position', () => {
    const [line] = errorsOf(`name: x\nnodes: [\n`);
    expect(line).toMatch(/^topologies\/x\.yaml:3:1: YAML: /);
    expect(errorsOf(`name: x\nname: y\n`)[0]).toMatch(/^topologies\/x\.yaml:2:1: YAML: Map keys must be unique/);
    expect(errorsOf(``)).toEqual(['topologies/x.yaml:1:1: the file is empty']);
  });

  it('cross-references: unknown or wrong-kind node names, ambiguous defaults, port clashes', () => {
    expect(
      errorsOf(
        HEAD +
          `nodes:
  - { name: p1, kind: pcscf, icscf: s1 }
  - { name: p2, kind: pcscf, icscf: icsf1 }
  - { name: icscf1, kind: icscf, scscfs: [s1, s9] }
  - { name: s1, kind: scscf, address: 127.0.3.7 }
  - { name: s2, kind: scscf, address: 127.0.3.7 }
  - { name: h1, kind: hss }
  - { name: h2, kind: hss }
`,
      ),
    ).toEqual([
      'topologies/x.yaml:4:37: nodes[0].icscf: "s1" is an S-CSCF, not an I-CSCF',
      'topologies/x.yaml:5:37: nodes[1].icscf: unknown node "icsf1" (did you mean "icscf1"?)',
      'topologies/x.yaml:6:5: nodes[2]: "hss" is required: there are 2 HSS nodes to choose from',
      'topologies/x.yaml:6:47: nodes[2].scscfs[1]: unknown node "s9" (did you mean "s1"?)',
      'topologies/x.yaml:7:5: nodes[3]: "hss" is required: there are 2 HSS nodes to choose from',
      'topologies/x.yaml:8:5: nodes[4]: "hss" is required: there are 2 HSS nodes to choose from',
      'topologies/x.yaml:8:39: nodes[4].address: UDP 127.0.3.7:5060 is already used by s1',
      'topologies/x.yaml:8:39: nodes[4].address: TCP 127.0.3.7:5060 is already used by s1',
    ]);
  });

  it('an entry point URI must be on loopback', () => {
    expect(errorsOf(HEAD + `nodes:\n  - { name: p1, kind: pcscf, icscf: "sip:10.0.0.1:5060" }\n`)).toEqual([
      'topologies/x.yaml:4:37: nodes[0].icscf: "sip:10.0.0.1:5060" is not on loopback (127.0.0.0/8 or ::1): imslab stays on this machine',
    ]);
  });

  it('subscribers: key length, missing OP/OPc, missing password, duplicate IMPU, barred outside impus', () => {
    expect(
      errorsOf(
        HEAD +
          CORE +
          `subscribers:
  - impi: a@ims.example.org
    impus: [sip:a@ims.example.org]
    k: 465b5ce8b199b49faa5f0a2ee238a6bc
  - impi: b@ims.example.org
    impus: [sip:b@ims.example.org, sip:a@ims.example.org]
    auth: both
    k: 465b5ce8b199b49faa5f0a2ee238a6bc
    op: cdc202d5123e20f62b6d676ac72cb318
    barred: [tel:+1]
`,
      ),
    ).toEqual([
      'topologies/x.yaml:9:5: subscribers[0]: IMS AKA needs exactly one of "op" or "opc" (TS 35.206 §4.1)',
      'topologies/x.yaml:12:5: subscribers[1]: "password" is required for SIP digest (RFC 3261 §22.4)',
      'topologies/x.yaml:13:36: subscribers[1].impus[1]: "sip:a@ims.example.org" already belongs to subscribers[0]',
      'topologies/x.yaml:17:14: subscribers[1].barred[0]: "tel:+1" is not one of this subscriber\'s impus',
    ]);
    expect(errorsOf(HEAD + CORE + `subscribers:\n  - { impi: a@ims.example.org, impus: [sip:a@ims.example.org], k: 465b5ce8, op: x }\n`)).toEqual([
      'topologies/x.yaml:9:67: subscribers[0].k: "465b5ce8" is not 16 octets of hex (32 hex digits)',
      'topologies/x.yaml:9:81: subscribers[0].op: "x" is not 16 octets of hex (32 hex digits)',
    ]);
  });

  it('UEs: unknown subscriber, transport the P-CSCF lacks, auth the subscriber lacks', () => {
    expect(
      errorsOf(
        HEAD +
          `nodes:
  - { name: p1, kind: pcscf, transports: { udp: 5060 } }
  - { name: i1, kind: icscf }
  - { name: s1, kind: scscf }
  - { name: h1, kind: hss }
subscribers:
  - { impi: a@ims.example.org, impus: [sip:a@ims.example.org], auth: digest, password: pw }
ues:
  - { name: alice, subscriber: sip:b@ims.example.org }
  - { name: bob, subscriber: sip:a@ims.example.org, transport: tls, auth: aka }
`,
      ),
    ).toEqual([
      'topologies/x.yaml:11:32: ues[0].subscriber: no subscriber has the IMPI or IMPU "sip:b@ims.example.org" (did you mean "sip:a@ims.example.org"?)',
      'topologies/x.yaml:12:64: ues[1].transport: P-CSCF "p1" does not listen on TLS',
      'topologies/x.yaml:12:75: ues[1].auth: subscriber "a@ims.example.org" has no aka credentials',
    ]);
  });

  it('scenarios: unknown and planned step kinds, bad values, unknown UEs, two keys in one step', () => {
    const ues = `subscribers:
  - { impi: a@ims.example.org, impus: [sip:a@ims.example.org], password: pw }
ues:
  - { name: alice, subscriber: a@ims.example.org }
`;
    expect(
      errorsOf(
        HEAD +
          CORE +
          ues +
          `scenarios:
  default:
    - register: alice
    - transfer: alice
    - dance: 1
    - wait: 5 parsecs
    - { register: alice, wait: 1s }
    - call: { from: alice, to: bob, duration: 2s, codec: G729 }
`,
      ),
    ).toEqual([
      'topologies/x.yaml:15:17: scenarios.default[1].transfer: "transfer" is planned but not supported yet; known steps: register, deregister, hangup, wait, call, hold, resume, dtmf, message, expect, stop, start, restart',
      'topologies/x.yaml:16:14: scenarios.default[2].dance: "dance" is not a step; known steps: register, deregister, hangup, wait, call, hold, resume, dtmf, message, expect, stop, start, restart',
      'topologies/x.yaml:17:13: scenarios.default[3].wait: "5 parsecs" is not a duration (milliseconds, or "500ms", "2s", "1m")',
      'topologies/x.yaml:18:7: scenarios.default[4]: a step has exactly one key, found 2 (register, wait); start a new "- " item per step',
      'topologies/x.yaml:19:58: scenarios.default[5].call.codec: "G729" is not one of "PCMU", "PCMA", "AMR-WB", "opus"',
    ]);
    expect(
      errorsOf(
        HEAD +
          CORE +
          ues +
          `defaultScenario: main
scenarios:
  default:
    - register: alise
    - message: { from: alice, to: bob, text: hi }
    - message: { from: alice, to: "sip:bob@ims.example.org", text: hi }
    - expect: { registered: [alice, bob] }
`,
      ),
    ).toEqual([
      'topologies/x.yaml:12:18: defaultScenario: no scenario is named "main"',
      'topologies/x.yaml:15:17: scenarios.default[0].register: unknown UE "alise" (did you mean "alice"?)',
      'topologies/x.yaml:16:35: scenarios.default[1].message.to: unknown UE "bob"',
      'topologies/x.yaml:18:37: scenarios.default[3].expect.registered[1]: unknown UE "bob"',
    ]);
  });
});

describe('files named by the topology', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imslab-topo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves subscribersCsv and dataDir against the topology file and checks UEs against the CSV', () => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(
      join(dir, 'subs.csv'),
      'impi;impus;k;op\ncsv@ims.example.org;sip:csv@ims.example.org;465b5ce8b199b49faa5f0a2ee238a6bc;cdc202d5123e20f62b6d676ac72cb318\n',
    );
    const file = join(dir, 'net.yaml');
    writeFileSync(file, HEAD + `dataDir: data\nsubscribersCsv: subs.csv\n` + CORE + `ues:\n  - { name: u1, subscriber: sip:csv@ims.example.org }\n`);
    const t = loadTopology(file);
    expect(t.subscribersCsv).toBe(join(dir, 'subs.csv'));
    expect(t.dataDir).toBe(join(dir, 'data'));
    expect(t.ues[0]!.subscriber).toBe('sip:csv@ims.example.org');

    writeFileSync(file, HEAD + `subscribersCsv: subs.csv\n` + CORE + `ues:\n  - { name: u1, subscriber: sip:nobody@ims.example.org }\n`);
    expect(() => loadTopology(file)).toThrow(
      `${file}:10:29: ues[0].subscriber: no subscriber has the IMPI or IMPU "sip:nobody@ims.example.org", inline or in "${join(dir, 'subs.csv')}"`,
    );

    writeFileSync(join(dir, 'bad.csv'), 'impi;colour\na@x;red\n');
    writeFileSync(file, HEAD + `subscribersCsv: bad.csv\n` + CORE);
    expect(() => loadTopology(file)).toThrow(`${file}:3:17: subscribersCsv: bad subscriber file: ${join(dir, 'bad.csv')}:1: field "colour": unknown column`);

    writeFileSync(file, HEAD + `subscribersCsv: missing.csv\n` + CORE);
    expect(() => loadTopology(file)).toThrow(`${file}:3:17: subscribersCsv: "${join(dir, 'missing.csv')}" does not exist (paths are relative to the topology file)`);
  });

  it('a missing topology file is a TopologyError, not a crash', () => {
    expect(() => loadTopology(join(dir, 'nope.yaml'))).toThrow(`${join(dir, 'nope.yaml')}:1:1: cannot read the topology: no such file`);
  });
});
