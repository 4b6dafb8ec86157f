/**
 * Why a target was missed, from the figures of the same run (issue 7: "where a target is missed, the report
 * says by how much and why"). The verdict already says by how much; this says what the run measured that
 * explains it, in the terms the storms can show: the first step over the limit and what it lost, the CPU each attempt
 * took against the CPU the target leaves per attempt on this machine's cores, whether the machine was full
 * when the step was lost, and what a wake-up costs here.
 */
import { rtpStepPasses, type RtpStepResult } from './rtp.js';
import type { FigureValue } from './suite.js';
import { TARGETS, type Verdict } from './targets.js';

/** A storm step as the storm suites report it (bench/storm/stepper.ts). */
interface StepLike {
  saps: number;
  attempts: number;
  failed: number;
  late: number;
  inadequate_pct: number;
  p50_ms: number | null;
  p99_ms: number | null;
  failures?: Record<string, number>;
}

/** CPU per attempt at one step (bench/storm/registration.ts, calls.ts). */
interface CpuLike {
  saps: number;
  core_cpu_ms: number;
  generator_cpu_ms: number;
  cores_busy: number;
}

interface LadderLike {
  doc_saps: number | null;
  steps: StepLike[];
  cpuMsPerRegistration?: CpuLike[];
  cpuMsPerCall?: CpuLike[];
}

/** What explainMisses reads of a bench report. */
export interface MissInput {
  figures: Record<string, FigureValue>;
  notes: Record<string, string>;
  targets: Record<string, Verdict>;
  suites: Record<string, { details?: unknown }>;
  run: { cpus: number; quick?: boolean };
}

/** A step lost with at least this share of the cores busy was lost to a full machine, not to a latency spike. */
const FULL_MACHINE = 0.85;

/** The storm DOC keys: which suite and mode they come from, and what one attempt is. */
const STORM_KEYS: Record<string, { suite: 'registration' | 'call'; mode: 'one_process' | 'separate_processes'; attempt: string; doc: string }> = {
  'registration.doc_saps': { suite: 'registration', mode: 'one_process', attempt: 'registration', doc: 'Registration storm' },
  'registration.doc_saps.separate_processes': { suite: 'registration', mode: 'separate_processes', attempt: 'registration', doc: 'Registration storm' },
  'call.doc_saps': { suite: 'call', mode: 'one_process', attempt: 'call', doc: 'Call storm' },
  'call.doc_saps.separate_processes': { suite: 'call', mode: 'separate_processes', attempt: 'call', doc: 'Call storm' },
};

/** For every target that was measured and missed: the lines that say why. */
export function explainMisses(report: MissInput): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of TARGETS) {
    if (report.targets[t.key]?.met !== false) continue;
    const storm = STORM_KEYS[t.key];
    const ladder = storm ? ladderOf(report, storm.suite, storm.mode) : undefined;
    const other = OTHER_KEYS[t.key]?.(report);
    out[t.key] = storm && ladder ? stormMiss(report, t.value, storm, ladder) : other ?? [report.notes[t.key] ?? 'no explanation recorded'];
  }
  return out;
}

/** The other targets: the figures of the same run that the missed one is made of. Undefined when they are absent. */
const OTHER_KEYS: Record<string, (r: MissInput) => string[] | undefined> = {
  'rtp.max_streams_without_loss': (r) => {
    const steps = r.suites.rtp?.details as RtpStepResult[] | undefined;
    // The ladder's failed step and the halvings after it: the smallest that failed is the closest to the figure.
    const bad = Array.isArray(steps) ? steps.filter((s) => !rtpStepPasses(s)).sort((a, b) => a.streams - b.streams)[0] : undefined;
    return bad ? [`the smallest step that failed: ${fmt(bad.streams)} streams lost ${fmt(bad.lost)} of ${fmt(bad.packetsSent)} packets and kept ${Math.round(bad.pace * 100)} % of real-time pace (no loss and ≥ 99 % are needed)`] : undefined;
  },
  'memory.bytes_per_registered_ue': (r) => {
    const [hss, scscf, pcscf] = ['memory.hss_bytes_per_subscriber', 'memory.scscf_bytes_per_registration', 'memory.pcscf_bytes_per_registration'].map((k) => r.figures[k]);
    return typeof hss === 'number' && typeof scscf === 'number' && typeof pcscf === 'number'
      ? [`what each store keeps per further UE: HSS ${fmt(hss)} B, S-CSCF ${fmt(scscf)} B, P-CSCF ${fmt(pcscf)} B (memory.*_per_subscriber, *_per_registration)`]
      : undefined;
  },
  'memory.whole_core_bytes_per_registered_ue': (r) => {
    const w = (r.suites.memory?.details as { whole_core?: { ues: number; warm_ues: number; registered: number; heap_bytes_per_ue: number; rss_bytes_per_ue: number } } | undefined)?.whole_core;
    if (!w) return undefined;
    return [
      `${fmt(w.registered)} of ${fmt(w.ues)} UEs registered through the running core after ${fmt(w.warm_ues)} to warm it; heap ${fmt(w.heap_bytes_per_ue)} B and settled RSS ${fmt(w.rss_bytes_per_ue)} B per further UE`,
      ...(r.run.quick ? ['a --quick run measures a smaller batch than the full run, so whatever the core allocates once while it is measured is shared by fewer UEs: the full run is the figure to judge'] : []),
    ];
  },
  'ratio.sip_messages_vs_ceiling': (r) => {
    const [sip, ceiling] = [r.figures['sip.transactions_per_s'], r.figures['ceiling.udp_roundtrips_per_s']];
    return typeof sip === 'number' && typeof ceiling === 'number'
      ? [`${fmt(sip)} SIP transactions/s (a request and its response) against ${fmt(ceiling)} UDP round trips/s (a datagram and its echo) in the same process and run`]
      : undefined;
  },
  'ratio.peers_imslab_vs_kamailio': (r) => {
    const [ours, theirs] = [r.figures['peers.imslab_calls_per_s'], r.figures['peers.kamailio_calls_per_s']];
    const steps = (r.suites.peers?.details as { imslab?: { callSteps?: Array<{ target: number; failed: number; retransmissions: number; achieved: number; clean: boolean }> } } | undefined)?.imslab?.callSteps;
    const unclean = steps?.find((s) => !s.clean);
    if (typeof ours !== 'number' || typeof theirs !== 'number') return undefined;
    return [
      `imslab passed ${fmt(ours)} calls/s cleanly through one hop, Kamailio ${fmt(theirs)}, under the same SIPp load`,
      ...(unclean ? [`imslab's first step that was not clean: ${fmt(unclean.target)} calls/s asked, ${fmt(unclean.achieved)} reached, ${unclean.failed} failed, ${unclean.retransmissions} retransmissions`] : []),
    ];
  },
};

function ladderOf(report: MissInput, suite: string, mode: string): LadderLike | undefined {
  const details = report.suites[suite]?.details as Record<string, unknown> | undefined;
  const ladder = details?.[mode] as LadderLike | null | undefined;
  return ladder && Array.isArray(ladder.steps) && ladder.steps.length > 0 ? ladder : undefined;
}

function stormMiss(report: MissInput, target: number, storm: (typeof STORM_KEYS)[string], ladder: LadderLike): string[] {
  const lines: string[] = [];
  const cpu = ladder.cpuMsPerRegistration ?? ladder.cpuMsPerCall ?? [];
  // The ladder stops at the first step over the limit; with the full ladder the DOC is still the step below it.
  const lost = ladder.steps.find((s) => s.saps > (ladder.doc_saps ?? 0));
  if (!lost) return [`the ladder ended at ${fmt(ladder.steps[ladder.steps.length - 1]!.saps)} SAPS with every step within the limit: its top is below the target, so the figure is the ladder's, not the core's`];
  lines.push(`lost at ${fmt(lost.saps)} SAPS, the first step over the limit: ${lost.inadequate_pct} % of ${fmt(lost.attempts)} attempts inadequate (${lost.failed} failed, ${lost.late} late; p50 ${ms(lost.p50_ms)}, p99 ${ms(lost.p99_ms)})${reasons(lost.failures)}`);

  const oneLoop = storm.mode === 'one_process';
  const cores = report.run.cpus;
  // The CPU the target leaves per attempt: every core for the core and its generator, or one event loop's core for the core alone.
  const budget = ((oneLoop ? 1 : cores) * 1000) / target;
  const spent = (c: CpuLike) => (oneLoop ? c.core_cpu_ms : c.core_cpu_ms + c.generator_cpu_ms);
  const who = oneLoop ? "the core's process (every function on one event loop, so one core at most)" : 'the core and the generator together';
  const atLost = cpu.find((c) => c.saps === lost.saps);
  const atPassed = ladder.doc_saps === null ? undefined : cpu.find((c) => c.saps === ladder.doc_saps);
  if (atLost) {
    const seen = [atPassed ? `${round(spent(atPassed))} ms at ${fmt(atPassed.saps)} SAPS (the last step that passed)` : undefined, `${round(spent(atLost))} ms at ${fmt(atLost.saps)} SAPS`].filter(Boolean).join(' and ');
    lines.push(`CPU: ${fmt(target)} SAPS on ${oneLoop ? 'one event loop' : `${cores} cores`} leaves at most ${round(budget)} ms of CPU per ${storm.attempt} to ${who}; measured: ${seen}`);
    // One loop: the core's process may exceed one core (GC and thread-pool threads), its loop cannot.
    const busy = oneLoop ? (atLost.core_cpu_ms * atLost.saps) / 1000 : atLost.cores_busy;
    const of = oneLoop ? 1 : cores;
    const what = oneLoop ? 'the event loop' : 'the machine';
    const held = oneLoop ? `the core's process kept ${round(busy)} cores busy; its loop can use one` : `${round(busy)} of the ${cores} cores busy`;
    lines.push(
      busy >= FULL_MACHINE * of
        ? `${what} was full when the step was lost (${held}): the step needed more CPU than there was; a higher step needs less CPU per ${storm.attempt}`
        : `${what} was not full when the step was lost (${held}): it was lost to latency (queues, GC pauses, a slow moment of the machine), not to a lack of CPU`,
    );
  }
  const woken = report.figures['ceiling.echo_cpu_us_per_datagram.woken'];
  const busyEcho = report.figures['ceiling.echo_cpu_us_per_datagram.busy'];
  const first = cpu[0];
  // Only when the low steps cost clearly more per attempt than the lost one: then wake-ups, not work, set the CPU there.
  if (typeof woken === 'number' && typeof busyEcho === 'number' && busyEcho > 0 && first && atLost && spent(first) >= 1.5 * spent(atLost)) {
    lines.push(
      `a message that wakes a sleeping Node process cost this machine ${fmt(woken)} µs of CPU, ${round(woken / busyEcho)}× what it costs a busy one (ceiling.echo_cpu_us_per_datagram): that is why a ${storm.attempt} took ${round(spent(first))} ms at ${fmt(first.saps)} SAPS, and less as the rate rose and more messages shared a wake-up`,
    );
  }
  lines.push(`docs/performance.md, "${storm.doc}", has the profiles and the levers tried`);
  return lines;
}

function reasons(failures: Record<string, number> | undefined): string {
  const top = Object.entries(failures ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 2);
  return top.length === 0 ? '' : `; failures: ${top.map(([why, n]) => `${n} × ${why}`).join(', ')}`;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

function round(n: number): string {
  return n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function ms(v: number | null): string {
  return v === null ? 'n/a' : `${Math.round(v)} ms`;
}
