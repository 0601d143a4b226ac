// `npm run bench`: builds dist/, then runs the benchmarks (1–5 of issue 7, 6 of issue 11) on loopback with real
// BIND and prints one table (medians, baselines measured in the same run, ratios, targets).
//   --json           the rows, the machine and the settings as JSON on stdout instead of the table
//   --only 1,3       run only these benchmarks
//   --no-build       measure dist/ as it is
// DANEHOOK_BENCH_CPU_PROF=DIR adds a `node --cpu-prof` run of benchmark 3, profile in DIR.
// Progress goes to stderr. Exit status 0 even when a target is missed (the table says so).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { binaryPath } from '../harness/binaries.js';
import { benchDelay } from './delay.js';
import { CLI, closeAllContexts, formatTable, machine, ROOT, say, type Row } from './lib.js';
import { benchNoop } from './noop.js';
import { benchPending } from './pending.js';
import { benchPublish } from './publish.js';
import { benchStateFile } from './state-file.js';
import { benchZeroWait } from './zero-wait.js';

const { values } = parseArgs({
  options: { json: { type: 'boolean', default: false }, only: { type: 'string' }, 'no-build': { type: 'boolean', default: false } },
});
const only = new Set((values.only ?? '1,2,3,4,5,6').split(',').map((s) => s.trim()));

// Runs per benchmark: sized so that the whole bench stays around 2–3 minutes on 2 cores.
const SETTINGS = { noopRuns: 20, noopRssRuns: 7, publishRuns: 5, pendingRuns: 3, delayRollovers: 10, stateRuns: 7, zeroWaitRenewals: 6 };

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    say(`${sig}: stopping the servers this bench started`);
    void closeAllContexts().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  if (!values['no-build']) {
    say('building dist/ (npm run build)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build`);
  for (const bin of ['named', 'nsupdate', 'dig']) {
    try {
      binaryPath(bin);
    } catch {
      throw new Error(`${bin} is not installed (bash test/setup-debian.sh installs it)`);
    }
  }
  const started = Date.now();
  const loadAtStart = loadavg()[0]!.toFixed(1);
  const rows: Row[] = [];
  const step = async (id: string, name: string, fn: () => Promise<Row[]>) => {
    if (!only.has(id)) return;
    const t0 = Date.now();
    say(`${id}. ${name}`);
    rows.push(...(await fn()));
    say(`${id}. done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  };
  await step('1', 'no-op post-deploy vs node -e 0', () => benchNoop({ runs: SETTINGS.noopRuns, rssRuns: SETTINGS.noopRssRuns }));
  await step('2', 'publish 3,000 TLSA records: provider vs nsupdate', () => benchPublish({ runs: SETTINGS.publishRuns }));
  await step('3', 'post-deploy over 1,000 pending rollovers', () => benchPending({ runs: SETTINGS.pendingRuns }));
  await step('4', 'delay overhead of 10 rollovers with TTL 2 s', () => benchDelay({ rollovers: SETTINGS.delayRollovers }));
  await step('5', 'state file with 10,000 rollovers', () => benchStateFile({ runs: SETTINGS.stateRuns }));
  await step('6', 'zero-wait renewals with an aged next key', () => benchZeroWait({ renewals: SETTINGS.zeroWaitRenewals }));
  const m = machine();
  const elapsed = (Date.now() - started) / 1000;
  if (values.json) {
    process.stdout.write(JSON.stringify({ machine: { ...m, loadavgAtStart: loadAtStart }, settings: SETTINGS, elapsedSeconds: elapsed, rows }, null, 2) + '\n');
    return;
  }
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.bench}, ${r.metric}: ${r.note}`);
  process.stdout.write(
    `${formatTable(rows)}\n\n${notes.join('\n')}\n\nMachine: ${m.nproc} CPUs (${m.cpu}), ${m.memTotal} RAM (${m.memAvailable} available), node ${m.node}, ${m.bind}; ${m.date}; bench took ${elapsed.toFixed(0)} s; 1-min load average ${loadAtStart} at start, ${m.loadavg} at end.\n`,
  );
}

main()
  .catch(async (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => closeAllContexts());
