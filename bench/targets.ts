/**
 * The ratios issue 7 asks for, computed from figures of the same run (so that they hold on a noisy machine),
 * and its targets with a verdict for each figure that has one.
 */
import { CONCURRENCY_LEVELS } from './ceiling.js';
import { HEADLINE_CONCURRENCY } from './suites.js';
import type { FigureValue } from './suite.js';

export interface Target {
  key: string;
  op: '>=' | '<';
  value: number;
  /** Where the target comes from, in a few words. */
  source: string;
}

export const TARGETS: readonly Target[] = [
  // Judged in both modes: one process per function is the one that puts both cores to work, as the target says;
  // with every function on one event loop the same figure is the one-core case.
  { key: 'registration.doc_saps', op: '>=', value: 2000, source: 'issue 7: 2 cores, every function running (here on one event loop)' },
  { key: 'registration.doc_saps.separate_processes', op: '>=', value: 2000, source: 'issue 7: 2 cores, every function running (a process each)' },
  { key: 'call.doc_saps', op: '>=', value: 1000, source: 'issue 7: 2 cores, every function running (here on one event loop)' },
  { key: 'call.doc_saps.separate_processes', op: '>=', value: 1000, source: 'issue 7: 2 cores, every function running (a process each)' },
  { key: 'rtp.max_streams_without_loss', op: '>=', value: 500, source: 'issue 7' },
  { key: 'memory.bytes_per_registered_ue', op: '<', value: 2048, source: 'issue 7: < 2 KiB per UE' },
  { key: 'memory.whole_core_bytes_per_registered_ue', op: '<', value: 2048, source: 'issue 7: < 2 KiB per UE, the whole running core' },
  { key: 'memory.projected_rss_1m_ues_bytes', op: '<', value: 2 * 2 ** 30, source: 'issue 7: 1 M UEs in < 2 GiB' },
  { key: 'ratio.sip_messages_vs_ceiling', op: '>=', value: 0.2, source: 'issue 7: ≥ 20 % of the UDP ceiling' },
  { key: 'ratio.peers_imslab_vs_kamailio', op: '>=', value: 0.5, source: 'issue 7: ≥ 50 % of Kamailio' },
];

export interface Verdict {
  target: string;
  /** null when the figure is null. */
  met: boolean | null;
  /** value / target: how far above (or below) the target the figure is. */
  ratio: number | null;
  /** For a missed target: what the run measured that explains the miss (bench/misses.ts). */
  why?: string[];
}

type Figures = Record<string, FigureValue>;

function div(a: FigureValue | undefined, b: FigureValue | undefined): FigureValue {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}

/**
 * Ratios from the figures. SIP against the ceiling compares like with like: a non-INVITE transaction is a
 * request and a response, each sent by one side and received by the other, in the same process; a ceiling
 * round trip is a datagram and its echo, the same two sends and two receives. So messages per second over
 * datagrams per second is transactions per second over round trips per second, at the same concurrency.
 */
export function ratios(f: Figures): { figures: Figures; notes: Record<string, string> } {
  const defs: Array<{ key: string; num: string; den: string; note?: string }> = [
    {
      key: 'ratio.sip_messages_vs_ceiling',
      num: 'sip.transactions_per_s',
      den: 'ceiling.udp_roundtrips_per_s',
      note: `SIP messages (2 per transaction) per second over UDP datagrams (2 per round trip) per second, one process, ${HEADLINE_CONCURRENCY} in flight`,
    },
    ...CONCURRENCY_LEVELS.map((c) => ({ key: `ratio.sip_messages_vs_ceiling.c${c}`, num: `sip.transactions_per_s.c${c}`, den: `ceiling.udp_roundtrips_per_s.c${c}` })),
    {
      // Against one loop that only pings (the "140,000 datagrams/s in and out"): the SIP process
      // receives and sends sip.messages_per_s messages, the pinger one datagram each way per round trip.
      key: 'ratio.sip_messages_vs_ceiling.separate_echo',
      num: 'sip.messages_per_s',
      den: `ceiling.udp_roundtrips_per_s.separate_echo.c${HEADLINE_CONCURRENCY}`,
      note: `sip.messages_per_s over the round trips per second of a pinger whose echo runs in another process, ${HEADLINE_CONCURRENCY} in flight`,
    },
    {
      key: 'ratio.diameter_codec_vs_package',
      num: 'diameter.encode_decode_per_s',
      den: 'diameter.package_encode_decode_per_s',
      note: "our MAA encode + decode rate over the diameter package's, on a message of the same shape",
    },
    { key: 'ratio.peers_imslab_vs_kamailio', num: 'peers.imslab_calls_per_s', den: 'peers.kamailio_calls_per_s' },
    {
      key: 'ratio.registration_doc_vs_pattern',
      num: 'registration.doc_saps.separate_processes',
      den: 'registration.pattern_doc_saps',
      note: "the registration storm's DOC (one process per function) over the DOC of its bare message pattern: the share of what this machine can pass for the scenario that the core's own work leaves",
    },
  ];
  const figures: Figures = {};
  const notes: Record<string, string> = {};
  for (const d of defs) {
    const v = div(f[d.num], f[d.den]);
    figures[d.key] = v;
    if (v === null) {
      const missing = [d.num, d.den].filter((k) => f[k] === null || f[k] === undefined);
      notes[d.key] = missing.length === 0 ? `not computed: ${d.den} is 0` : `not computed: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} null`;
    }
    else if (d.note) notes[d.key] = d.note;
  }
  return { figures, notes };
}

export function verdicts(f: Figures): Record<string, Verdict> {
  const out: Record<string, Verdict> = {};
  for (const t of TARGETS) {
    const v = f[t.key];
    const target = `${t.op} ${t.value}`;
    if (v === null || v === undefined) {
      out[t.key] = { target, met: null, ratio: null };
      continue;
    }
    out[t.key] = { target, met: t.op === '>=' ? v >= t.value : v < t.value, ratio: Math.round((v / t.value) * 100) / 100 };
  }
  return out;
}
