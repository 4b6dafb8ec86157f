import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../fuzz/corpus/index.js';
import { diameterSeedMessages } from '../../fuzz/corpus/diameter.js';
import { generatorFor, InputGenerator } from '../../fuzz/generate.js';
import { BYTE_MUTATIONS, MAX_INPUT, type MutationContext } from '../../fuzz/mutate/bytes.js';
import { avpDuplicate, DIAMETER_MUTATIONS, depthBomb } from '../../fuzz/mutate/diameter.js';
import { contentLengthLie, lineFold, SIP_MUTATIONS, TEXT_MUTATIONS } from '../../fuzz/mutate/sip.js';
import { sipParse } from '../../fuzz/targets/sip.js';
import { liveSipUdp } from '../../fuzz/targets/live-sip.js';
import { DiameterDecodeError, decodeMessage, encodeMessage } from '../../src/diameter/codec.js';
import { parseMessage, SipParseError } from '../../src/sip/parser.js';
import { SeededRandom } from '../../src/util/random.js';

const corpus = loadCorpus({});

describe('seeds', () => {
  it('every shipped SIP seed is a valid message that round-trips, with its Content-Length set to the body', () => {
    expect(corpus.sip.length).toBeGreaterThanOrEqual(20);
    const run = sipParse.create({ seed: 's' }) as { execute(b: Buffer): boolean };
    for (const seed of corpus.sip) {
      const m = parseMessage(seed, { transport: 'stream' });
      expect(Number(m.headers.get('Content-Length'))).toBe(m.body.length);
      expect(run.execute(seed)).toBe(true);
    }
    // A registration as TS 24.228 §6.2 draws it is among them: REGISTER, 401 with AKA, protected REGISTER, 200.
    const starts = corpus.sip.map((b) => b.toString('latin1', 0, b.indexOf('\r\n')));
    expect(starts).toEqual(expect.arrayContaining(['REGISTER sip:ims.mnc001.mcc001.3gppnetwork.org SIP/2.0', 'SIP/2.0 401 Unauthorized', 'SIP/2.0 200 OK']));
    expect(corpus.uri.length).toBeGreaterThan(20);
    expect(corpus.sdp.length).toBeGreaterThanOrEqual(4);
  });

  it('every Diameter seed decodes and re-encodes to the same bytes: all six Cx commands, both directions, and the base ones', () => {
    const codes = new Set<string>();
    for (const seed of corpus.diameter) {
      const m = decodeMessage(seed);
      expect(encodeMessage(m).equals(seed)).toBe(true);
      codes.add(`${m.commandCode}${m.isRequest ? 'R' : 'A'}`);
    }
    for (const c of [257, 280, 282, 300, 301, 302, 303, 304, 305]) {
      expect(codes.has(`${c}R`), `${c} request`).toBe(true);
      expect(codes.has(`${c}A`), `${c} answer`).toBe(true);
    }
    expect(diameterSeedMessages()).toHaveLength(corpus.diameter.length);
  });

  it('live targets move every loopback address of the seeds into the fuzz range', () => {
    const moved = liveSipUdp.seeds!(corpus.sip);
    for (const b of moved) {
      const text = b.toString('latin1');
      expect(text.match(/127\.0\.\d+\.\d+/g)?.every((a) => a === '127.0.48.2') ?? true).toBe(true);
      expect(text).not.toContain('[::1]');
    }
  });
});

describe('the generator', () => {
  it('rebuilds input number i from (seed, target, index) alone, in any order', () => {
    const a = new InputGenerator(corpus.sip, 'sip', 'seed-a', 'sip-parse');
    const b = new InputGenerator(corpus.sip, 'sip', 'seed-a', 'sip-parse');
    const forward = Array.from({ length: 200 }, (_, i) => a.input(i));
    for (let i = 199; i >= 0; i--) expect(b.input(i).equals(forward[i]!)).toBe(true);
    // Another seed, or another target name, gives other inputs.
    const c = new InputGenerator(corpus.sip, 'sip', 'seed-b', 'sip-parse');
    const d = new InputGenerator(corpus.sip, 'sip', 'seed-a', 'sip-check');
    expect(forward.filter((x, i) => x.equals(c.input(i))).length).toBeLessThan(20);
    expect(forward.filter((x, i) => x.equals(d.input(i))).length).toBeLessThan(20);
  });

  it('mostly mutates: few inputs equal a seed, and a fair share still parses', () => {
    const g = generatorFor(sipParse, corpus.sip, 'mix');
    const seeds = new Set(corpus.sip.map((s) => s.toString('latin1')));
    let unchanged = 0;
    let parsed = 0;
    for (let i = 0; i < 1000; i++) {
      const x = g.input(i);
      if (seeds.has(x.toString('latin1'))) unchanged++;
      try {
        parseMessage(x);
        parsed++;
      } catch (e) {
        expect(e).toBeInstanceOf(SipParseError);
      }
    }
    expect(unchanged).toBeLessThan(80);
    expect(parsed).toBeGreaterThan(300);
    expect(parsed).toBeLessThan(950);
  });

  it('no mutation throws or grows an input past MAX_INPUT, on any seed', () => {
    const kinds = [
      { seeds: corpus.sip, list: [...SIP_MUTATIONS, ...BYTE_MUTATIONS] },
      { seeds: corpus.uri, list: TEXT_MUTATIONS },
      { seeds: corpus.sdp, list: TEXT_MUTATIONS },
      { seeds: corpus.diameter, list: DIAMETER_MUTATIONS },
    ];
    for (const { seeds, list } of kinds) {
      for (const [m, mutate] of list.entries()) {
        for (const [s, seed] of seeds.entries()) {
          for (let k = 0; k < 4; k++) {
            const r = new SeededRandom(`${m}/${s}/${k}`);
            const ctx: MutationContext = { other: () => seeds[r.int(seeds.length)]! };
            let out = mutate(seed, r, ctx);
            out = mutate(out, r, ctx); // stacked, as the generator does
            expect(Buffer.isBuffer(out)).toBe(true);
            expect(out.length).toBeLessThanOrEqual(MAX_INPUT + 3);
          }
        }
      }
    }
  });
});

describe('structure-aware mutations reach the checks they aim at', () => {
  const uar = corpus.diameter[6]!;

  it('a depth bomb keeps every length right, so only the nesting limit (5004, RFC 6733 §7.1.5) stops it', () => {
    expect(decodeMessage(uar).commandCode).toBe(300);
    const outcomes = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const bombed = depthBomb(uar, new SeededRandom(`bomb-${k}`), { other: () => uar });
      try {
        decodeMessage(bombed);
        outcomes.add('decoded');
      } catch (e) {
        expect(e).toBeInstanceOf(DiameterDecodeError);
        // Never a length error: the bomb's lengths are consistent at every level.
        outcomes.add(String((e as DiameterDecodeError).resultCode));
      }
    }
    expect([...outcomes].sort()).toEqual(['5004', 'decoded']);
  });

  it('a width bomb (thousands of copies of one AVP) stays a well-framed message', () => {
    let wide = 0;
    for (let k = 0; k < 300 && wide < 3; k++) {
      const out = avpDuplicate(uar, new SeededRandom(`wide-${k}`), { other: () => uar });
      if (out.length < uar.length * 10) continue;
      wide++;
      expect(out.readUIntBE(1, 3)).toBe(out.length);
      expect(() => decodeMessage(out)).not.toThrow();
    }
    expect(wide).toBe(3);
  });

  it('Content-Length lies and folding produce messages the parser must judge, not crash on', () => {
    const reg = corpus.sip[0]!;
    const reasons = new Set<string>();
    for (let k = 0; k < 300; k++) {
      const out = contentLengthLie(reg, new SeededRandom(`cl-${k}`), { other: () => reg });
      try {
        parseMessage(out, { transport: 'stream' });
        reasons.add('parsed');
      } catch (e) {
        expect(e).toBeInstanceOf(SipParseError);
        reasons.add((e as SipParseError).reason.replace(/["(].*$/, '').trim());
      }
    }
    expect(reasons).toEqual(new Set(['parsed', 'Body shorter than Content-Length', 'Bad Content-Length', 'Conflicting Content-Length values', 'Content-Length is mandatory over a stream transport']));
    const folded = lineFold(reg, new SeededRandom('fold-1'), { other: () => reg });
    expect(folded.toString('latin1')).toMatch(/\r\n[ \t]/);
  });
});
