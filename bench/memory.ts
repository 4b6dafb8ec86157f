/**
 * Memory per registered UE (issue 7: "RSS per registered UE with 100,000 registered, and the projection to
 * 1,000,000"). It measures the state the core keeps for a UE that has registered, built through the stores
 * that hold it (not through the network), one phase per network function that keeps per-UE state:
 *  - the HSS: one subscription (IMPI, two IMPUs, K, OPc, AMF, SQN) and the REGISTERED state of both IMPUs with
 *    the assigned S-CSCF (TS 29.228 §6.1.2), in the store the HSS node runs: SqliteSubscriberStore with group
 *    commit, which keeps subscriptions on disk and in memory only bounded caches (its own, and SQLite's page
 *    cache of 16 MB, which fills during the run and shows as RSS without heap); MemorySubscriberStore, which
 *    holds everything in the heap (tests, embedding), is measured last as `hss_in_memory`, outside the total;
 *  - the S-CSCF: one registration in the store the S-CSCF node runs (SqliteRegistrationStore with group
 *    commit: every registration in its in-memory view, a MemoryRegistrationStore, and on disk, with SQLite's
 *    page cache beside it): the implicit set, the user profile parsed from the User-Data the HSS generates,
 *    one contact binding with Path, +sip.instance and reg-id (TS 24.229 §5.4.1.2.2, RFC 3327, RFC 5626);
 *  - the P-CSCF: one entry of its RegistrationCache as a protected REGISTER's 200 leaves it (TS 24.229
 *    §5.2.2.1): P-Associated-URI, Service-Route, its own Path, the UE's address, Call-ID, times, the expiry
 *    timer on the system clock, and the security association pair in use (TS 33.203 §7.1: the UE's offer as
 *    readOffers parses it from Security-Client, the choice chooseIpsec makes, CK/IK, as register.ts records them).
 * Every value that arrives per UE in a real message (identities, Contact, Call-ID, Path, Service-Route, CK/IK)
 * is cut from a per-UE REGISTER, 401 or 200 by the project's own parser and readers, as in a running core
 * (see `messages`), so that sharing happens only where a store shares, and a store that keeps a view into a
 * message pays for the message.
 * Not included: transactions and dialogs in flight, which are not per registered UE.
 *
 * How it is measured: each phase is built in batches of BATCH UEs with a full GC between batches (the process
 * must run with --expose-gc), and each figure is the growth after a full GC of RSS (what the OS gave the
 * process: the issue's figure, and what a projection to 1 M UEs needs) and of heapUsed + external (what V8
 * and Buffers hold: steadier, it does not depend on how V8 lays out pages). The inputs of a batch are garbage by the end of the
 * batch; collecting it there keeps old space from filling with it, so RSS follows the heap instead of
 * holding on to pages that once held the bench's own garbage.
 * The figure is the slope: each phase is read also once half its UEs are held, and (after N − after N/2) /
 * (N − N/2) is what each further UE costs, never taken below the heap's own slope. What does not grow with
 * N (two SQLite page caches of 16 MB that fill during the run, code compiled on first use, interner and cache
 * tables) is reported apart as the fixed RSS, and the 1 M projection is baseline + fixed + 1 M × slope; the
 * average growth over all N (rounds 1–5's figure, which counted the fixed part N-fold in a projection) stays
 * beside it.
 * Run alone: `node --expose-gc --import tsx bench/memory.ts [ues]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MemorySubscriberStore } from '../src/hss/memory-store.js';
import { SqliteSubscriberStore } from '../src/hss/sqlite-store.js';
import type { SubscriberStore } from '../src/hss/store.js';
import type { Subscriber } from '../src/hss/subscriber.js';
import { imsSubscriptionXml } from '../src/hss/user-data.js';
import { readRegister } from '../src/pcscf/register.js';
import { pathValue, takeCipherKeys } from '../src/pcscf/register-headers.js';
import { RegistrationCache, type PcscfRegistration } from '../src/pcscf/registration-cache.js';
import { chooseIpsec, formatServerMechanism, readOffers } from '../src/pcscf/sec-agree.js';
import { newSecurityAssociation } from '../src/pcscf/security-associations.js';
import type { SubscriptionRegistration } from '../src/scscf/scscf/registration-store.js';
import { SqliteRegistrationStore } from '../src/scscf/scscf/sqlite-registration-store.js';
import { parseUserProfile } from '../src/scscf/user-profile.js';
import { parseCredentials } from '../src/sip/headers/auth.js';
import { parseNameAddr } from '../src/sip/headers/name-addr.js';
import { parseContacts } from '../src/sip/headers/contact.js';
import type { SipRequest, SipResponse } from '../src/sip/message.js';
import { parseMessage } from '../src/sip/parser.js';
import { SystemClock } from '../src/util/clock.js';
import { SeededRandom } from '../src/util/random.js';

const DOMAIN = 'ims.example.net';
/** UEs built between two full GCs. */
const BATCH = 10_000;

export interface MemoryPhase {
  /** Growth of heapUsed + external per UE, bytes: (after all UEs − before) / N. */
  heap_bytes_per_ue: number;
  /** Growth of RSS per UE, bytes: (after all UEs − before) / N, fixed costs (page caches, code) included. */
  rss_bytes_per_ue: number;
  /**
   * Marginal RSS per UE: (after N − after N/2) / (N − N/2), and never below the marginal heap. What each
   * further UE adds, with the costs that do not grow with N (SQLite's page cache, code compiled on first use)
   * left out: the slope of a projection.
   */
  rss_marginal_bytes_per_ue: number;
  /** Marginal heapUsed + external per UE, read the same way. */
  heap_marginal_bytes_per_ue: number;
}

export interface MemoryResult {
  ues: number;
  /** The HSS as its node runs it (SQLite: subscriptions on disk, bounded caches in memory). */
  hss: MemoryPhase;
  /** The HSS's in-memory store, which keeps every subscription in the heap: not in the total (the node does not use it). */
  hss_in_memory: MemoryPhase;
  scscf: MemoryPhase;
  pcscf: MemoryPhase;
  /** The three phases together: what one registered UE costs the core. */
  total: MemoryPhase;
  /** RSS of the process before anything was built (runtime, code, libraries). */
  baseline_rss_bytes: number;
  /** RSS growth that does not scale with N: total growth − N × the marginal RSS per UE (page caches, code). */
  fixed_rss_bytes: number;
  /** baseline RSS + fixed RSS + 1,000,000 × marginal RSS per UE: the projection the issue asks for, from its slope. */
  projected_rss_1m_bytes: number;
  /** baseline RSS + 1,000,000 × average RSS growth per UE at N (rounds 1–5's projection, fixed costs counted N-fold). */
  projected_rss_1m_average_bytes: number;
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
    // One address per UE, as each UE has its own in a real access network (up to 2^24 UEs).
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    instance: `<urn:gsma:imei:35622500-${String(i).padStart(6, '0')}-0>`,
    callId: `${String(i).padStart(10, '0')}-2394@10.45.0.2`,
  };
}

/**
 * The messages of one registration as the nodes receive them (TS 24.229 §5.2.2.1, TS 24.228 §6.2 flows), so
 * that every value a node keeps is cut out of a parsed message by the project's own parser and readers, as
 * in a running core: V8 cuts substrings as views into the message text, and a store that keeps such a view
 * keeps the whole message (issue 7). `hops` is the Via and Path count in front of the node.
 */
function messages(i: number) {
  const id = identity(i);
  const spi = 0x10000 + 2 * i;
  const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
  const nonce = Buffer.alloc(32, i & 255).toString('base64');
  const aor = `<${id.sip}>`;
  const contact = `<sip:00101${id.impi.slice(5, 15)}@${id.address}:5064>;+sip.instance="${id.instance}";reg-id=1;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel";+g.3gpp.smsip`;
  const viaUe = `SIP/2.0/UDP ${id.address}:5064;branch=z9hG4bK${hex(i, 8)}b;rport=5064;received=${id.address}`;
  const viaP = `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK${hex(i, 8)}p`;
  const viaI = `SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK${hex(i, 8)}i`;
  const common = [`From: ${aor};tag=${hex(i, 8)}`, `Call-ID: ${id.callId}`, 'CSeq: 2 REGISTER'];
  const register = (vias: string[], path: string[]) =>
    [
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      ...vias.map((v) => `Via: ${v}`),
      'Max-Forwards: 69',
      ...path.map((p) => `Path: ${p}`),
      `To: ${aor}`,
      ...common,
      `Contact: ${contact};expires=600000`,
      'Expires: 600000',
      `Authorization: Digest username="${id.impi}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="${nonce}", algorithm=AKAv1-MD5, response="${hex(i, 32)}", qop=auth, nc=00000001, cnonce="${hex(i, 16)}"`,
      `Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=${spi};spi-s=${spi + 1};port-c=5063;port-s=5064`,
      `Security-Verify: ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=null;spi-c=4096;spi-s=4097;port-c=5065;port-s=5066;prot=esp;mod=trans`,
      'Require: sec-agree',
      'Proxy-Require: sec-agree',
      'Supported: path, gruu, outbound',
      'User-Agent: imslab-bench-ue',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  const response = (status: string, lines: string[]) =>
    [`SIP/2.0 ${status}`, `Via: ${viaP}`, `Via: ${viaUe}`, `To: ${aor};tag=${hex(i, 8)}s`, ...common, ...lines, 'Content-Length: 0', '', ''].join('\r\n');
  const parse = (text: string) => parseMessage(Buffer.from(text, 'utf8'));
  return {
    id,
    /** The protected REGISTER at the P-CSCF (it came from the UE) and at the S-CSCF (behind P and I). */
    atPcscf: () => parse(register([viaUe], [])) as SipRequest,
    atScscf: () => parse(register([viaI, viaP, viaUe], [`<sip:term@pcscf.${DOMAIN};lr>`])) as SipRequest,
    /** The 401 with CK/IK as the P-CSCF receives it from the I-CSCF. */
    challenge: () =>
      parse(response('401 Unauthorized', [`WWW-Authenticate: Digest realm="${DOMAIN}", nonce="${nonce}", algorithm=AKAv1-MD5, qop="auth", ck="${hex(i, 32)}", ik="${hex(i + 1, 32)}"`])) as SipResponse,
    /** The 200 as the P-CSCF receives it. */
    ok: () =>
      parse(
        response('200 OK', [
          `Contact: ${contact};expires=600`,
          `Path: <sip:term@pcscf.${DOMAIN};lr>`,
          `Service-Route: <sip:orig@scscf.${DOMAIN}:6060;lr>`,
          `P-Associated-URI: <${id.sip}>, <${id.tel}>`,
          `P-Charging-Function-Addresses: ccf=pri-ccf.${DOMAIN}`,
        ]),
      ) as SipResponse,
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

/** Readings of one phase: before it, once at least half its UEs are held (`midN` of them), after all. */
interface PhaseReadings {
  before: Usage;
  mid: Usage;
  midN: number;
  after: Usage;
}

function perUe(r: PhaseReadings, n: number): MemoryPhase {
  const tail = n - r.midN;
  return {
    heap_bytes_per_ue: Math.round((r.after.heap - r.before.heap) / n),
    rss_bytes_per_ue: Math.round((r.after.rss - r.before.rss) / n),
    // Never below the heap's slope: RSS moves in V8's page steps, and a phase whose heap grew its pages ahead
    // of the reading at N/2 reads a slope below what its UEs hold in the heap (seen: 545 B RSS for 710 B heap).
    // And never below 0: a store that keeps its UEs on disk behind bounded caches (the HSS on SQLite) holds
    // nothing more per further UE, and reads a few bytes either side of zero as V8 and malloc move pages.
    rss_marginal_bytes_per_ue: Math.max(0, Math.round(Math.max(r.after.rss - r.mid.rss, r.after.heap - r.mid.heap) / tail)),
    heap_marginal_bytes_per_ue: Math.round((r.after.heap - r.mid.heap) / tail),
  };
}

/**
 * Calls build(i) for every UE, BATCH at a time, then `settle` (a store's commit), collecting the batch's
 * garbage before the next; reads usage before, at the first batch end past N/2, and after.
 */
async function inBatches(n: number, gc: () => void, build: (i: number) => void, settle?: () => Promise<void>): Promise<PhaseReadings> {
  const before = usage(gc);
  let mid: Usage | undefined;
  let midN = 0;
  for (let from = 0; from < n; from += BATCH) {
    const to = Math.min(n, from + BATCH);
    for (let i = from; i < to; i++) build(i);
    await settle?.();
    gc();
    if (mid === undefined && 2 * to >= n && to < n) {
      mid = usage(gc);
      midN = to;
    }
  }
  if (mid === undefined) throw new Error(`the memory suite needs at least two batches (${BATCH} UEs each) for a slope`);
  return { before, mid, midN, after: usage(gc) };
}

export async function benchMemory(opts: { ues: number; step?: (name: string) => void }): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('the memory suite needs node --expose-gc');
  const n = Math.max(2 * BATCH, Math.min(1_000_000, Math.floor(opts.ues)));
  const t0 = performance.now();
  const clock = new SystemClock();
  const random = new SeededRandom(7);
  const now = clock.now();
  const base = usage(gc);

  const provision = (store: SubscriberStore, i: number) => {
    const s = subscriber(i);
    store.put(s);
    store.setRegistrations(
      s.impus.map((p) => ({ impu: p.uri, state: 'REGISTERED' as const, serverName: `sip:scscf.${DOMAIN}:6060`, scscfHost: `scscf.${DOMAIN}`, scscfRealm: DOMAIN, authPending: false })),
    );
  };
  opts.step?.(`provision and register ${n} subscribers in the HSS's SQLite store, as the HSS node keeps them`);
  const dir = mkdtempSync(join(tmpdir(), 'imslab-bench-memory-'));
  const hss = new SqliteSubscriberStore(dir, { groupCommit: true });
  // Each batch committed and synced as the node's group commit would, turn after turn.
  const hssPhase = await inBatches(n, gc, (i) => provision(hss, i), () => hss.flush());

  // The S-CSCF node runs SqliteRegistrationStore with group commit (topology/kinds.ts): every registration
  // in its in-memory view (a MemoryRegistrationStore) and on disk, with SQLite's page cache beside it.
  opts.step?.(`register ${n} UEs in the S-CSCF's SQLite registration store, as the S-CSCF node keeps them`);
  const scscf = new SqliteRegistrationStore(dir, { node: 'scscf', groupCommit: true });
  const scscfPhase = await inBatches(
    n,
    gc,
    (i) => {
      const m = messages(i);
      // The profile as the S-CSCF receives it: the HSS's User-Data document, parsed by the S-CSCF's parser.
      const profile = parseUserProfile(fresh(imsSubscriptionXml(hss.get(m.id.impi)!)));
      // The binding as the registrar makes it from the REGISTER (registrar.ts, RFC 3261 §10.3, RFC 3327 §5.3).
      const request = m.atScscf();
      const contacts = parseContacts(request.headers);
      if (contacts === '*') throw new Error('the bench REGISTER has Contact *');
      const c = contacts[0]!;
      const registration: SubscriptionRegistration = {
        impi: parseCredentials(request.headers.get('Authorization')!).username!,
        impus: profile.identities.map((p) => p.uri),
        barred: [],
        profile,
        contacts: [
          {
            uri: c.uri,
            params: [...c.params].filter(([k]) => k !== 'expires'),
            ...(c.instance !== undefined ? { instance: c.instance } : {}),
            ...(c.regId !== undefined ? { regId: c.regId } : {}),
            // In whole ms, as the registrar makes them (registrar.ts).
            expiresAt: Math.floor(now) + 600_000,
            registeredAt: Math.floor(now),
            callId: request.headers.get('Call-ID')!,
            cseq: 2,
            path: request.headers.list('Path'),
            receivedFrom: { transport: 'udp', address: fresh('127.0.0.2'), port: 5060 },
            id: random.token(8),
          },
        ],
        ids: Object.fromEntries(profile.identities.map((p) => [p.uri, random.token(8)])),
      };
      scscf.put(registration);
    },
    () => scscf.flush(),
  );

  opts.step?.(`register ${n} UEs in the P-CSCF registration cache`);
  const pcscf = new RegistrationCache(clock);
  // register.ts builds its Path value once per REGISTER.
  let pcscfPath = '';
  const pcscfPhase = await inBatches(n, gc, (i) => {
    const m = messages(i);
    // As register.ts does at the 401 (SA recorded) and at the 200 (registration stored), TS 24.229 §5.2.2.1.
    pcscfPath = pathValue('127.0.0.1', 5060, 'udp');
    const request = m.atPcscf();
    const read = readRegister(request);
    if (typeof read === 'string') throw new Error(`the bench REGISTER does not read: ${read}`);
    if (read.contacts === '*') throw new Error('the bench REGISTER has Contact *');
    // The transport hands up one source per datagram: the SA's comes from the first REGISTER, the registration's from this one.
    const source = () => ({ transport: 'udp' as const, address: fresh(m.id.address), port: 5063 });
    const { offer, choice } = chooseIpsec(readOffers(request.headers), { portC: 5065, portS: 5066 }, random);
    const keys = takeCipherKeys(m.challenge().headers);
    if (!keys) throw new Error('the bench 401 has no CK/IK');
    formatServerMechanism(choice); // the Security-Server of the 401
    const sa = newSecurityAssociation({ ueAddress: source().address, transport: 'udp', ue: offer, pcscf: choice, keys, state: 'in-use', createdAt: Math.floor(now), impi: read.credentials!.username });
    const ok = m.ok();
    const impus = ok.headers.list('P-Associated-URI').map((v) => parseNameAddr(v).uri);
    const c = read.contacts[0]!;
    const reg: PcscfRegistration = {
      contact: c.uri,
      ...(c.instance !== undefined ? { instance: c.instance } : {}),
      impi: read.credentials!.username,
      impus,
      registeredImpu: read.impu,
      serviceRoute: ok.headers.list('Service-Route').map((v) => v.trim()),
      path: pcscfPath,
      ue: source(),
      callId: read.callId,
      registeredAt: now,
      refreshedAt: now,
      expiresAt: now + 600_000,
      authentication: 'ims-aka',
      sa,
    };
    pcscf.put(reg);
  });

  opts.step?.('check that every UE is held');
  for (const i of [0, n >> 1, n - 1]) {
    const id = identity(i);
    if (!hss.get(id.impi)) throw new Error(`the HSS store lost ${id.impi}`);
    if (!scscf.byImpu(id.tel)) throw new Error(`the S-CSCF store lost ${id.tel}`);
    if (pcscf.byImpu(id.tel).length !== 1) throw new Error(`the P-CSCF cache lost ${id.tel}`);
  }
  if (pcscf.size !== n) throw new Error(`the P-CSCF cache holds ${pcscf.size} registrations, not ${n}`);

  // For comparison, last so that it disturbs no phase of the total: the HSS's in-memory store.
  opts.step?.(`provision and register ${n} subscribers in the HSS's in-memory store (for comparison)`);
  const inMemory = new MemorySubscriberStore();
  const inMemoryPhase = await inBatches(n, gc, (i) => provision(inMemory, i));
  if (!inMemory.get(identity(n - 1).impi)) throw new Error('the in-memory HSS store lost a subscriber');
  pcscf.close();
  scscf.close();
  hss.close();
  rmSync(dir, { recursive: true, force: true });

  const phases = [perUe(hssPhase, n), perUe(scscfPhase, n), perUe(pcscfPhase, n)] as const;
  const sum = (pick: (p: MemoryPhase) => number) => phases.reduce((a, p) => a + pick(p), 0);
  // The total's growth is read end to end (base to the P-CSCF's last reading), not summed from rounded phases.
  const growth = { heap: pcscfPhase.after.heap - base.heap, rss: pcscfPhase.after.rss - base.rss };
  const total: MemoryPhase = {
    heap_bytes_per_ue: Math.round(growth.heap / n),
    rss_bytes_per_ue: Math.round(growth.rss / n),
    rss_marginal_bytes_per_ue: sum((p) => p.rss_marginal_bytes_per_ue),
    heap_marginal_bytes_per_ue: sum((p) => p.heap_marginal_bytes_per_ue),
  };
  const fixedRss = Math.max(0, growth.rss - n * total.rss_marginal_bytes_per_ue);
  return {
    ues: n,
    hss: phases[0],
    hss_in_memory: perUe(inMemoryPhase, n),
    scscf: phases[1],
    pcscf: phases[2],
    total,
    baseline_rss_bytes: base.rss,
    fixed_rss_bytes: fixedRss,
    projected_rss_1m_bytes: base.rss + fixedRss + 1_000_000 * total.rss_marginal_bytes_per_ue,
    projected_rss_1m_average_bytes: base.rss + 1_000_000 * total.rss_bytes_per_ue,
    projected_heap_1m_bytes: base.rss + 1_000_000 * total.heap_bytes_per_ue,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ues = Number(process.argv[2] ?? 100_000);
  console.log(JSON.stringify(await benchMemory({ ues, step: (s) => console.error(s) }), null, 2));
}
