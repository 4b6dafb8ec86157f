import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CX_APPLICATION_ID, CX_EXPERIMENTAL_RESULT_CODES, VENDOR_ID_3GPP, defaultDictionary } from '../../src/diameter/dictionary/index.js';
import { ExperimentalResultCode } from '../../src/diameter/cx/constants.js';
import { vectorPath } from '../helpers/vectors.js';

interface JsonAvp {
  name: string;
  code: number;
  vendor_id: number;
  type: string;
  flags_must: string[];
  flags_may: string[];
  flags_must_not: string[];
}
interface JsonCommand {
  code: number;
  name: string;
  request: string;
  answer: string;
  request_required: string[];
  request_optional: string[];
  answer_avps: string[];
}
const json = JSON.parse(readFileSync(vectorPath('cx_dictionary.json'), 'utf8')) as {
  application: { auth_application_id: number; vendor_id: number };
  commands: JsonCommand[];
  cx_avps: JsonAvp[];
  base_avps_used: { name: string; code: number; type: string; vendor_id: number; flags: string }[];
  enumerations: Record<string, Record<string, string>>;
  experimental_result_codes: { success_2xxx: Record<string, string>; permanent_failure_5xxx: Record<string, string> };
};

/** "Session-Id (first)", "*Public-Identity", "[User-Data]", "*[Failed-AVP]" → the AVP name. */
function bare(s: string): string {
  return s.replace(/\(.*\)/, '').replace(/[*[\]{}<>]/g, '').trim();
}

describe('Cx dictionary against cx_dictionary.json', () => {
  it('has the application and vendor ids', () => {
    expect(CX_APPLICATION_ID).toBe(json.application.auth_application_id);
    expect(VENDOR_ID_3GPP).toBe(json.application.vendor_id);
  });

  for (const a of json.cx_avps) {
    it(`AVP ${a.code} ${a.name}: type and flag rules`, () => {
      const d = defaultDictionary.avp(a.code, a.vendor_id);
      expect(d, `${a.name} missing`).toBeDefined();
      expect(d!.name).toBe(a.name);
      expect(d!.type).toBe(a.type);
      expect([...d!.must].sort()).toEqual([...a.flags_must].sort());
      expect([...d!.mustNot].sort()).toEqual([...a.flags_must_not].sort());
      for (const may of a.flags_may) {
        expect(d!.must).not.toContain(may);
        expect(d!.mustNot).not.toContain(may);
      }
    });
  }

  it('has every base AVP Cx uses, with type and M flag', () => {
    for (const a of json.base_avps_used) {
      const d = defaultDictionary.avp(a.code, 0);
      expect(d, a.name).toBeDefined();
      expect(d!.name).toBe(a.name);
      expect(d!.type).toBe(a.type);
      expect(d!.must.includes('M')).toBe(a.flags.includes('M'));
    }
  });

  for (const c of json.commands) {
    it(`command ${c.code} ${c.request}/${c.answer}: AVP rules`, () => {
      const d = defaultDictionary.command(c.code, CX_APPLICATION_ID);
      expect(d).toBeDefined();
      expect(d!.name).toBe(c.name);
      expect(d!.requestAbbrev).toBe(c.request);
      expect(d!.answerAbbrev).toBe(c.answer);
      expect(d!.proxiable).toBe(true);
      const required = d!.request.filter((r) => r.required).map((r) => r.name);
      expect(required.sort()).toEqual(c.request_required.map(bare).sort());
      expect(d!.request[0]).toMatchObject({ name: 'Session-Id', first: true });
      const optional = d!.request.filter((r) => !r.required).map((r) => r.name);
      for (const o of c.request_optional) expect(optional).toContain(bare(o));
      for (const o of c.request_optional.filter((x) => x.startsWith('*'))) {
        expect(d!.request.find((r) => r.name === bare(o))!.repeated).toBe(true);
      }
      const answer = d!.answer.map((r) => r.name);
      for (const o of c.answer_avps) expect(answer).toContain(bare(o));
    });
  }

  it('has the enumerations', () => {
    for (const [key, values] of Object.entries(json.enumerations)) {
      const code = Number(/\((\d+)/.exec(key)![1]);
      const d = defaultDictionary.avp(code, code >= 600 ? VENDOR_ID_3GPP : 0)!;
      expect(d, key).toBeDefined();
      for (const [v, name] of Object.entries(values)) {
        const n = /^bit(\d+)/.exec(v) ? 1 << Number(/^bit(\d+)/.exec(v)![1]) : Number(v);
        const expected = name.split(' ')[0]!;
        expect(d.values?.[n], `${key} ${v}`).toBeDefined();
        if (!/^bit/.test(v)) expect(d.values![n]).toBe(expected);
      }
    }
  });

  it('has the Experimental-Result-Code values, as data and as constants', () => {
    const all = { ...json.experimental_result_codes.success_2xxx, ...json.experimental_result_codes.permanent_failure_5xxx };
    for (const [code, name] of Object.entries(all)) {
      const bareName = name.split(' ')[0]!;
      expect(CX_EXPERIMENTAL_RESULT_CODES[Number(code)]).toBe(bareName);
      expect((ExperimentalResultCode as Record<string, number>)[bareName]).toBe(Number(code));
    }
    expect(Object.keys(CX_EXPERIMENTAL_RESULT_CODES).length).toBe(Object.keys(all).length);
  });
});
