import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { decodeMessage, encodeMessage } from '../src/diameter/codec.js';
import {
  CxClient,
  CxCommandCode,
  MultimediaAuthAnswer,
  SipAuthenticationScheme,
  type MultimediaAuthAnswer as Maa,
} from '../src/diameter/cx/index.js';
import { DiameterNode } from '../src/diameter/node.js';
import { TraceBus } from '../src/trace/events.js';
import { SystemClock } from '../src/util/clock.js';
import { SeededRandom } from '../src/util/random.js';

/**
 * Diameter figures: MAA encode+decode with our codec and with the `diameter` npm package (0.7.0), and
 * pipelined MAR/MAA round trips over one TCP connection on loopback with 64 requests in flight.
 *
 * The package's dictionary has neither the Cx application nor its commands and AVPs, and it refuses to
 * encode or decode AVPs it does not know. So its message is the same shape built from AVPs it does know:
 * Credit-Control (272, app 4) instead of MAA (303), and for every Cx AVP a 3GPP (vendor 10415, V+M) AVP of
 * the same type and size (e.g. SIP-Auth-Data-Item → Service-Information, SIP-Authenticate → 3GPP-Charging-Id).
 * Same AVP count, nesting, types and wire length; its decoder then turns the OctetStrings into UTF-8 text
 * (that is its behaviour, and the reason we do not use it).
 */

export interface DiameterBenchResult {
  encode_decode_per_s: number;
  package_encode_decode_per_s: number;
  pipelined_mar_per_s: number;
}

const rand = Buffer.from('23553cbe9637a89d218ae64dae47bf35', 'hex');
const autn = Buffer.from('55f328b43577b9b94a9ffac354dfafb3', 'hex');
const xres = Buffer.from('a54211d5e3ba50bf', 'hex');
const ck = Buffer.from('b40ba9a3c58b2a05bbf0d987b21bf8cb', 'hex');
const ik = Buffer.from('f769bcd751044604127672711c6d3441', 'hex');

const maa: Maa = {
  sessionId: 'scscf.ims.test;1767225600;1',
  originHost: 'hss.ims.test',
  originRealm: 'ims.test',
  resultCode: 2001,
  userName: 'alice@ims.test',
  publicIdentity: 'sip:alice@ims.test',
  sipNumberAuthItems: 1,
  sipAuthDataItems: [
    {
      itemNumber: 1,
      authenticationScheme: SipAuthenticationScheme.AKAv1_MD5,
      authenticate: Buffer.concat([rand, autn]),
      authorization: xres,
      confidentialityKey: ck,
      integrityKey: ik,
    },
  ],
};

function perSecond(seconds: number, fn: () => void): number {
  // Warm up so the JIT has settled before timing.
  for (let i = 0; i < 2000; i++) fn();
  const start = performance.now();
  const until = start + seconds * 1000;
  let n = 0;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    now = performance.now();
  }
  return Math.round(n / ((now - start) / 1000));
}

/** Ours: typed object → message → bytes → message → typed object. */
function oursOnce(): void {
  const bytes = encodeMessage(MultimediaAuthAnswer.encode(maa));
  const back = MultimediaAuthAnswer.decode(decodeMessage(bytes));
  if (back.resultCode !== 2001) throw new Error('bench: bad round trip');
}

interface PackageCodec {
  encodeMessage(m: unknown): Buffer;
  decodeMessage(b: Buffer): { body: unknown[] };
}

function packageCodec(): PackageCodec {
  const require = createRequire(import.meta.url);
  return require('diameter/lib/diameter-codec.js') as PackageCodec;
}

/** The package's message object for the MAA-shaped Credit-Control answer (array form, its API). */
function packageMessage(): unknown {
  return {
    header: {
      version: 1,
      commandCode: 272,
      flags: { request: false, proxiable: true, error: false, potentiallyRetransmitted: false },
      applicationId: 4,
      hopByHopId: 1,
      endToEndId: 2,
    },
    body: [
      ['Session-Id', maa.sessionId],
      ['Vendor-Specific-Application-Id', [['Vendor-Id', 10415], ['Auth-Application-Id', 16777216]]],
      ['Result-Code', 2001],
      ['Auth-Session-State', 'NO_STATE_MAINTAINED'],
      ['Origin-Host', maa.originHost],
      ['Origin-Realm', maa.originRealm],
      ['User-Name', maa.userName],
      ['3GPP-IMSI', maa.publicIdentity],
      ['Content-Length', 1],
      [
        'Service-Information',
        [
          ['Expires', 1],
          ['3GPP-Selection-Mode', SipAuthenticationScheme.AKAv1_MD5],
          ['3GPP-Charging-Id', Buffer.concat([rand, autn])],
          ['3GPP-NSAPI', xres],
          ['3GPP-IMSI-MCC-MNC', ck],
          ['3GPP-GGSN-MCC-MNC', ik],
        ],
      ],
    ],
  };
}

async function pipelined(seconds: number, inFlight: number): Promise<number> {
  const clock = new SystemClock();
  const trace = new TraceBus(clock);
  const common = { clock, trace, port: 0, requestTimeoutMs: 10_000 };
  const hss = new DiameterNode({ ...common, name: 'hss', originHost: 'hss.ims.test', originRealm: 'ims.test', address: '127.0.80.4', random: new SeededRandom(4) });
  const scscf = new DiameterNode({ ...common, name: 'scscf', originHost: 'scscf.ims.test', originRealm: 'ims.test', address: '127.0.80.3', random: new SeededRandom(3) });
  // A trivial responder: one fixed vector per MAR, user echoed.
  hss.onRequest(CxCommandCode.MultimediaAuth, (req) => {
    const userName = req.get(1)?.asString();
    return MultimediaAuthAnswer.encode({ ...maa, sessionId: undefined, ...(userName ? { userName } : {}) });
  });
  try {
    const ep = await hss.listen();
    const conn = await scscf.connect(ep.address, ep.port);
    const cx = new CxClient(scscf, conn);
    const request = {
      userName: 'alice@ims.test',
      publicIdentity: 'sip:alice@ims.test',
      serverName: 'sip:scscf.ims.test',
      sipNumberAuthItems: 1,
      sipAuthDataItem: { authenticationScheme: SipAuthenticationScheme.AKAv1_MD5 },
    };
    let done = 0;
    let stop = false;
    const start = performance.now();
    const deadline = start + seconds * 1000;
    const worker = async () => {
      while (!stop) {
        const a = await cx.mar(request);
        if (a.resultCode !== 2001) throw new Error(`bench: MAA ${a.resultCode}`);
        done++;
        if (performance.now() >= deadline) stop = true;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const elapsed = (performance.now() - start) / 1000;
    return Math.round(done / elapsed);
  } finally {
    await scscf.close();
    await hss.close();
  }
}

export async function benchDiameter(opts: { seconds: number }): Promise<DiameterBenchResult> {
  const seconds = Math.max(0.2, Math.min(opts.seconds, 60));
  const encode_decode_per_s = perSecond(seconds, oursOnce);
  const pkg = packageCodec();
  const pm = packageMessage();
  const package_encode_decode_per_s = perSecond(seconds, () => {
    const d = pkg.decodeMessage(pkg.encodeMessage(pm));
    if (d.body.length !== 10) throw new Error('bench: package round trip');
  });
  const pipelined_mar_per_s = await pipelined(seconds, 64);
  return { encode_decode_per_s, package_encode_decode_per_s, pipelined_mar_per_s };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[2] ?? 3);
  benchDiameter({ seconds }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
