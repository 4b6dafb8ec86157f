/**
 * Memory per registered UE (issue 7: "RSS per registered UE with 100,000 registered, and the projection to
 * 1,000,000"). It measures the state the core keeps for a UE that has registered, built through the stores
 * that hold it (not through the network), one phase per network function that keeps per-UE state:
 *  - the HSS: one subscription in MemorySubscriberStore (IMPI, two IMPUs, K, OPc, AMF, SQN) and the
 *    REGISTERED state of both IMPUs with the assigned S-CSCF (TS 29.228 §6.1.2);
 *  - the S-CSCF: one registration in the RegistrationStore of src/scscf (the implicit set, the user profile
 *    parsed from the User-Data the HSS generates, one contact binding with Path, +sip.instance and reg-id,
 *    TS 24.229 §5.4.1.2.2, RFC 3327, RFC 5626);
 *  - the P-CSCF: one entry of its RegistrationCache as a protected REGISTER's 200 leaves it (TS 24.229
 *    §5.2.2.1): P-Associated-URI, Service-Route, its own Path, the UE's address, Call-ID, times, the expiry
 *    timer on the system clock, and the security association pair in use (TS 33.203 §7.1: the UE's offer as
 *    readOffers parses it from Security-Client, the choice chooseIpsec makes, CK/IK, as register.ts records them).
 * Every value that arrives per UE in a real message (identities, Call-ID, Path, Service-Route) is a fresh
 * string per UE here too, as a parser would make it, so that sharing happens only where a store shares.
 * Not included: transactions and dialogs in flight, which are not per registered UE.
 *
 * How it is measured: each phase is built in batches of BATCH UEs with a full GC between batches (the process
 * must run with --expose-gc), and each figure is the growth after a full GC of heapUsed + external (what V8
 * and Buffers hold: the primary figure, it does not depend on how V8 lays out pages) and of RSS (what the OS
 * gave the process, which a projection to 1 M UEs needs). The inputs of a batch are garbage by the end of the
 * batch; collecting it there keeps old space from filling with it, so RSS follows the heap instead of
 * holding on to pages that once held the bench's own garbage.
 * Run alone: `node --expose-gc --import tsx bench/memory.ts [ues]`.
 */
import { pathToFileURL } from 'node:url';
import { MemorySubscriberStore } from '../src/hss/memory-store.js';
import type { Subscriber } from '../src/hss/subscriber.js';
import { imsSubscriptionXml } from '../src/hss/user-data.js';
import { pathValue } from '../src/pcscf/register-headers.js';
import { RegistrationCache, type PcscfRegistration } from '../src/pcscf/registration-cache.js';
import { chooseIpsec, formatServerMechanism, readOffers } from '../src/pcscf/sec-agree.js';
import { newSecurityAssociation } from '../src/pcscf/security-associations.js';
import { MemoryRegistrationStore, type SubscriptionRegistration } from '../src/scscf/scscf/registration-store.js';
import { parseUserProfile } from '../src/scscf/user-profile.js';
import { Headers } from '../src/sip/message.js';
import { SystemClock } from '../src/util/clock.js';
import { SeededRandom } from '../src/util/random.js';

const DOMAIN = 'ims.example.net';
/** UEs built between two full GCs. */
const BATCH = 10_000;

export interface MemoryPhase {
  /** Growth of heapUsed + external per UE, bytes. */
  heap_bytes_per_ue: number;
  /** Growth of RSS per UE, bytes. */
  rss_bytes_per_ue: number;
}

export interface MemoryResult {
  ues: number;
  hss: MemoryPhase;
  scscf: MemoryPhase;
  pcscf: MemoryPhase;
  /** The three phases together: what one registered UE costs the core. */
  total: MemoryPhase;
  /** RSS of the process before anything was built (runtime, code, libraries). */
  baseline_rss_bytes: number;
  /** baseline RSS + 1,000,000 × RSS per UE: the linear projection the issue asks for. */
  projected_rss_1m_bytes: number;
  /** baseline RSS + 1,000,000 × heap per UE: the same projection from the primary figure. */
  projected_heap_1m_bytes: number;
  seconds: number;
}

/** A copy of `s` in a string of its own, as a parser cutting it out of a message would make it. */
function fresh(s: string): string {
  return (' ' + s).slice(1);
}

/** Fixed-width identities, so every UE costs the same and the figure does not drift with N. */
function identity(i: number) {
  const msin = String(i).padStart(10, '0');
  return {
    impi: `00101${msin}@${DOMAIN}`,
    sip: `sip:00101${msin}@${DOMAIN}`,
    tel: `tel:+1555${String(i).padStart(7, '0')}`,
    address: `10.45.${(i >> 8) & 255}.${i & 255}`,
    instance: `<urn:gsma:imei:35622500-${String(i).padStart(6, '0')}-0>`,
    callId: `${String(i).padStart(10, '0')}-2394@10.45.0.2`,
  };
}

function subscriber(i: number): Subscriber {
  const id = identity(i);
  const k = Buffer.alloc(16);
  k.writeUInt32BE(i, 12);
  const opc = Buffer.alloc(16, 0x5a);
  opc.writeUInt32BE(i, 0);
  return {
    impi: id.impi,
    impus: [{ uri: id.sip, barred: false }, { uri: id.tel, barred: false }],
    authSchemes: ['AKAv1-MD5'],
    k,
    opc,
    amf: Buffer.from([0x80, 0x00]),
    sqn: BigInt(32 * i),
    allowedVisitedNetworks: [],
  };
}

type Usage = { heap: number; rss: number };

function usage(gc: () => void): Usage {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

function perUe(before: Usage, after: Usage, n: number): MemoryPhase {
  return { heap_bytes_per_ue: Math.round((after.heap - before.heap) / n), rss_bytes_per_ue: Math.round((after.rss - before.rss) / n) };
}

/** Calls build(i) for every UE, BATCH at a time, collecting the batch's garbage before the next. */
function inBatches(n: number, gc: () => void, build: (i: number) => void): void {
  for (let from = 0; from < n; from += BATCH) {
    const to = Math.min(n, from + BATCH);
    for (let i = from; i < to; i++) build(i);
    gc();
  }
}

export async function benchMemory(opts: { ues: number; step?: (name: string) => void }): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('the memory suite needs node --expose-gc');
  const n = Math.max(1000, Math.min(1_000_000, Math.floor(opts.ues)));
  const t0 = performance.now();
  const clock = new SystemClock();
  const random = new SeededRandom(7);
  const now = clock.now();
  const base = usage(gc);

  opts.step?.(`provision and register ${n} subscribers in the HSS store`);
  const hss = new MemorySubscriberStore();
  inBatches(n, gc, (i) => {
    const s = subscriber(i);
    hss.put(s);
    hss.setRegistrations(
      s.impus.map((p) => ({ impu: p.uri, state: 'REGISTERED' as const, serverName: `sip:scscf.${DOMAIN}:6060`, scscfHost: `scscf.${DOMAIN}`, scscfRealm: DOMAIN, authPending: false })),
    );
  });
  const afterHss = usage(gc);

  opts.step?.(`register ${n} UEs in the S-CSCF store`);
  const scscf = new MemoryRegistrationStore();
  inBatches(n, gc, (i) => {
    const id = identity(i);
    // The profile as the S-CSCF receives it: the HSS's User-Data document, parsed by the S-CSCF's parser.
    const profile = parseUserProfile(imsSubscriptionXml(hss.get(id.impi)!));
    const registration: SubscriptionRegistration = {
      impi: id.impi,
      impus: profile.identities.map((p) => p.uri),
      barred: [],
      profile,
      contacts: [
        {
          uri: `sip:00101${id.impi.slice(5, 15)}@${id.address}:5062`,
          params: [['+sip.instance', `"${id.instance}"`], ['reg-id', '1']],
          instance: id.instance,
          regId: 1,
          expiresAt: now + 600_000,
          registeredAt: now,
          callId: id.callId,
          cseq: 2,
          path: [`<sip:term@pcscf.${DOMAIN};lr>`],
          receivedFrom: { transport: 'udp', address: '127.0.0.3', port: 5060 },
          id: String(i).padStart(8, '0'),
        },
      ],
      ids: Object.fromEntries(profile.identities.map((p, k) => [p.uri, `${String(i).padStart(7, '0')}${k}`])),
    };
    scscf.put(registration);
  });
  const afterScscf = usage(gc);

  opts.step?.(`register ${n} UEs in the P-CSCF registration cache`);
  const pcscf = new RegistrationCache(clock);
  const pcscfPath = pathValue('127.0.0.1', 5060, 'udp');
  inBatches(n, gc, (i) => {
    const id = identity(i);
    // As the transport hands the source up: one address string, which the SA and the registration share.
    const address = fresh(id.address);
    const spi = 0x10000 + 2 * i;
    const client = Headers.from([['Security-Client', `ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=${spi};spi-s=${spi + 1};port-c=5063;port-s=5064`]]);
    const { offer, choice } = chooseIpsec(readOffers(client), { portC: 5065, portS: 5066 }, random);
    const keys = { ck: random.bytes(16).toString('hex'), ik: random.bytes(16).toString('hex') };
    formatServerMechanism(choice); // the Security-Server of the 401
    const sa = newSecurityAssociation({ ueAddress: address, transport: 'udp', ue: offer, pcscf: choice, keys, state: 'in-use', createdAt: now, impi: fresh(id.impi) });
    const reg: PcscfRegistration = {
      contact: `sip:00101${id.impi.slice(5, 15)}@${address}:5064`,
      instance: fresh(id.instance),
      impi: fresh(id.impi),
      impus: [fresh(id.sip), fresh(id.tel)],
      registeredImpu: fresh(id.sip),
      serviceRoute: [fresh(`<sip:orig@scscf.${DOMAIN}:6060;lr>`)],
      path: fresh(pcscfPath),
      ue: { transport: 'udp', address, port: 5063 },
      callId: fresh(id.callId),
      registeredAt: now,
      refreshedAt: now,
      expiresAt: now + 600_000,
      authentication: 'ims-aka',
      sa,
    };
    pcscf.put(reg);
  });
  const afterPcscf = usage(gc);

  opts.step?.('check that every UE is held');
  for (const i of [0, n >> 1, n - 1]) {
    const id = identity(i);
    if (!hss.get(id.impi)) throw new Error(`the HSS store lost ${id.impi}`);
    if (!scscf.byImpu(id.tel)) throw new Error(`the S-CSCF store lost ${id.tel}`);
    if (pcscf.byImpu(id.tel).length !== 1) throw new Error(`the P-CSCF cache lost ${id.tel}`);
  }
  if (pcscf.size !== n) throw new Error(`the P-CSCF cache holds ${pcscf.size} registrations, not ${n}`);
  pcscf.close();

  const total = perUe(base, afterPcscf, n);
  return {
    ues: n,
    hss: perUe(base, afterHss, n),
    scscf: perUe(afterHss, afterScscf, n),
    pcscf: perUe(afterScscf, afterPcscf, n),
    total,
    baseline_rss_bytes: base.rss,
    projected_rss_1m_bytes: base.rss + 1_000_000 * total.rss_bytes_per_ue,
    projected_heap_1m_bytes: base.rss + 1_000_000 * total.heap_bytes_per_ue,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ues = Number(process.argv[2] ?? 100_000);
  console.log(JSON.stringify(await benchMemory({ ues, step: (s) => console.error(s) }), null, 2));
}
