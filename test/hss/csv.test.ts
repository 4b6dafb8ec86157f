import { describe, expect, it } from 'vitest';
import { CsvError, importSubscriberCsv, parseSubscriberCsv } from '../../src/hss/csv.js';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';

function error(fn: () => unknown): CsvError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CsvError) return e;
    throw e;
  }
  throw new Error('no error thrown');
}

describe('parseSubscriberCsv', () => {
  it('reads AKA and digest lines, extra IMPUs, barring, schemes and SQN', () => {
    const text = [
      'impi;impu;k;op;amf;sqn;password;barred',
      'alice@ims.lab;sip:alice@ims.lab,tel:+15550001;465b5ce8b199b49faa5f0a2ee238a6bc;cdc202d5123e20f62b6d676ac72cb318;b9b9;0x20;;tel:+15550001',
      '',
      '# a comment',
      'bob@ims.lab;sip:bob@ims.lab;;;;;bobpass;',
    ].join('\r\n');
    const subs = parseSubscriberCsv(text, 'users.csv');
    expect(subs).toHaveLength(2);
    const [alice, bob] = subs;
    expect(alice!.impus).toEqual([
      { uri: 'sip:alice@ims.lab', barred: false },
      { uri: 'tel:+15550001', barred: true },
    ]);
    expect(alice!.k!.toString('hex')).toBe('465b5ce8b199b49faa5f0a2ee238a6bc');
    expect(alice!.op!.toString('hex')).toBe('cdc202d5123e20f62b6d676ac72cb318');
    expect(alice!.amf.toString('hex')).toBe('b9b9');
    expect(alice!.sqn).toBe(0x20n);
    expect(alice!.authSchemes).toEqual(['AKAv1-MD5', 'AKAv2-MD5']);
    expect(bob!.authSchemes).toEqual(['SIP Digest']);
    expect(bob!.password).toBe('bobpass');
    expect(bob!.amf.toString('hex')).toBe('8000');
    expect(bob!.allowedVisitedNetworks).toEqual([]);
  });

  it('accepts a SIPp injection file: mode line, #-prefixed column line, keys as 16 characters, ignored x_ columns', () => {
    const text = ['SEQUENTIAL', '#impi;impu;k;op;amf;x_port', 'carol@ims.lab;sip:carol@ims.lab;0123456789abcdef;fedcba9876543210;00;5060;'].join('\n');
    const [carol] = parseSubscriberCsv(text, 'sipp.csv');
    expect(carol!.k!.toString('hex')).toBe('30313233343536373839616263646566');
    expect(carol!.op!.toString('hex')).toBe(Buffer.from('fedcba9876543210').toString('hex'));
    expect(carol!.amf.toString('hex')).toBe('3030');
  });

  it('takes explicit schemes, OPc and allowed visited networks', () => {
    const text = 'impi;impus;k;opc;scheme;visited\ndan@ims.lab;sip:dan@ims.lab;465b5ce8b199b49faa5f0a2ee238a6bc;cd63cb71954a9f4e48a5994e37a02baf;Digest-AKAv1-MD5;visited.example,*\n';
    const [dan] = parseSubscriberCsv(text, 'f.csv');
    expect(dan!.authSchemes).toEqual(['AKAv1-MD5']);
    expect(dan!.opc!.toString('hex')).toBe('cd63cb71954a9f4e48a5994e37a02baf');
    expect(dan!.allowedVisitedNetworks).toEqual(['visited.example', '*']);
  });

  it.each([
    ['bad hex length', 'impi;impu;k;op\na@x.lab;sip:a@x.lab;465b5ce8b199b4;cdc202d5123e20f62b6d676ac72cb318', 2, 'k', /32 hex digits/],
    ['non-hex key', 'impi;impu;k;op\na@x.lab;sip:a@x.lab;zz5b5ce8b199b49faa5f0a2ee238a6bc;cdc202d5123e20f62b6d676ac72cb318', 2, 'k', /hex/],
    ['missing impi', 'impi;impu;password\n;sip:a@x.lab;pw', 2, 'impi', /missing/],
    ['impi not an NAI', 'impi;impu;password\nalice;sip:a@x.lab;pw', 2, 'impi', /user@realm/],
    ['unknown column', 'impi;impu;pasword\na@x.lab;sip:a@x.lab;pw', 1, 'pasword', /unknown column/],
    ['bad impu', 'impi;impu;password\na@x.lab;alice@x.lab;pw', 2, 'impu', /sip:, sips: or tel:/],
    ['no credentials', 'impi;impu\na@x.lab;sip:a@x.lab', 2, 'k', /no credentials/],
    ['AKA without OP', 'impi;impu;k\na@x.lab;sip:a@x.lab;465b5ce8b199b49faa5f0a2ee238a6bc', 2, 'op', /OP or OPc/],
    ['bad sqn', 'impi;impu;password;sqn\na@x.lab;sip:a@x.lab;pw;1234567890abc', 2, 'sqn', /12 hex digits/],
    ['unknown scheme', 'impi;impu;password;scheme\na@x.lab;sip:a@x.lab;pw;CHAP', 2, 'scheme', /unknown scheme/],
    ['digest scheme without password', 'impi;impu;k;op;scheme\na@x.lab;sip:a@x.lab;465b5ce8b199b49faa5f0a2ee238a6bc;cdc202d5123e20f62b6d676ac72cb318;SIP Digest', 2, 'password', /password/],
    ['too many fields', 'impi;impu;password\na@x.lab;sip:a@x.lab;pw;extra;more', 2, undefined, /3/],
    ['duplicate impi', 'impi;impu;password\na@x.lab;sip:a@x.lab;pw\n\na@x.lab;sip:a2@x.lab;pw', 4, 'impi', /line 2/],
    ['duplicate impu', 'impi;impu;password\na@x.lab;sip:a@x.lab;pw\nb@x.lab;SIP:a@X.lab;pw', 3, 'impu', /line 2/],
    ['barred not listed', 'impi;impu;password;barred\na@x.lab;sip:a@x.lab;pw;sip:b@x.lab', 2, 'barred', /not one of/],
  ])('%s: names file, line and field', (_label, text, line, field, reason) => {
    const e = error(() => parseSubscriberCsv(text, 'bad.csv'));
    expect(e.file).toBe('bad.csv');
    expect(e.line).toBe(line);
    expect(e.field).toBe(field);
    expect(e.reason).toMatch(reason);
    expect(e.message).toMatch(new RegExp(`^bad\\.csv:${line}: `));
  });

  it('rejects an empty file and a file without an impi column', () => {
    expect(error(() => parseSubscriberCsv('\n\n', 'e.csv')).message).toMatch(/empty file/);
    expect(error(() => parseSubscriberCsv('RANDOM\nimpu;password\n', 'e.csv')).field).toBe('impi');
  });
});

describe('importSubscriberCsv', () => {
  it('is all-or-nothing: a bad line or a clash with the store imports nothing', () => {
    const store = new MemorySubscriberStore();
    const good = 'impi;impu;password\na@x.lab;sip:a@x.lab;pw\nb@x.lab;sip:b@x.lab;pw\n';
    expect(importSubscriberCsv(store, good, 'good.csv')).toHaveLength(2);
    const badLine = 'impi;impu;password\nc@x.lab;sip:c@x.lab;pw\nd@x.lab;sip:d@x.lab;\n';
    expect(() => importSubscriberCsv(store, badLine, 'bad.csv')).toThrow(/bad\.csv:3: field "password"/);
    const clash = 'impi;impu;password\ne@x.lab;sip:e@x.lab;pw\nf@x.lab;sip:a@x.lab;pw\n';
    expect(() => importSubscriberCsv(store, clash, 'clash.csv')).toThrow(/clash\.csv:3: field "impu": public identity sip:a@x.lab already belongs to a@x.lab/);
    expect(store.list().map((s) => s.impi)).toEqual(['a@x.lab', 'b@x.lab']);
  });

  it('re-importing keeps the stored SQN unless the file gives one', () => {
    const store = new MemorySubscriberStore();
    const text = 'impi;impu;k;op\na@x.lab;sip:a@x.lab;465b5ce8b199b49faa5f0a2ee238a6bc;cdc202d5123e20f62b6d676ac72cb318\n';
    importSubscriberCsv(store, text, 'u.csv');
    store.nextSqn('a@x.lab', (q) => q + 64n);
    importSubscriberCsv(store, text, 'u.csv');
    expect(store.get('a@x.lab')!.sqn).toBe(64n);
    importSubscriberCsv(store, text.replace('k;op', 'k;op;sqn').replace('cb318\n', 'cb318;ff\n'), 'u.csv');
    expect(store.get('a@x.lab')!.sqn).toBe(0xffn);
  });
});
