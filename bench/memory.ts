/**
 * Memory per registered UE (issue 7: "RSS per registered UE with 100,000 registered, and the projection to
 * 1,000,000"). It measures the state a core keeps for a UE that has registered, built through the stores
 * that hold it, not through the network:
 *  - the HSS: one subscription in MemorySubscriberStore (IMPI, two IMPUs, K, OPc, AMF, SQN) and the
 *    REGISTERED state of both IMPUs with the assigned S-CSCF (TS 29.228 §6.1.2);
 *  - the S-CSCF: one registration in the RegistrationStore of src/scscf (the implicit set, the user profile
 *    parsed from the User-Data the HSS generates, one contact binding with Path, +sip.instance and reg-id,
 *    TS 24.229 §5.4.1.2.2, RFC 3327, RFC 5626). When that store is not in the tree, an object of the same
 *    shape stands in and the result says so (`scscf_source`).
 * Not included: P-CSCF state (security associations, TS 33.203 §7) and transactions in flight, which do
 * not exist yet or are not per registered UE.
 * Each phase is measured after a full GC (the process must run with --expose-gc) as the growth of
 * heapUsed + external (what V8 and Buffers hold) and of RSS (what the OS gave the process).
 * Run alone: `node --expose-gc --import tsx bench/memory.ts [ues]`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MemorySubscriberStore } from '../src/hss/memory-store.js';
import type { Subscriber } from '../src/hss/subscriber.js';
import { imsSubscriptionXml } from '../src/hss/user-data.js';

const DOMAIN = 'ims.example.net';

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
  /** Where the S-CSCF registration came from: the registrar's own store, or a stand-in of the same shape. */
  scscf_source: 'src/scscf RegistrationStore' | 'stand-in object (no RegistrationStore in src/scscf)';
  /** Both phases together: what one registered UE costs the core's stores. */
  total: MemoryPhase;
  /** RSS of the process before anything was built (runtime, code, libraries). */
  baseline_rss_bytes: number;
  /** baseline RSS + 1,000,000 × RSS per UE: the linear projection the issue asks for. */
  projected_rss_1m_bytes: number;
  seconds: number;
}

/** The part of src/scscf's RegistrationStore the measurement drives (put, then byImpu to prove it landed). */
interface RegistrationStoreLike {
  put(registration: unknown): void;
  byImpu(impu: string): unknown;
}

interface ScscfModules {
  store: RegistrationStoreLike;
  parseProfile: (xml: string) => { identities: Array<{ uri: string; barred: boolean }> };
}

/**
 * The registrar's store is loaded by path, not by a static import: the S-CSCF is built in parallel, and the
 * bench must keep working (with the stand-in) until it lands, and measure it as soon as it does.
 */
async function loadScscf(): Promise<ScscfModules | undefined> {
  const storeUrl = new URL('../src/scscf/scscf/registration-store.ts', import.meta.url);
  const profileUrl = new URL('../src/scscf/user-profile.ts', import.meta.url);
  if (!existsSync(fileURLToPath(storeUrl)) || !existsSync(fileURLToPath(profileUrl))) return undefined;
  const storeModule = (await import(storeUrl.href)) as { MemoryRegistrationStore?: new () => RegistrationStoreLike };
  const profileModule = (await import(profileUrl.href)) as { parseUserProfile?: ScscfModules['parseProfile'] };
  if (typeof storeModule.MemoryRegistrationStore !== 'function' || typeof profileModule.parseUserProfile !== 'function') return undefined;
  return { store: new storeModule.MemoryRegistrationStore(), parseProfile: profileModule.parseUserProfile };
}

/** Fixed-width identities, so every UE costs the same and the figure does not drift with N. */
function identity(i: number) {
  const msin = String(i).padStart(10, '0');
  return {
    impi: `00101${msin}@${DOMAIN}`,
    sip: `sip:00101${msin}@${DOMAIN}`,
    tel: `tel:+1555${String(i).padStart(7, '0')}`,
    contact: `sip:00101${msin}@10.45.${(i >> 8) & 255}.${i & 255}:5062`,
    instance: `<urn:gsma:imei:35622500-${String(i).padStart(6, '0')}-0>`,
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

function usage(gc: () => void): { heap: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

function perUe(before: { heap: number; rss: number }, after: { heap: number; rss: number }, n: number): MemoryPhase {
  return { heap_bytes_per_ue: Math.round((after.heap - before.heap) / n), rss_bytes_per_ue: Math.round((after.rss - before.rss) / n) };
}

export async function benchMemory(opts: { ues: number; step?: (name: string) => void }): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('the memory suite needs node --expose-gc');
  const n = Math.max(1000, Math.min(1_000_000, Math.floor(opts.ues)));
  const t0 = performance.now();
  opts.step?.('load the S-CSCF registration store');
  const scscf = await loadScscf();
  const now = Date.now();
  const base = usage(gc);

  opts.step?.(`provision and register ${n} subscribers in the HSS store`);
  const hss = new MemorySubscriberStore();
  for (let i = 0; i < n; i++) {
    const s = subscriber(i);
    hss.put(s);
    hss.setRegistrations(
      s.impus.map((p) => ({ impu: p.uri, state: 'REGISTERED' as const, serverName: `sip:scscf.${DOMAIN}:6060`, scscfHost: `scscf.${DOMAIN}`, scscfRealm: DOMAIN, authPending: false })),
    );
  }
  const afterHss = usage(gc);

  opts.step?.(`register ${n} UEs in the S-CSCF store`);
  const standIn: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const id = identity(i);
    // The profile as the S-CSCF receives it: the HSS's User-Data document, parsed by the S-CSCF's parser.
    const xml = imsSubscriptionXml(hss.get(id.impi)!);
    const profile = scscf ? scscf.parseProfile(xml) : { privateId: id.impi, identities: [{ uri: id.sip, barred: false }, { uri: id.tel, barred: false }], initialFilterCriteria: [[]], xml };
    const registration = {
      impi: id.impi,
      impus: profile.identities.map((p) => p.uri),
      barred: [] as string[],
      profile,
      contacts: [
        {
          uri: id.contact,
          params: [['+sip.instance', `"${id.instance}"`], ['reg-id', '1']] as Array<[string, string | null]>,
          instance: id.instance,
          regId: 1,
          expiresAt: now + 600_000,
          registeredAt: now,
          callId: `${String(i).padStart(10, '0')}-2394@10.45.0.2`,
          cseq: 2,
          path: [`<sip:term@pcscf.${DOMAIN};lr>`],
          receivedFrom: { transport: 'udp' as const, address: '127.0.0.3', port: 5060 },
          id: String(i).padStart(8, '0'),
        },
      ],
      ids: Object.fromEntries(profile.identities.map((p, k) => [p.uri, `${String(i).padStart(7, '0')}${k}`])),
    };
    if (scscf) scscf.store.put(registration);
    else standIn.push(registration);
  }
  const afterScscf = usage(gc);

  opts.step?.('check that every UE is held');
  for (const i of [0, n >> 1, n - 1]) {
    const id = identity(i);
    if (!hss.get(id.impi)) throw new Error(`the HSS store lost ${id.impi}`);
    if (scscf && !scscf.store.byImpu(id.tel)) throw new Error(`the S-CSCF store lost ${id.tel}`);
  }
  if (!scscf && standIn.length !== n) throw new Error('the stand-in registrations were not all kept');

  const total = perUe(base, afterScscf, n);
  return {
    ues: n,
    hss: perUe(base, afterHss, n),
    scscf: perUe(afterHss, afterScscf, n),
    scscf_source: scscf ? 'src/scscf RegistrationStore' : 'stand-in object (no RegistrationStore in src/scscf)',
    total,
    baseline_rss_bytes: base.rss,
    projected_rss_1m_bytes: base.rss + 1_000_000 * total.rss_bytes_per_ue,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ues = Number(process.argv[2] ?? 100_000);
  console.log(JSON.stringify(await benchMemory({ ues, step: (s) => console.error(s) }), null, 2));
}
