import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateVector } from '../../src/aka/vector.js';
import { computeOpc, Milenage } from '../../src/aka/milenage.js';
import { akaPassword, computeDigestResponse, encodeAkaNonce } from '../../src/sip/auth/digest.js';
import { formatCredentials } from '../../src/sip/auth/credentials.js';
import { vectorPath } from '../helpers/vectors.js';

const BIN = fileURLToPath(new URL('../../bin/imslab.mjs', import.meta.url));
const shared = JSON.parse(readFileSync(vectorPath('milenage.json'), 'utf8')) as {
  sets: Array<Record<string, string>>;
  extra_examples: Array<Record<string, string>>;
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function imslab(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs CLI invocations a few at a time: each is a whole Node start-up, and twenty at once swamp 2 cores. */
async function inBatches(calls: (() => Promise<Run>)[], width = 4): Promise<Run[]> {
  const out: Run[] = [];
  for (let i = 0; i < calls.length; i += width) out.push(...(await Promise.all(calls.slice(i, i + width).map((c) => c()))));
  return out;
}

describe('imslab aka (through the real CLI)', () => {
  it('milenage reproduces every published set byte for byte, from OP and from OPc', { timeout: 120_000 }, async () => {
    const runs = await inBatches(
      shared.sets.flatMap((s) => [
        () => imslab('aka', 'milenage', '--k', s.K!, '--op', s.OP!, '--rand', s.RAND!, '--sqn', s.SQN!, '--amf', s.AMF!),
        () => imslab('aka', 'milenage', '--k', s.K!, '--opc', s.OPc!, '--rand', s.RAND!, '--sqn', s.SQN!, '--amf', s.AMF!),
      ]),
    );
    shared.sets.forEach((s, i) => {
      for (const run of [runs[2 * i]!, runs[2 * i + 1]!]) {
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toEqual({
          opc: s.OPc,
          mac_a: s.f1_MAC_A,
          mac_s: s.f1star_MAC_S,
          res: s.f2_RES,
          ck: s.f3_CK,
          ik: s.f4_IK,
          ak: s.f5_AK,
          ak_star: s.f5star_AK_resync,
          autn: s.derived_AUTN,
        });
      }
    });
  });

  it('auts and resync reproduce the published resync example', async () => {
    const x = shared.extra_examples.find((e) => e.id === 'wmnsk-normal')!;
    const keys = ['--k', x.K!, '--op', x.OP!, '--rand', x.RAND!];
    const auts = await imslab('aka', 'auts', ...keys, '--sqn-ms', '000000000001');
    expect(JSON.parse(auts.stdout)).toEqual({ auts: x.AUTS_for_SQN_MS_000000000001 });
    const ok = await imslab('aka', 'resync', ...keys, '--auts', x.AUTS_for_SQN_MS_000000000001!);
    expect(JSON.parse(ok.stdout)).toEqual({ sqn_ms: '000000000001', valid: true });
    const bad = await imslab('aka', 'resync', ...keys, '--auts', x.AUTS_for_SQN_MS_000000000001!.replace(/.$/, '0'));
    expect(JSON.parse(bad.stdout).valid).toBe(false);
  });

  it('vector: SIPp-style text keys give the hex-key result, and the nonce carries RAND‖AUTN', async () => {
    const rand = '00112233445566778899aabbccddeeff';
    const text = await imslab('aka', 'vector', '--k-text', '0123456789abcdef', '--op-text', 'fedcba9876543210', '--amf-text', 'AB', '--sqn', '000000000021', '--rand', rand);
    const k = Buffer.from('0123456789abcdef');
    const expected = generateVector({ k, opc: computeOpc(k, Buffer.from('fedcba9876543210')), sqn: 0x21, amf: Buffer.from('AB'), rand: Buffer.from(rand, 'hex') });
    expect(text.code).toBe(0);
    const out = JSON.parse(text.stdout);
    expect(out).toEqual({
      rand,
      xres: expected.xres.toString('hex'),
      ck: expected.ck.toString('hex'),
      ik: expected.ik.toString('hex'),
      autn: expected.autn.toString('hex'),
      nonce: encodeAkaNonce(expected),
    });
    const hexRun = await imslab('aka', 'vector', '--k', k.toString('hex'), '--op', Buffer.from('fedcba9876543210').toString('hex'), '--amf', '4142', '--sqn', '000000000021', '--rand', rand);
    expect(JSON.parse(hexRun.stdout)).toEqual(out);
  });

  it('doctor: diagnoses OP used as OPc from an Authorization header, exit 1; a right answer exits 0', async () => {
    const s = shared.sets[1]!;
    const k = Buffer.from(s.K!, 'hex');
    const op = Buffer.from(s.OP!, 'hex');
    const v = generateVector({ k, opc: computeOpc(k, op), sqn: 0x41, amf: Buffer.from('8000', 'hex'), rand: Buffer.alloc(16, 0x5a) });
    const nonce = encodeAkaNonce(v);
    const p = { username: 'alice@ims.example', realm: 'ims.example', uri: 'sip:ims.example', method: 'REGISTER', nonce, nc: '00000001', cnonce: 'c0ffee', qop: 'auth' as const, algorithm: 'AKAv1-MD5' };
    const wrong = computeDigestResponse({ ...p, password: akaPassword(1, new Milenage(k, op).f2345(v.rand).res) });
    const header = formatCredentials([
      ['username', p.username],
      ['realm', p.realm],
      ['nonce', nonce],
      ['uri', p.uri],
      ['response', wrong],
      ['algorithm', p.algorithm],
      ['qop', 'auth'],
      ['nc', p.nc],
      ['cnonce', p.cnonce],
    ]);
    const d = await imslab('aka', 'doctor', '--nonce', nonce, '--authorization', header, '--k', s.K!, '--op', s.OP!, '--amf', '8000');
    expect(d.code).toBe(1);
    const out = JSON.parse(d.stdout);
    expect(out.verdict).toBe('op-used-as-opc');
    expect(out.explanation).toContain(s.OPc);

    const right = computeDigestResponse({ ...p, password: akaPassword(1, v.xres) });
    const ok = await imslab('aka', 'doctor', '--nonce', nonce, '--response', right, '--username', p.username, '--realm', p.realm, '--uri', p.uri, '--nc', p.nc, '--cnonce', p.cnonce, '--qop', 'auth', '--k', s.K!, '--op', s.OP!, '--amf', '8000');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).verdict).toBe('ok');

    const raw = await imslab('aka', 'doctor', '--nonce', nonce, '--res', v.xres.toString('hex'), '--k', s.K!, '--opc', s.OPc!, '--amf', '8000');
    expect(JSON.parse(raw.stdout).verdict).toBe('ok');
  });

  it('bad input: one stderr line naming the field, exit 2, nothing on stdout', { timeout: 120_000 }, async () => {
    const s = shared.sets[0]!;
    const base = ['--rand', s.RAND!, '--sqn', s.SQN!, '--amf', s.AMF!];
    const cases: Array<[string[], RegExp]> = [
      [['aka', 'milenage', '--k', s.K!.slice(2), '--op', s.OP!, ...base], /--k: expected 16 octets/],
      [['aka', 'milenage', '--k', s.K!, '--op', 'xyz', ...base], /--op: not an even-length hex string/],
      [['aka', 'milenage', '--k', s.K!, ...base], /exactly one of --op, --op-text, --opc/],
      [['aka', 'milenage', '--k', s.K!, '--op', s.OP!, '--opc', s.OPc!, ...base], /exactly one of/],
      [['aka', 'milenage', '--k', s.K!, '--op', s.OP!, '--rand', s.RAND!, '--sqn', '00', '--amf', s.AMF!], /--sqn: expected 6 octets/],
      [['aka', 'milenage', '--k', s.K!, '--op', s.OP!, '--sqn', s.SQN!, '--amf', s.AMF!], /--rand is required/],
      [['aka', 'vector', '--k-text', 'short', '--op', s.OP!, '--sqn', s.SQN!, '--amf', s.AMF!], /--k-text: expected exactly 16 characters/],
      [['aka', 'resync', '--k', s.K!, '--op', s.OP!, '--rand', s.RAND!, '--auts', 'abcd'], /--auts: expected 14 octets/],
      [['aka', 'doctor', '--nonce', 'AAAA', '--res', '00', '--k', s.K!, '--op', s.OP!, '--amf', '8000'], /nonce: .*32 octets/],
      [['aka', 'doctor', '--nonce', 'AAAA', '--k', s.K!, '--op', s.OP!, '--amf', '8000'], /--authorization, --response/],
      [['aka', 'doctor', '--nonce', 'AAAA', '--authorization', 'Digest realm="x', '--k', s.K!, '--op', s.OP!, '--amf', '8000'], /unterminated/],
    ];
    const runs = await inBatches(cases.map(([args]) => () => imslab(...args)));
    runs.forEach((run, i) => {
      expect(run.code, cases[i]![0].join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(cases[i]![1]);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    });
  });
});
