/**
 * Every suite `imslab bench` knows, in the order they run. A new measurement (the registration storm, the call
 * storm, bench:peers) replaces its entry here with one that has a `run`; the harness, the JSON and the table
 * pick it up from `keys`.
 */
import { benchUdpCeiling, CONCURRENCY_LEVELS, DATAGRAM_BYTES, WOKEN_RATE } from './ceiling.js';
import { benchDiameter } from './diameter.js';
import { benchMemory } from './memory.js';
import { benchWholeCoreMemory } from './memory-core.js';
import { benchRtp } from './rtp.js';
import { benchSipCodec } from './sip-codec.js';
import { benchSipTransactions } from './sip-transactions.js';
import type { BenchSuite, SuiteOutput } from './suite.js';
import { benchPeers, installed as peersInstalled } from './peers/run.js';
import { callSuite, registrationSuite } from './storm/suites.js';

/** The concurrency level whose figures are the headline ones (and the one the SIP/ceiling ratio uses). */
export const HEADLINE_CONCURRENCY = 32;
const levels = CONCURRENCY_LEVELS;

const ceiling: BenchSuite = {
  name: 'ceiling',
  title: `Node UDP ping-pong on loopback, ${DATAGRAM_BYTES}-byte datagrams`,
  keys: [
    'ceiling.udp_roundtrips_per_s',
    ...levels.map((c) => `ceiling.udp_roundtrips_per_s.c${c}`),
    ...levels.map((c) => `ceiling.udp_roundtrips_per_s.separate_echo.c${c}`),
    'ceiling.echo_cpu_us_per_datagram.busy',
    'ceiling.echo_cpu_us_per_datagram.woken',
  ],
  // Six ping-pong windows, each with its warm-up and drain, the paced one, plus starting the echo process.
  budgetSeconds: ({ seconds }) => 7 * (seconds + 0.6) + 15,
  async run(ctx): Promise<SuiteOutput> {
    const r = await benchUdpCeiling({ seconds: ctx.seconds, levels, step: (s) => ctx.step(s) });
    const figures: SuiteOutput['figures'] = { 'ceiling.udp_roundtrips_per_s': r.same_process[HEADLINE_CONCURRENCY] ?? null };
    for (const c of levels) {
      figures[`ceiling.udp_roundtrips_per_s.c${c}`] = r.same_process[c] ?? null;
      figures[`ceiling.udp_roundtrips_per_s.separate_echo.c${c}`] = r.separate_process[c] ?? null;
    }
    figures['ceiling.echo_cpu_us_per_datagram.busy'] = r.echo_cpu?.busy_us ?? null;
    figures['ceiling.echo_cpu_us_per_datagram.woken'] = r.echo_cpu?.woken_us ?? null;
    const cpu = r.echo_cpu;
    return {
      figures,
      notes: {
        'ceiling.udp_roundtrips_per_s': `echo and pinger in one process (as an all-in-one core), ${HEADLINE_CONCURRENCY} datagrams in flight; each round trip is 2 datagrams sent and 2 received by the process`,
        'ceiling.udp_roundtrips_per_s.separate_echo.c1': 'the echo runs in a process of its own: the pinger\'s event loop alone',
        'ceiling.echo_cpu_us_per_datagram.busy': cpu
          ? `CPU time (every thread) the echo in its own process spent per datagram it sent back, ${cpu.busy_concurrency} in flight so that it never sleeps (${cpu.busy_datagrams.toLocaleString('en')} datagrams)`
          : 'not measured: no echo ran in a process of its own',
        'ceiling.echo_cpu_us_per_datagram.woken': cpu
          ? `the same with one datagram every ${1000 / WOKEN_RATE} ms, each waking the echo from sleep (${cpu.woken_datagrams} datagrams): ${Math.round((cpu.woken_us / cpu.busy_us) * 10) / 10}× the busy figure — what a core of several processes pays per message at light load`
          : 'not measured: no echo ran in a process of its own',
      },
      details: { runs: r.runs, echo_cpu: r.echo_cpu },
    };
  },
};

const sip: BenchSuite = {
  name: 'sip',
  title: 'SIP codec and non-INVITE transactions over UDP',
  keys: [
    'sip.parse_serialize_per_s',
    'sip.parse_serialize_per_s.register',
    'sip.parse_serialize_per_s.invite',
    'sip.transactions_per_s',
    ...levels.map((c) => `sip.transactions_per_s.c${c}`),
    'sip.messages_per_s',
  ],
  // The codec window (plus its warm-up), then three transaction windows with warm-up and drain.
  budgetSeconds: ({ seconds }) => seconds + 3 + 3 * (seconds + 3) + 10,
  async run(ctx): Promise<SuiteOutput> {
    ctx.step('SIP parse + serialize (REGISTER, INVITE with SDP)');
    const codec = await benchSipCodec({ seconds: ctx.seconds });
    const runs = await benchSipTransactions({ seconds: ctx.seconds, levels, step: (s) => ctx.step(s) });
    const at = (c: number) => runs.find((r) => r.concurrency === c)?.transactions_per_s ?? null;
    const headline = at(HEADLINE_CONCURRENCY);
    const figures: SuiteOutput['figures'] = {
      // Equal numbers of both messages: the rate of the mix is the harmonic mean of the two rates.
      'sip.parse_serialize_per_s': Math.round(2 / (1 / codec.register_per_s + 1 / codec.invite_per_s)),
      'sip.parse_serialize_per_s.register': codec.register_per_s,
      'sip.parse_serialize_per_s.invite': codec.invite_per_s,
      'sip.transactions_per_s': headline,
      'sip.messages_per_s': headline === null ? null : 2 * headline,
    };
    for (const c of levels) figures[`sip.transactions_per_s.c${c}`] = at(c);
    const sizes = runs[0] ? `${runs[0].request_bytes}-byte REGISTER, ${runs[0].response_bytes}-byte 200` : 'REGISTER and 200';
    return {
      figures,
      notes: {
        'sip.parse_serialize_per_s': 'messages parsed and serialised per second, half REGISTER (IMS, ~1.1 KB) and half INVITE with SDP (~1.5 KB), one core, no I/O',
        'sip.transactions_per_s': `non-INVITE transactions completed per second over UDP on loopback, UAC and UAS in one process (${sizes}), ${HEADLINE_CONCURRENCY} open at once, RFC 3261 default timers`,
        'sip.messages_per_s': 'sip.transactions_per_s × 2 (request and final response), each sent by one side and received by the other',
      },
      details: { codec, transactions: runs },
    };
  },
};

const diameter: BenchSuite = {
  name: 'diameter',
  title: 'Diameter Cx codec (ours and the diameter package) and pipelined MAR/MAA over TCP',
  keys: ['diameter.encode_decode_per_s', 'diameter.package_encode_decode_per_s', 'diameter.pipelined_mar_per_s'],
  budgetSeconds: ({ seconds }) => 3 * seconds + 15,
  async run(ctx): Promise<SuiteOutput> {
    ctx.step('MAA encode + decode (ours, the diameter package), then 64 pipelined MARs over TCP');
    const r = await benchDiameter({ seconds: ctx.seconds });
    return {
      figures: {
        'diameter.encode_decode_per_s': r.encode_decode_per_s,
        'diameter.package_encode_decode_per_s': r.package_encode_decode_per_s,
        'diameter.pipelined_mar_per_s': r.pipelined_mar_per_s,
      },
      notes: {
        'diameter.package_encode_decode_per_s': 'the diameter 0.7.0 package on a Credit-Control answer of the same AVP count, nesting, types and length (it has no Cx dictionary)',
        'diameter.pipelined_mar_per_s': 'MAR/MAA round trips over one TCP connection on loopback, 64 in flight, both nodes in one process',
      },
    };
  },
};

const RTP_MAX_STREAMS = { quick: 1000, full: 2000 };

const rtp: BenchSuite = {
  name: 'rtp',
  title: 'concurrent G.711 RTP streams at 50 packets/s without loss',
  keys: ['rtp.max_streams_without_loss'],
  // At most 11 ladder steps and 3 bisections, each one window plus the drain and opening the sockets.
  budgetSeconds: ({ seconds }) => 14 * (seconds + 1.5) + 10,
  async run(ctx): Promise<SuiteOutput> {
    const maxStreams = ctx.quick ? RTP_MAX_STREAMS.quick : RTP_MAX_STREAMS.full;
    ctx.step(`RTP streams stepped up to ${maxStreams}, ${ctx.seconds} s per step`);
    const r = await benchRtp({ maxStreams, seconds: ctx.seconds });
    return {
      figures: { 'rtp.max_streams_without_loss': r.max_streams_without_loss },
      notes: {
        'rtp.max_streams_without_loss': `streams (calls, each 2 × 50 packets/s) one event loop carries with no loss and ≥ 99 % of real-time pace, stepped to ${maxStreams} (${r.max_streams_without_loss === maxStreams ? 'the ceiling of the ladder, not of the engine' : 'the first step that failed is in details'})`,
      },
      details: r.steps,
    };
  },
};

const MEMORY_UES = { quick: 50_000, full: 100_000 };
/** UEs registered through a running core for the whole-core figures (closed loop, ≈ 700-800 per second). */
const WHOLE_CORE_UES = { quick: 5_000, full: 20_000 };

const memory: BenchSuite = {
  name: 'memory',
  title: 'memory per registered UE (HSS, S-CSCF and P-CSCF state)',
  keys: [
    'memory.bytes_per_registered_ue',
    'memory.heap_bytes_per_registered_ue',
    'memory.rss_growth_per_registered_ue',
    'memory.fixed_rss_bytes',
    'memory.hss_bytes_per_subscriber',
    'memory.scscf_bytes_per_registration',
    'memory.pcscf_bytes_per_registration',
    'memory.hss_in_memory_bytes_per_subscriber',
    'memory.projected_rss_1m_ues_bytes',
    'memory.projected_heap_1m_ues_bytes',
    'memory.whole_core_bytes_per_registered_ue',
    'memory.whole_core_rss_per_registered_ue',
  ],
  nodeFlags: ['--expose-gc'],
  budgetSeconds: ({ quick }) => (quick ? 70 : 160),
  async run(ctx): Promise<SuiteOutput> {
    const ues = ctx.quick ? MEMORY_UES.quick : MEMORY_UES.full;
    const r = await benchMemory({ ues, step: (s) => ctx.step(s) });
    const wholeUes = ctx.quick ? WHOLE_CORE_UES.quick : WHOLE_CORE_UES.full;
    const w = await benchWholeCoreMemory({ ues: wholeUes, registerBudgetMs: ctx.quick ? 20_000 : 60_000, step: (s) => ctx.step(s) });
    const wholeWhat = `${w.registered.toLocaleString('en')} UEs registered with IMS AKA through a running one-process core (P-CSCF, I-CSCF, S-CSCF, HSS over loopback; each with the P-CSCF's reg-event subscription and the S-CSCF's notifier), after Timer J (T1 ${w.t1_ms} ms) drained every transaction; load generator in its own process; measured from a baseline taken once ${w.warm_ues.toLocaleString('en')} UEs were registered, so that what the core holds whatever its subscriber count (the HSS's bounded caches, interners) is not divided among them and each per-UE hash table doubles once, as it does per doubling of subscribers`;
    const what = `${r.ues.toLocaleString('en')} UEs held in the stores their nodes run: the HSS's SQLite store (subscription + REGISTERED state on disk; in memory bounded caches and SQLite's page cache), the S-CSCF's SQLite registration store (every registration in its in-memory view, and on disk) and the P-CSCF's RegistrationCache (with its SA pair and expiry timer); built in batches with a GC between them; no transactions. Marginal RSS per UE: the RSS growth from half of ${r.ues.toLocaleString('en')} UEs to all of them in each phase, after GC, divided by the UEs added, summed over the three nodes — what each further UE costs; the costs that do not grow with UEs (page caches, code) are memory.fixed_rss_bytes, and the average growth with them is memory.rss_growth_per_registered_ue`;
    return {
      figures: {
        'memory.bytes_per_registered_ue': r.total.rss_marginal_bytes_per_ue,
        'memory.heap_bytes_per_registered_ue': r.total.heap_bytes_per_ue,
        'memory.rss_growth_per_registered_ue': r.total.rss_bytes_per_ue,
        'memory.fixed_rss_bytes': r.fixed_rss_bytes,
        'memory.hss_bytes_per_subscriber': r.hss.rss_marginal_bytes_per_ue,
        'memory.scscf_bytes_per_registration': r.scscf.rss_marginal_bytes_per_ue,
        'memory.pcscf_bytes_per_registration': r.pcscf.rss_marginal_bytes_per_ue,
        'memory.hss_in_memory_bytes_per_subscriber': r.hss_in_memory.rss_bytes_per_ue,
        'memory.projected_rss_1m_ues_bytes': r.projected_rss_1m_bytes,
        'memory.projected_heap_1m_ues_bytes': r.projected_heap_1m_bytes,
        'memory.whole_core_bytes_per_registered_ue': w.heap_bytes_per_ue,
        'memory.whole_core_rss_per_registered_ue': w.rss_bytes_per_ue,
      },
      notes: {
        'memory.bytes_per_registered_ue': what,
        'memory.heap_bytes_per_registered_ue': `growth of V8 heapUsed + external (Buffers) per UE, after GC, from 0 to ${r.ues.toLocaleString('en')} UEs (marginal: ${r.total.heap_marginal_bytes_per_ue} B)`,
        'memory.rss_growth_per_registered_ue': `RSS growth from 0 to ${r.ues.toLocaleString('en')} UEs divided by the UEs, fixed costs included (rounds 1–5's figure); ${Math.round(r.projected_rss_1m_average_bytes / 1e6).toLocaleString('en')} MB projected at 1 M that way`,
        'memory.fixed_rss_bytes': 'RSS growth that does not scale with UEs: total growth − UEs × memory.bytes_per_registered_ue (SQLite page caches of the HSS and S-CSCF stores, code compiled on first use, interner and cache tables)',
        'memory.hss_bytes_per_subscriber': "marginal RSS per UE of the HSS phase (SQLite store: on disk, bounded caches in memory)",
        'memory.scscf_bytes_per_registration': "marginal RSS per UE of the S-CSCF phase (SqliteRegistrationStore's in-memory view and its writes)",
        'memory.pcscf_bytes_per_registration': "marginal RSS per UE of the P-CSCF phase (RegistrationCache with SA pair)",
        'memory.projected_rss_1m_ues_bytes': `baseline RSS of the process (${Math.round(r.baseline_rss_bytes / 2 ** 20)} MiB) + memory.fixed_rss_bytes (${Math.round(r.fixed_rss_bytes / 2 ** 20)} MiB) + 1,000,000 × memory.bytes_per_registered_ue`,
        'memory.projected_heap_1m_ues_bytes': `baseline RSS + 1,000,000 × memory.heap_bytes_per_registered_ue (what the UEs' state itself takes)`,
        'memory.hss_in_memory_bytes_per_subscriber': "the HSS's MemorySubscriberStore (every subscription in the heap; tests and embedding, not the node), for comparison; not in the total",
        'memory.whole_core_bytes_per_registered_ue': `${wholeWhat}: growth of V8 heapUsed + external per UE, after GC`,
        'memory.whole_core_rss_per_registered_ue': `${wholeWhat}: growth of RSS per UE once settled — full GCs 3 s apart until RSS stops falling (${Math.round(w.settle_ms / 1000)} s), as a long-running core gives back the pages its burst took; of it V8's heap pages ${w.rss_v8_heap_bytes_per_ue} B and other anonymous memory (malloc) ${w.rss_other_anon_bytes_per_ue} B; right after the drain, before settling, ${w.rss_at_drain_bytes_per_ue} B (the burst's high-water mark)`,
      },
      details: { ...r, whole_core: w },
    };
  },
};

const registration = registrationSuite;

const call = callSuite;

/** bench:peers takes minutes (SIPp and Kamailio started per server, rates stepped): a share of the full run. */
const PEERS_BUDGET_SECONDS = 90;

const PEERS_KEYS = ['peers.imslab_calls_per_s', 'peers.kamailio_calls_per_s', 'peers.imslab_registers_per_s', 'peers.kamailio_registers_per_s', 'peers.calls_ratio', 'peers.registers_ratio'];

const peers: BenchSuite = {
  name: 'peers',
  title: 'one proxy hop, imslab against Kamailio under the same SIPp load',
  keys: PEERS_KEYS,
  // The quick run only reports why it skipped (a child start); the full run gives bench:peers its share.
  budgetSeconds: ({ quick }) => (quick ? 5 : PEERS_BUDGET_SECONDS),
  unavailable: async () => {
    const missing = ['sipp', 'kamailio'].filter((t) => !peersInstalled(t));
    return missing.length === 0 ? undefined : `not measured: sipp/kamailio not installed (${missing.join(' and ')} missing; Debian packages sip-tester, kamailio)`;
  },
  async run(ctx): Promise<SuiteOutput> {
    const keys = PEERS_KEYS;
    if (ctx.quick) {
      const why = 'not measured in --quick: bench:peers starts SIPp and Kamailio per server and steps their rates, which takes longer than the whole quick run (run `npm run bench:peers -- --quick` alone)';
      return { figures: Object.fromEntries(keys.map((k) => [k, null])), notes: Object.fromEntries(keys.map((k) => [k, why])) };
    }
    ctx.step('bench:peers: SIPp → imslab proxy → SIPp, then the same through Kamailio');
    // Ten seconds are kept for stopping SIPp and the servers within the suite's budget.
    const r = await benchPeers({ quick: false, budgetSeconds: PEERS_BUDGET_SECONDS - 10, log: (line) => ctx.step(`bench:peers: ${line.trim()}`) });
    const errors = Object.entries(r.servers).filter(([, s]) => s?.error !== undefined);
    if (errors.length === Object.keys(r.servers).length && errors.length > 0) throw new Error(errors.map(([n, s]) => `${n}: ${s!.error}`).join('; '));
    const what = 'highest clean rate through one proxy hop (SIPp UAC → proxy → SIPp UAS; clean = every scenario ok, < 1 % retransmissions, ≥ 90 % of the rate reached), one server after the other on the same cores';
    const notes: Record<string, string> = {};
    for (const k of keys) {
      const server = k.includes('imslab') ? r.servers.imslab : k.includes('kamailio') ? r.servers.kamailio : undefined;
      if (r.figures[k] === null) notes[k] = server?.error ? `not measured: ${server.error}` : 'not measured: no clean step within the suite\'s share of the run (see details)';
      else notes[k] = k.endsWith('_ratio') ? 'imslab / Kamailio, same run' : what;
    }
    return { figures: Object.fromEntries(keys.map((k) => [k, r.figures[k] ?? null])), notes, details: r.servers };
  },
};

export const SUITES: readonly BenchSuite[] = [ceiling, sip, diameter, rtp, memory, registration, call, peers];

export function suiteNamed(name: string): BenchSuite | undefined {
  return SUITES.find((s) => s.name === name);
}
