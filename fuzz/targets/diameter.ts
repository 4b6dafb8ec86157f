/**
 * In-process Diameter targets: the message codec (RFC 6733 §3, §4), TCP framing (§3), the typed Cx decoders
 * (TS 29.229 §6.1), capabilities and request validation (§5.3, §6.1, §7), and the HSS's Cx procedures
 * (TS 29.228 §6), which promise that nothing a peer sends can throw out of `handle`.
 */
import { Avp, DiameterValueError } from '../../src/diameter/avp.js';
import { readPeerIdentity } from '../../src/diameter/capabilities.js';
import { DiameterDecodeError, decodeMessage, encodeMessage } from '../../src/diameter/codec.js';
import {
  LocationInfoAnswer,
  LocationInfoRequest,
  MultimediaAuthAnswer,
  MultimediaAuthRequest,
  PushProfileAnswer,
  PushProfileRequest,
  RegistrationTerminationAnswer,
  RegistrationTerminationRequest,
  ServerAssignmentAnswer,
  ServerAssignmentRequest,
  UserAuthorizationAnswer,
  UserAuthorizationRequest,
} from '../../src/diameter/cx/index.js';
import { defaultDictionary } from '../../src/diameter/dictionary/index.js';
import { DiameterFramer, DiameterFramingError } from '../../src/diameter/framing.js';
import type { DiameterMessage } from '../../src/diameter/message.js';
import { checkRequest, errorAnswer, salvageSessionId } from '../../src/diameter/validation.js';
import { HssCxServer } from '../../src/hss/cx-server.js';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import type { Subscriber } from '../../src/hss/subscriber.js';
import { TraceBus } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { FUZZ_REALM } from '../corpus/diameter.js';
import { PropertyViolation, type FuzzTarget } from '../types.js';
import { inputHash } from './sip.js';

export const diameterDecode: FuzzTarget = {
  name: 'diameter-decode',
  description: 'decodeMessage and the message getters; what decodes must encode, decode again and encode to the same bytes',
  corpus: 'diameter',
  live: false,
  expected: [DiameterDecodeError, DiameterValueError],
  create: () => ({
    execute(input) {
      const m = decodeMessage(input);
      const b1 = encodeMessage(m);
      let m2: DiameterMessage;
      try {
        m2 = decodeMessage(b1);
      } catch (e) {
        if (e instanceof DiameterDecodeError) throw new PropertyViolation(`command ${m.commandCode} decoded, its re-encoding does not: ${e.message}`);
        throw e;
      }
      const b2 = encodeMessage(m2);
      if (!b1.equals(b2)) throw new PropertyViolation(`command ${m.commandCode}: encode(decode(encode(m))) differs from encode(m)`);
      // The getters read typed values from raw AVPs: DiameterValueError is their documented "no".
      void m.sessionId;
      void m.originHost;
      void m.originRealm;
      void m.experimentalResult;
      void m.resultCode;
      return true;
    },
    close() {},
  }),
};

export const diameterFramer: FuzzTarget = {
  name: 'diameter-framer',
  description: 'DiameterFramer fed whole and in random chunks must cut the same messages (or fail the same way); each message then goes to decodeMessage',
  corpus: 'diameter',
  live: false,
  expected: [DiameterDecodeError, DiameterFramingError],
  create: () => ({
    execute(input) {
      const r = new SeededRandom(inputHash(input));
      const stream = r.float() < 0.3 ? Buffer.concat([input, input]) : input;
      const run = (chunks: Buffer[]) => {
        const framer = new DiameterFramer();
        const out: Buffer[] = [];
        let error: string | undefined;
        try {
          // Messages may be views into the chunk: copy them, as a consumer that keeps them would.
          for (const c of chunks) framer.push(c, (msg) => out.push(Buffer.from(msg)));
        } catch (e) {
          if (!(e instanceof DiameterFramingError)) throw e;
          error = e.message;
        }
        return { out, error };
      };
      const whole = run([stream]);
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; ) {
        const n = 1 + r.int(r.float() < 0.5 ? 8 : 1024);
        chunks.push(stream.subarray(i, i + n));
        i += n;
      }
      const parts = run(chunks);
      if (whole.error !== parts.error) throw new PropertyViolation(`framing failure depends on chunking: ${whole.error ?? 'none'} whole, ${parts.error ?? 'none'} in chunks`);
      if (whole.out.length !== parts.out.length) throw new PropertyViolation(`framing depends on chunking: ${whole.out.length} messages whole, ${parts.out.length} in chunks`);
      whole.out.forEach((b, i) => {
        if (!b.equals(parts.out[i]!)) throw new PropertyViolation(`framed message ${i} differs with chunking`);
      });
      let accepted = false;
      for (const b of whole.out) {
        try {
          decodeMessage(b);
          accepted = true;
        } catch (e) {
          if (!(e instanceof DiameterDecodeError)) throw e;
        }
      }
      return accepted;
    },
    close() {},
  }),
};

interface Codec {
  name: string;
  decode(m: DiameterMessage): object;
  encode(x: never): DiameterMessage;
}

const CODECS: readonly Codec[] = [
  { name: 'UAR', ...UserAuthorizationRequest },
  { name: 'UAA', ...UserAuthorizationAnswer },
  { name: 'SAR', ...ServerAssignmentRequest },
  { name: 'SAA', ...ServerAssignmentAnswer },
  { name: 'LIR', ...LocationInfoRequest },
  { name: 'LIA', ...LocationInfoAnswer },
  { name: 'MAR', ...MultimediaAuthRequest },
  { name: 'MAA', ...MultimediaAuthAnswer },
  { name: 'RTR', ...RegistrationTerminationRequest },
  { name: 'RTA', ...RegistrationTerminationAnswer },
  { name: 'PPR', ...PushProfileRequest },
  { name: 'PPA', ...PushProfileAnswer },
] as unknown as Codec[];

/** Typed objects compared as JSON, Buffers as hex. */
function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return `hex:${Buffer.from((v as { data: number[] }).data).toString('hex')}`;
    }
    return v;
  });
}

const ID = { originHost: 'fuzz.ims.lab', originRealm: FUZZ_REALM };

export const cxDecode: FuzzTarget = {
  name: 'cx-decode',
  description: 'every typed Cx decoder on every decodable message, readPeerIdentity, checkRequest, salvageSessionId, errorAnswer; decode → encode → decode must give the same object',
  corpus: 'diameter',
  live: false,
  expected: [DiameterDecodeError, DiameterValueError],
  create: () => ({
    execute(input) {
      void salvageSessionId(input);
      const m = decodeMessage(input);
      let accepted = false;
      for (const c of CODECS) {
        let typed: object;
        try {
          typed = c.decode(m);
        } catch (e) {
          if (e instanceof DiameterDecodeError || e instanceof DiameterValueError) continue;
          throw e;
        }
        accepted = true;
        const again = c.decode(decodeMessage(encodeMessage(c.encode(typed as never))));
        if (canonical(again) !== canonical(typed)) throw new PropertyViolation(`${c.name}: decode → encode → decode changed ${canonical(typed).slice(0, 200)} into ${canonical(again).slice(0, 200)}`);
      }
      try {
        readPeerIdentity(m);
      } catch (e) {
        if (!(e instanceof DiameterValueError)) throw e;
      }
      const def = defaultDictionary.command(m.commandCode, m.applicationId);
      const problem = def ? checkRequest(m, def, defaultDictionary) : undefined;
      const failed = problem?.failedAvp ?? m.avps[0] ?? new Avp(1, 0x40, 0, Buffer.alloc(0));
      encodeMessage(errorAnswer(m, problem?.resultCode ?? 5012, ID, failed, 'fuzz'));
      return accepted;
    },
    close() {},
  }),
};

/** Subscribers the HSS knows during the fuzz run: one AKA, one digest, one barred, sharing the seeds' realm. */
export function fuzzSubscribers(): Subscriber[] {
  const base = { amf: Buffer.from('8000', 'hex'), sqn: 0x20n, allowedVisitedNetworks: [] as string[] };
  return [
    {
      ...base,
      impi: 'alice@ims.lab',
      impus: [{ uri: 'sip:alice@ims.lab', barred: false }, { uri: 'tel:+15550001', barred: false }],
      authSchemes: ['AKAv1-MD5'],
      k: Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex'),
      op: Buffer.from('cdc202d5123e20f62b6d676ac72cb318', 'hex'),
    },
    { ...base, impi: 'bob@ims.lab', impus: [{ uri: 'sip:bob@ims.lab', barred: false }], authSchemes: ['SIP Digest'], password: 'bobpass' },
    { ...base, impi: 'eve@ims.lab', impus: [{ uri: 'sip:eve@ims.lab', barred: true }], authSchemes: ['AKAv1-MD5', 'SIP Digest'], password: 'x', k: Buffer.alloc(16, 1), op: Buffer.alloc(16, 2) },
  ] as Subscriber[];
}

export const hssHandle: FuzzTarget = {
  name: 'hss-handle',
  description: 'HssCxServer.handle (memory store) on every decodable request: never throws, always an encodable answer with the request\'s identifiers, no error notes',
  corpus: 'diameter',
  live: false,
  expected: [DiameterDecodeError],
  create: ({ seed }) => {
    const clock = new FakeClock();
    const trace = new TraceBus(clock);
    const errors: string[] = [];
    const sub = trace.events$.subscribe((e) => {
      if (e.type === 'note' && e.level === 'error') errors.push(e.text);
    });
    const store = new MemorySubscriberStore();
    for (const s of fuzzSubscribers()) store.put(s);
    const hss = new HssCxServer({ store, random: new SeededRandom(`${seed}/hss`), trace }, { name: 'hss', originHost: 'hss.ims.lab', originRealm: FUZZ_REALM, homeNetworks: [FUZZ_REALM] });
    return {
      execute(input) {
        const req = decodeMessage(input);
        const answer = hss.handle(req);
        if (answer.hopByHop !== req.hopByHop || answer.endToEnd !== req.endToEnd) throw new PropertyViolation('answer identifiers differ from the request (RFC 6733 §6.2)');
        encodeMessage(answer);
        if (errors.length) throw new PropertyViolation(`the HSS noted an error: ${errors.splice(0).join('; ')}`);
        return answer.resultCode === 2001 || answer.experimentalResult !== undefined;
      },
      close() {
        sub.unsubscribe();
        store.close();
      },
    };
  },
};
