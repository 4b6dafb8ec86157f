import { describe, expect, it } from 'vitest';
import { explainMisses, type MissInput } from '../../bench/misses.js';
import { formatReport } from '../../bench/report.js';
import type { BenchReport } from '../../bench/runner.js';
import { verdicts } from '../../bench/targets.js';

/** A storm step as the stepper reports it. */
function step(saps: number, inadequate: number, late = 0) {
  return { saps, attempts: saps * 2, started: saps * 2, failed: 0, late, inadequate_pct: inadequate, p50_ms: 20, p95_ms: 60, p99_ms: 140, achieved_saps: saps, failures: {} };
}

function cpu(saps: number, core: number, generator: number) {
  return { saps, cpu_ms_per_registration: core + generator, core_cpu_ms: core, generator_cpu_ms: generator, cores_busy: Math.round(((core + generator) * saps) / 10) / 100 };
}

/** A run whose registration storm stopped at 1,750 SAPS with one process per function, the machine full. */
function report(overrides: { separate?: unknown; one?: unknown; figures?: Record<string, number | null> } = {}): MissInput {
  const figures: Record<string, number | null> = {
    'ceiling.echo_cpu_us_per_datagram.busy': 8,
    'ceiling.echo_cpu_us_per_datagram.woken': 240,
    'registration.doc_saps': 800,
    'registration.doc_saps.separate_processes': 1500,
    'memory.bytes_per_registered_ue': 2500,
    'rtp.max_streams_without_loss': 625,
    ...overrides.figures,
  };
  return {
    figures,
    notes: { 'memory.bytes_per_registered_ue': 'stores as their nodes run them' },
    targets: verdicts(figures),
    suites: {
      registration: {
        details: {
          one_process: overrides.one ?? { doc_saps: 800, steps: [step(100, 0), step(800, 0), step(1000, 4.2, 84)], cpuMsPerRegistration: [cpu(100, 7, 1), cpu(800, 1.1, 0.2), cpu(1000, 1.05, 0.2)] },
          separate_processes: overrides.separate ?? {
            doc_saps: 1500,
            steps: [step(100, 0), step(1500, 0.2), step(1750, 26, 910)],
            cpuMsPerRegistration: [cpu(100, 14, 2.5), cpu(1500, 1.0, 0.18), cpu(1750, 0.9, 0.17)],
          },
        },
      },
    },
    run: { cpus: 2 },
  };
}

describe('why a target was missed (issue 7: the report says by how much and why)', () => {
  it('a storm stopped on a full machine: the step, the CPU per attempt against what the target leaves, and the wake-up price', () => {
    const why = explainMisses(report())['registration.doc_saps.separate_processes']!;
    expect(why[0]).toBe('lost at 1,750 SAPS, the first step over the limit: 26 % of 3,500 attempts inadequate (0 failed, 910 late; p50 20 ms, p99 140 ms)');
    // 2 cores / 2,000 SAPS = 1.0 ms per registration for the core and the generator together.
    expect(why[1]).toMatch(/2,000 SAPS on 2 cores leaves at most 1\.00 ms of CPU per registration to the core and the generator together; measured: 1\.18 ms at 1,500 SAPS \(the last step that passed\) and 1\.07 ms at 1,750 SAPS/);
    expect(why[2]).toMatch(/^the machine was full when the step was lost \(1\.87 of the 2 cores busy\)/);
    // 16.5 ms at 100 SAPS against 1.07 at 1,750: the low steps pay for wake-ups.
    expect(why[3]).toMatch(/cost this machine 240 µs of CPU, 30\.0× what it costs a busy one .* a registration took 16\.5 ms at 100 SAPS/);
    expect(why[4]).toMatch(/docs\/performance\.md, "Registration storm"/);
  });

  it('one event loop is judged against one core, and a step lost with CPU to spare is said to be lost to latency', () => {
    const one = { doc_saps: 800, steps: [step(100, 0), step(800, 0), step(1000, 4.2, 84)], cpuMsPerRegistration: [cpu(100, 0.8, 1), cpu(800, 0.9, 0.2), cpu(1000, 0.6, 0.2)] };
    const why = explainMisses(report({ one }))['registration.doc_saps']!;
    expect(why[1]).toMatch(/2,000 SAPS on one event loop leaves at most 0\.50 ms of CPU per registration to the core's process/);
    // 0.6 ms × 1,000 SAPS = 0.6 of the loop's one core.
    expect(why[2]).toMatch(/^the event loop was not full when the step was lost \(the core's process kept 0\.60 cores busy; its loop can use one\): it was lost to latency/);
    // The loop spent 0.8 ms at 100 SAPS, under 1.5 × the 0.6 ms of the lost step: no wake-up line.
    expect(why.some((l) => l.includes('wakes a sleeping'))).toBe(false);
  });

  it('a ladder whose every step passed says that its top, not the core, set the figure', () => {
    const separate = { doc_saps: 1500, steps: [step(100, 0), step(1500, 0)], cpuMsPerRegistration: [cpu(100, 14, 2), cpu(1500, 1, 0.2)] };
    const why = explainMisses(report({ separate }))['registration.doc_saps.separate_processes']!;
    expect(why).toEqual(['the ladder ended at 1,500 SAPS with every step within the limit: its top is below the target, so the figure is the ladder\'s, not the core\'s']);
  });

  it('only missed targets are explained; one without storm details falls back to its note', () => {
    const out = explainMisses(report());
    expect(Object.keys(out).sort()).toEqual(['memory.bytes_per_registered_ue', 'registration.doc_saps', 'registration.doc_saps.separate_processes']);
    expect(out['memory.bytes_per_registered_ue']).toEqual(['stores as their nodes run them']);
    // A storm key whose suite did not run has no details: its note, not a crash.
    const bare = report();
    bare.suites = {};
    expect(explainMisses(bare)['registration.doc_saps']).toEqual(['no explanation recorded']);
  });

  it('the other targets are explained from the figures they are made of', () => {
    const input = report({
      figures: {
        'rtp.max_streams_without_loss': 250,
        'memory.hss_bytes_per_subscriber': 3,
        'memory.scscf_bytes_per_registration': 1200,
        'memory.pcscf_bytes_per_registration': 1297,
        'ratio.sip_messages_vs_ceiling': 0.15,
        'sip.transactions_per_s': 9000,
        'ceiling.udp_roundtrips_per_s': 60000,
        'ratio.peers_imslab_vs_kamailio': 0.4,
        'peers.imslab_calls_per_s': 1600,
        'peers.kamailio_calls_per_s': 4000,
      },
    });
    input.figures['memory.whole_core_bytes_per_registered_ue'] = 2220;
    input.targets = verdicts(input.figures);
    input.suites.memory = { details: { whole_core: { ues: 5000, warm_ues: 5000, registered: 5000, heap_bytes_per_ue: 2220, rss_bytes_per_ue: 3100 } } };
    input.run.quick = true;
    // The ladder failed at 500, then a halving failed 375 on its pace.
    input.suites.rtp = {
      details: [
        { streams: 250, packetsSent: 50000, lost: 0, pace: 1 },
        { streams: 500, packetsSent: 99000, lost: 12, pace: 0.998 },
        { streams: 375, packetsSent: 70000, lost: 0, pace: 0.95 },
      ],
    };
    input.suites.peers = { details: { imslab: { callSteps: [{ target: 1500, failed: 0, retransmissions: 0, achieved: 1500, clean: true }, { target: 2000, failed: 3, retransmissions: 410, achieved: 1700, clean: false }] } } };
    const out = explainMisses(input);
    expect(out['rtp.max_streams_without_loss']).toEqual(['the smallest step that failed: 375 streams lost 0 of 70,000 packets and kept 95 % of real-time pace (no loss and ≥ 99 % are needed)']);
    expect(out['memory.bytes_per_registered_ue']![0]).toMatch(/^what each store keeps per further UE: HSS 3 B, S-CSCF 1,200 B, P-CSCF 1,297 B/);
    expect(out['memory.whole_core_bytes_per_registered_ue']).toEqual([
      '5,000 of 5,000 UEs registered through the running core after 5,000 to warm it; heap 2,220 B and settled RSS 3,100 B per further UE',
      'a --quick run measures a smaller batch than the full run, so whatever the core allocates once while it is measured is shared by fewer UEs: the full run is the figure to judge',
    ]);
    expect(out['ratio.sip_messages_vs_ceiling']![0]).toMatch(/^9,000 SIP transactions\/s .* against 60,000 UDP round trips\/s/);
    expect(out['ratio.peers_imslab_vs_kamailio']).toEqual([
      'imslab passed 1,600 calls/s cleanly through one hop, Kamailio 4,000, under the same SIPp load',
      "imslab's first step that was not clean: 2,000 calls/s asked, 1,700 reached, 3 failed, 410 retransmissions",
    ]);
  });

  it('the printed report has a "why missed" section with each missed target and its lines, and none when all are met', () => {
    const input = report();
    for (const [key, why] of Object.entries(explainMisses(input))) input.targets[key]!.why = why;
    const full: BenchReport = { ...(input as unknown as BenchReport), failures: [], run: { started: '', elapsedSeconds: 1, limitSeconds: 2, seconds: 2, quick: false, node: 'v20', cpus: 2, cpuModel: 'test', memoryBytes: 1 } };
    const text = formatReport(full);
    const section = text.slice(text.indexOf('why missed:'));
    expect(section).toMatch(/^why missed:\n {2}registration\.doc_saps: 800 against >= 2000\n {4}- lost at 1,000 SAPS/);
    expect(section).toMatch(/ {2}registration\.doc_saps\.separate_processes: 1,500 against >= 2000\n {4}- lost at 1,750 SAPS/);
    expect(section).toMatch(/ {2}memory\.bytes_per_registered_ue: 2,500 against < 2048\n {4}- stores as their nodes run them/);
    const met = report({ figures: { 'registration.doc_saps': 2000, 'registration.doc_saps.separate_processes': 2500, 'memory.bytes_per_registered_ue': 1500 } });
    const metText = formatReport({ ...(met as unknown as BenchReport), failures: [], run: full.run });
    expect(metText).not.toMatch(/why missed/);
  });
});
