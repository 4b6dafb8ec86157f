import { Option, type Command } from 'commander';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatReport } from '../../bench/report.js';
import { reportToJson, runBench, runSuiteHere, unknownSuites } from '../../bench/runner.js';
import { SUITES } from '../../bench/suites.js';

/** Window lengths, and the least run limits (the chosen suites' budgets decide beyond them). */
const DEFAULTS = { full: { seconds: 2, limit: 175 }, quick: { seconds: 0.5, limit: 38 } };

interface BenchOptions {
  json?: string;
  seconds?: string;
  only?: string;
  quick?: boolean;
  suite?: string;
  injectFailure?: string;
}

/**
 * `imslab bench`: how much IMS this machine can simulate (issue 7). Every suite runs in a process of its own;
 * the table goes to stdout (stderr when the JSON does), progress to stderr. Exit code 0 when every suite that
 * ran worked, 1 when one failed (it is named with its step), 2 for bad input.
 */
export function registerBenchCommands(program: Command): void {
  program
    .command('bench')
    .description('measure the machine ceiling, the codecs, transactions, RTP and memory; print a table and JSON (issue 7)')
    .option('--json <file>', 'also write every figure as JSON with dotted keys (- = stdout)')
    .option('--seconds <n>', 'length of each measuring window in seconds (default 2, 0.5 with --quick)')
    .option('--only <suites>', `comma-separated suites to run: ${SUITES.map((s) => s.name).join(', ')}`)
    .option('--quick', 'short windows and smaller counts')
    .addOption(new Option('--suite <name>', 'run one suite in this process and print its report (used by the harness)').hideHelp())
    .addOption(new Option('--inject-failure <suite>', 'make a suite fail at its first step (harness self-test)').hideHelp())
    .action(async (opts: BenchOptions) => {
      const quick = opts.quick === true;
      const defaults = quick ? DEFAULTS.quick : DEFAULTS.full;
      const seconds = opts.seconds === undefined ? defaults.seconds : Number(opts.seconds);
      if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 60) {
        return badInput(`--seconds must be a number from 0.1 to 60, got "${opts.seconds}"`);
      }
      if (opts.suite !== undefined) return childMode(opts.suite, { seconds, quick, injectFailure: opts.injectFailure });

      const only = opts.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (only !== undefined) {
        if (only.length === 0) return badInput('--only needs at least one suite name');
        const unknown = unknownSuites(only);
        if (unknown.length > 0) return badInput(`unknown suite ${unknown.join(', ')} in --only (known: ${SUITES.map((s) => s.name).join(', ')})`);
      }
      if (opts.injectFailure !== undefined && unknownSuites([opts.injectFailure]).length > 0) {
        return badInput(`unknown suite "${opts.injectFailure}" in --inject-failure`);
      }
      const jsonFile = opts.json === undefined || opts.json === '-' ? opts.json : resolve(opts.json);
      if (jsonFile && jsonFile !== '-') {
        // Checked before the run, so that minutes of measuring are not lost to a typo in the path.
        const dir = dirname(jsonFile);
        if (!existsSync(dir) || !statSync(dir).isDirectory()) return badInput(`--json: directory ${dir} does not exist`);
      }
      // The run takes as long as the chosen suites' budgets (each suite is bounded by its own); the storms and
      // the Kamailio comparison need minutes, so a fixed total would cut them off.
      const chosen = SUITES.filter((s) => !only || only.includes(s.name));
      const limitSeconds = Math.max(defaults.limit, chosen.reduce((t, s) => t + s.budgetSeconds({ seconds, quick }), 0));

      const report = await runBench({
        seconds,
        quick,
        ...(only ? { only } : {}),
        limitSeconds,
        ...(opts.injectFailure ? { injectFailure: opts.injectFailure } : {}),
        progress: (line) => process.stderr.write(`bench: ${line}\n`),
      });
      const table = formatReport(report);
      if (jsonFile === '-') {
        process.stderr.write(`${table}\n`);
        process.stdout.write(`${JSON.stringify(reportToJson(report), null, 2)}\n`);
      } else {
        process.stdout.write(`${table}\n`);
        if (jsonFile) {
          try {
            writeFileSync(jsonFile, `${JSON.stringify(reportToJson(report), null, 2)}\n`);
          } catch (err) {
            console.error(`imslab bench: could not write ${jsonFile}: ${(err as Error).message}`);
            process.exitCode = 2;
            return;
          }
        }
      }
      if (report.failures.length > 0) {
        process.stderr.write(`imslab bench: ${report.failures.map((f) => `suite ${f.suite} failed in step "${f.step}"`).join('; ')}\n`);
        process.exitCode = 1;
      }
    });
}

/** One suite in this process; its report as one JSON line on stdout. Exits when written, so no handle left open can keep it alive. */
async function childMode(name: string, opts: { seconds: number; quick: boolean; injectFailure?: string | undefined }): Promise<void> {
  if (unknownSuites([name]).length > 0) return badInput(`unknown suite "${name}" (known: ${SUITES.map((s) => s.name).join(', ')})`);
  const report = await runSuiteHere(name, { seconds: opts.seconds, quick: opts.quick, ...(opts.injectFailure ? { injectFailure: opts.injectFailure } : {}) });
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(report.ok ? 0 : 1));
}

function badInput(message: string): void {
  console.error(`imslab bench: ${message}`);
  process.exitCode = 2;
}
