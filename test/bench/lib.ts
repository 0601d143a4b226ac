// Shared pieces of `npm run bench`: statistics, running a child with wall time and peak RSS, the
// result row every benchmark returns, the machine description and the table printer.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scriptContext } from '../harness/tempdir.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');

/** One line of the results table (and one object of the --json output). */
export interface Row {
  bench: string; // "1 no-op run"
  metric: string; // "wall time"
  unit: 'ms' | 'MB' | 'queries' | 'q/rollover' | 'records/s' | 's' | 'count' | '%';
  value: number; // median (or the single measured value)
  runs: number;
  /** What value is compared with; absent when the target is absolute. */
  baseline?: { name: string; value: number; runs: number };
  /** value / baseline.value */
  ratio?: number;
  /** e.g. "≤ 2.0×", "≤ 5 s" */
  target?: string;
  ok?: boolean;
  /** Every sample, for the JSON output. */
  samples?: number[];
  baselineSamples?: number[];
  note?: string;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `row` with ratio filled in from value and baseline. */
export function withRatio(row: Row): Row {
  if (row.baseline && row.baseline.value > 0) row.ratio = row.value / row.baseline.value;
  return row;
}

export const TIME_BIN = '/usr/bin/time';
export const hasGnuTime = (): boolean => existsSync(TIME_BIN) && spawnSync(TIME_BIN, ['-f', '%M', 'true']).status === 0;

export interface ChildRun {
  code: number | null;
  wallMs: number;
  /** Peak RSS of the child in MB (GNU time %M), undefined when not measured. */
  peakMB?: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a command, wall time measured here (spawn → exit). With `rss`, it runs under GNU
 * `/usr/bin/time -f %M -o FILE` (peak resident set of the child, in KiB). That adds one exec of
 * `time` (well under 1 ms) to the wall time, which is why the no-op bench measures wall time and
 * RSS in separate runs.
 */
export function runChild(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; rss?: boolean; timeoutMs?: number; cwd?: string } = {}): Promise<ChildRun> {
  let file = cmd;
  let argv = args;
  let dir: string | undefined;
  let rssFile: string | undefined;
  if (opts.rss) {
    dir = mkdtempSync(join(tmpdir(), 'danehook-bench-time-'));
    rssFile = join(dir, 'rss');
    file = TIME_BIN;
    argv = ['-f', '%M', '-o', rssFile, cmd, ...args];
  }
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      let peakMB: number | undefined;
      if (rssFile) {
        // GNU time writes "Command exited with non-zero status N" before the format line.
        const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
        peakMB = kb / 1024;
        rmSync(dir!, { recursive: true, force: true });
      }
      resolve({ code, wallMs, peakMB, stdout, stderr });
    });
  });
}

/** Synchronous variant for the tight no-op loop (less event-loop noise than spawn). */
export function runChildSync(cmd: string, args: string[], env?: NodeJS.ProcessEnv): { code: number | null; wallMs: number; stderr: string } {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { code: r.status, wallMs, stderr: r.stderr?.toString() ?? '' };
}

export function machine(): Record<string, string | number> {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  const nproc = Number(spawnSync('nproc').stdout?.toString().trim()) || cpus().length;
  const free = spawnSync('free', ['-h']).stdout?.toString().split('\n').find((l) => l.startsWith('Mem:'))?.trim().split(/\s+/) ?? [];
  return {
    nproc,
    cpu: model,
    memTotal: free[1] ?? `${Math.round(totalmem() / 2 ** 30)}Gi`,
    memAvailable: free[6] ?? `${Math.round(freemem() / 2 ** 30)}Gi`,
    node: process.version,
    bind: spawnSync('named', ['-v']).stdout?.toString().trim() || (spawnSync('/usr/sbin/named', ['-v']).stdout?.toString().trim() ?? 'unknown'),
    date: new Date().toISOString(),
    /** 1-minute load average when the bench ended: other work on the machine skews wall times. */
    loadavg: loadavg()[0]!.toFixed(1),
  };
}

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const digits = unit === 'ms' ? (v < 10 ? 2 : v < 1000 ? 1 : 0) : unit === 'MB' ? 1 : unit === 'q/rollover' ? 2 : unit === 's' ? 2 : 0;
  return `${v.toFixed(digits)} ${unit}`;
}

/** The results as a Markdown table (it is pasted into the README as is). */
export function formatTable(rows: Row[]): string {
  const head = ['benchmark', 'metric', 'danehook (median)', 'baseline', 'baseline (median)', 'ratio', 'target', 'met'];
  const lines = rows.map((r) => [
    r.bench,
    r.metric,
    fmt(r.value, r.unit) + (r.runs > 1 ? ` (n=${r.runs})` : ''),
    r.baseline?.name ?? '—',
    r.baseline ? fmt(r.baseline.value, r.unit) + (r.baseline.runs > 1 ? ` (n=${r.baseline.runs})` : '') : '—',
    r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`,
    r.target ?? '—',
    r.ok === undefined ? '—' : r.ok ? 'yes' : '**no**',
  ]);
  const all = [head, ...lines];
  const widths = head.map((_, i) => Math.max(...all.map((l) => l[i]!.length)));
  const line = (l: string[]) => `| ${l.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(line)].join('\n');
}

/** Progress on stderr (stdout carries the table or the JSON). */
export function say(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const open = new Set<ReturnType<typeof scriptContext>>();

/**
 * A harness context (servers it starts are stopped by close()) that is also closed if the bench
 * is interrupted or dies, so no named is left running.
 */
export function benchContext(): ReturnType<typeof scriptContext> {
  const t = scriptContext();
  open.add(t);
  return { after: t.after, close: async () => { open.delete(t); await t.close(); } };
}

export async function closeAllContexts(): Promise<void> {
  for (const t of [...open]) {
    open.delete(t);
    await t.close().catch(() => {});
  }
}
