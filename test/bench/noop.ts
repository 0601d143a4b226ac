// 1. No-op run: `node dist/cli.js post-deploy -c CONFIG` with nothing pending, after one full run
// that validated and stamped the config (so the fast path of src/commands/noop-check.ts applies),
// against `node -e 0`. Runs alternate (baseline, danehook, baseline, …) so drift hits both alike.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, hasGnuTime, median, runChild, runChildSync, say, withRatio, type Row } from './lib.js';

export async function benchNoop(opts: { runs: number; rssRuns: number }): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'danehook-bench-noop-'));
  try {
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const secret = join(dir, 'tsig.secret');
    writeFileSync(secret, Buffer.alloc(32, 7).toString('base64') + '\n', { mode: 0o600 });
    const config = join(dir, 'config.yaml');
    // A realistic config (YAML, like the README's); DNS points at a closed port: a no-op must not ask.
    writeFileSync(
      config,
      `stateDir: ${stateDir}
dns:
  server: 127.0.0.1:9
  tsig: { name: danehook-key, secretFile: ${secret} }
  nameservers: auto
  ttl: 3600
rollover:
  delayFactor: 2
  propagationTimeout: 1h
certificates:
  - id: mx
    domains: [mx.example.com]
    ports: [25, 465, 587]
    tlsa: ["3 1 1"]
    install: { combined: ${join(dir, 'chain.pem')} }
    reload: ["true"]
    probe: { protocol: none }
`,
      { mode: 0o600 },
    );
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const args = [CLI, 'post-deploy', '-c', config];
    const first = runChildSync(process.execPath, [CLI, 'post-deploy', '-v', '-c', config], env);
    if (first.code !== 0) throw new Error(`first (stamping) post-deploy exited ${first.code}: ${first.stderr}`);
    const check = runChildSync(process.execPath, [CLI, 'post-deploy', '-v', '-c', config], env);
    if (check.code !== 0 || !/fast path/.test(check.stderr)) throw new Error(`the no-op run did not take the fast path: ${check.stderr}`);

    // Warm the page cache for both, then alternate.
    for (let i = 0; i < 3; i++) {
      runChildSync(process.execPath, ['-e', '0'], env);
      runChildSync(process.execPath, args, env);
    }
    const base: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      base.push(runChildSync(process.execPath, ['-e', '0'], env).wallMs);
      const r = runChildSync(process.execPath, args, env);
      if (r.code !== 0) throw new Error(`no-op post-deploy exited ${r.code}: ${r.stderr}`);
      ours.push(r.wallMs);
    }
    say(`no-op: wall ${median(ours).toFixed(1)} ms vs node -e 0 ${median(base).toFixed(1)} ms`);
    const rows: Row[] = [
      withRatio({
        bench: '1 no-op post-deploy', metric: 'wall time', unit: 'ms', value: median(ours), runs: ours.length, samples: ours,
        baseline: { name: 'node -e 0', value: median(base), runs: base.length }, baselineSamples: base, target: '≤ 2.0×',
      }),
    ];
    if (hasGnuTime()) {
      const baseRss: number[] = [];
      const ourRss: number[] = [];
      for (let i = 0; i < opts.rssRuns; i++) {
        baseRss.push((await runChild(process.execPath, ['-e', '0'], { env, rss: true })).peakMB!);
        ourRss.push((await runChild(process.execPath, args, { env, rss: true })).peakMB!);
      }
      rows.push(
        withRatio({
          bench: '1 no-op post-deploy', metric: 'peak RSS', unit: 'MB', value: median(ourRss), runs: ourRss.length, samples: ourRss,
          baseline: { name: 'node -e 0', value: median(baseRss), runs: baseRss.length }, baselineSamples: baseRss, target: '≤ 2.0×',
          note: 'GNU time %M',
        }),
      );
    } else {
      rows.push({ bench: '1 no-op post-deploy', metric: 'peak RSS', unit: 'MB', value: NaN, runs: 0, note: '/usr/bin/time (GNU time) not installed: not measured' });
    }
    for (const r of rows) if (r.ratio !== undefined) r.ok = r.ratio <= 2.0;
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
