import { Option, type Command } from 'commander';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultTortureDir } from '../../fuzz/corpus/index.js';
import { replay, runFuzz } from '../../fuzz/harness.js';
import { formatSummary } from '../../fuzz/report.js';
import { selectTargets, TARGETS } from '../../fuzz/targets/index.js';

/** Where findings go unless --findings says otherwise: fuzz/findings in the repository. */
const DEFAULT_FINDINGS = fileURLToPath(new URL('../../fuzz/findings/', import.meta.url));

interface FuzzCliOptions {
  inputs: string;
  seconds: string;
  seed: string;
  targets?: string;
  start: string;
  findings: string;
  corpus?: string[];
  rfc4475?: string | false;
  perInputMs: string;
  hangSeconds: string;
  maxHeapGrowth: string;
  replay?: string;
  list?: boolean;
  json?: string;
}

class UsageError extends Error {}

function positive(name: string, value: string, { integer = false, min = 0, max = Infinity } = {}): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/**
 * `imslab fuzz`: mutation fuzzing of the SIP and Diameter decoders and of live nodes over loopback (issue 8).
 * Exit code 0 when nothing was found, 1 with findings (saved as .bin + .txt), 2 for bad input.
 */
export function registerFuzzCommands(program: Command): void {
  program
    .command('fuzz')
    .description('mutation-fuzz the SIP/Diameter decoders and live nodes on 127.0.48.x; findings are saved with their reproducer (issue 8)')
    .option('--inputs <n>', 'inputs across all targets', '100000')
    .option('--seconds <s>', 'time budget for running inputs across all targets', '60')
    .option('--seed <x>', 'seed: the same seed, targets and corpus give the same inputs', '1')
    .option('--targets <list>', `comma-separated targets (default all): ${TARGETS.map((t) => t.name).join(', ')}`)
    .option('--start <n>', 'index of the first input of each target (with --inputs 1: rebuild one saved input)', '0')
    .option('--findings <dir>', 'where findings are saved', DEFAULT_FINDINGS)
    .option('--corpus <path...>', 'more seeds: imslab JSON traces (imslab run --trace), .sip/.dat files, Diameter .bin files, or directories')
    .option('--rfc4475 <dir>', 'directory of RFC 4475 torture messages (*.dat) to add to the SIP seeds (default: IMSLAB_RFC4475_DIR or the lab copy, when present)')
    .option('--no-rfc4475', 'do not add RFC 4475 messages')
    .option('--per-input-ms <ms>', 'a call slower than this (best of three) is a finding', '100')
    .option('--hang-seconds <s>', 'no progress for this long is a hang', '10')
    .option('--max-heap-growth <MiB>', 'heap growth after GC over a target\'s run that is a finding', '32')
    .option('--replay <file>', 'run one saved input (.bin) against the target named by --targets, in this process')
    .option('--json <file>', 'also write the summary as JSON (- = stdout)')
    .addOption(new Option('--list', 'list the targets and exit'))
    .action(async (opts: FuzzCliOptions) => {
      try {
        await fuzzAction(opts);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        console.error(`imslab fuzz: ${e.message}`);
        process.exitCode = 2;
      }
    });
}

async function fuzzAction(opts: FuzzCliOptions): Promise<void> {
  if (opts.list) {
    for (const t of TARGETS) console.log(t.name);
    return;
  }
  const names = opts.targets?.split(',').map((s) => s.trim()).filter(Boolean);
  let targets;
  try {
    targets = selectTargets(names);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const seed = opts.seed.trim();
  if (!seed) throw new UsageError('--seed must not be empty');

  if (opts.replay !== undefined) {
    if (targets.length !== 1) throw new UsageError('--replay needs exactly one target in --targets');
    const file = resolve(opts.replay);
    if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`--replay: ${file} is not a file`);
    const r = await replay(targets[0]!, readFileSync(file), seed);
    const perInputMs = positive('--per-input-ms', opts.perInputMs, { min: 1 });
    const slow = r.ms > perInputMs;
    console.log(`${targets[0]!.name}: ${r.outcome} in ${r.ms.toFixed(1)} ms${slow ? ` (over the ${perInputMs} ms limit)` : ''}\n${r.message}`);
    process.exitCode = r.outcome === 'finding' || slow ? 1 : 0;
    return;
  }

  const inputs = positive('--inputs', opts.inputs, { integer: true, min: 1, max: 100_000_000 });
  const seconds = positive('--seconds', opts.seconds, { min: 1, max: 7 * 24 * 3600 });
  const start = positive('--start', opts.start, { integer: true, min: 0, max: 2 ** 31 - 1 - inputs });
  const perInputMs = positive('--per-input-ms', opts.perInputMs, { min: 1 });
  const hangMs = positive('--hang-seconds', opts.hangSeconds, { min: 1, max: 3600 }) * 1000;
  const maxHeapGrowthMb = positive('--max-heap-growth', opts.maxHeapGrowth, { min: 1, max: 4096 });
  const tortureDir = opts.rfc4475 === false ? undefined : (opts.rfc4475 ?? defaultTortureDir());
  if (typeof opts.rfc4475 === 'string' && !existsSync(opts.rfc4475)) throw new UsageError(`--rfc4475: ${opts.rfc4475} does not exist`);
  for (const c of opts.corpus ?? []) if (!existsSync(c)) throw new UsageError(`--corpus: ${c} does not exist`);
  const jsonFile = opts.json === undefined || opts.json === '-' ? opts.json : resolve(opts.json);

  let summary;
  try {
    summary = await runFuzz({
      targets,
      inputs,
      seconds,
      seed,
      start,
      findingsDir: resolve(opts.findings),
      perInputMs,
      hangMs,
      maxHeapGrowthMb,
      corpus: { ...(tortureDir ? { tortureDir } : {}), extra: (opts.corpus ?? []).map((c) => resolve(c)) },
      log: (line) => console.error(line),
    });
  } catch (e) {
    if ((e as Error).name === 'CorpusError') throw new UsageError((e as Error).message);
    throw e;
  }
  const text = formatSummary(summary);
  if (jsonFile === '-') console.error(text);
  else console.log(text);
  if (jsonFile !== undefined) {
    const json = JSON.stringify(
      { ...summary, findings: summary.findings.map(({ input, ...f }) => ({ ...f, inputLength: input?.length })) },
      null,
      2,
    );
    if (jsonFile === '-') console.log(json);
    else writeFileSync(jsonFile, json + '\n');
  }
  process.exitCode = summary.findings.length > 0 ? 1 : 0;
}
