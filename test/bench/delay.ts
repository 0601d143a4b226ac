// 4. Delay overhead: 10 rollovers, one after another, of one entry on real BIND (primary +
// secondary, TTL 2 s), each by `danehook deploy --wait --pem NEXT` (reload `true`, probe none).
// Overhead = the activation event's time (events.jsonl, `activated`.at) minus the earliest time
// activation was allowed: propagatedAt (the poll that saw the last server serve the records)
// + delayFactor × replacedTtl. A first deploy brings a live certificate and the RRset, so each
// measured rollover replaces an existing RRset and really waits 2 × 2 s.
// Baseline: the reload command's own time (`true` spawned from node).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, removeCertDir } from '../harness/certs.js';
import { benchContext, CLI, median, runChild, say, type Row } from './lib.js';

interface Ev { at: string; rollover?: string; phase?: string; propagatedAt?: string; replacedTtl?: number | null }

export async function benchDelay(opts: { rollovers: number }): Promise<Row[]> {
  const t = benchContext();
  const dir = mkdtempSync(join(tmpdir(), 'danehook-bench-delay-'));
  const ca = makeCa('Bench Delay Root');
  try {
    const TTL = 2;
    // Stated, so the overhead is measured against the deadline danehook computes, margin included.
    const MARGIN_MS = 1000;
    const DELAY_FACTOR = 2;
    const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
    const leaves = Array.from({ length: opts.rollovers + 2 }, () => makeLeaf(ca, ['mx.example.test']));
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const fullchain = join(dir, 'fullchain.pem');
    const key = join(dir, 'key.pem');
    copyFileSync(leaves[0]!.fullchainPath, fullchain);
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        stateDir,
        dns: {
          server: `127.0.0.1:${bind.primary.port}`, tsig: { name: 'danehook-key', keyFile: bind.keyFilePath },
          nameservers: [`127.0.0.1:${bind.primary.port}`, `127.0.0.1:${bind.secondary!.port}`], ttl: TTL, timeout: '2s',
        },
        rollover: { delayFactor: DELAY_FACTOR, margin: `${MARGIN_MS}ms` },
        certificates: [{ nextKey: { mode: 'off' }, id: 'mx', domains: ['mx.example.test'], ports: [25], install: { fullchain, key }, reload: ['true'], probe: { protocol: 'none' }, live: fullchain }],
      }),
    );
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const deploy = async (pem: string) => {
      const r = await runChild(process.execPath, [CLI, 'deploy', '--wait', '-q', '-c', config, '--pem', pem], { env, timeoutMs: 90_000 });
      if (r.code !== 0) throw new Error(`deploy --wait exited ${r.code}: ${r.stderr.slice(-2000)}`);
      return r;
    };
    const events = (): Ev[] => (existsSync(join(stateDir, 'events.jsonl')) ? readFileSync(join(stateDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Ev) : []);

    await deploy(leaves[1]!.combinedPath); // no RRset before: activates at once; now B is live with its records
    const overheads: number[] = [];
    const walls: number[] = [];
    for (let k = 2; k <= opts.rollovers + 1; k++) {
      const before = events().length;
      const r = await deploy(leaves[k]!.combinedPath);
      const ev = events().slice(before);
      const published = ev.find((e) => e.phase === 'published' && e.replacedTtl !== undefined);
      const propagated = ev.find((e) => e.phase === 'propagated' && e.propagatedAt);
      const activated = ev.find((e) => e.phase === 'activated');
      if (!published || !propagated || !activated) throw new Error(`rollover ${k - 1}: events missing: ${JSON.stringify(ev)}`);
      if (published.replacedTtl !== TTL) throw new Error(`rollover ${k - 1}: replacedTtl ${published.replacedTtl}, expected ${TTL}`);
      const allowed = Date.parse(propagated.propagatedAt!) + DELAY_FACTOR * TTL * 1000 + MARGIN_MS;
      const late = Date.parse(activated.at) - allowed;
      if (late < 0) throw new Error(`rollover ${k - 1}: activated ${-late} ms BEFORE it was allowed`);
      overheads.push(late);
      walls.push(r.wallMs);
      say(`delay: rollover ${k - 1}: activated ${late} ms after propagatedAt + ${DELAY_FACTOR} × ${TTL} s + margin (deploy --wait took ${(r.wallMs / 1000).toFixed(1)} s)`);
    }
    if (readFileSync(fullchain, 'utf8') !== readFileSync(leaves[opts.rollovers + 1]!.fullchainPath, 'utf8')) throw new Error('the last certificate is not installed');

    const reload: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync('true');
      reload.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const target = 1000 + median(reload);
    return [
      {
        bench: '4 delay overhead, TTL 2 s', metric: 'activation − (propagated + 2×TTL + margin)', unit: 'ms', value: median(overheads), runs: overheads.length, samples: overheads,
        baseline: { name: 'reload command (`true`)', value: median(reload), runs: reload.length }, baselineSamples: reload,
        ratio: median(overheads) / median(reload), target: `≤ 1 s + reload (${target.toFixed(0)} ms)`, ok: median(overheads) <= target,
        note: `min ${Math.min(...overheads)} ms, max ${Math.max(...overheads)} ms; deploy --wait took ${(median(walls) / 1000).toFixed(1)} s per rollover (median)`,
      },
    ];
  } finally {
    await t.close();
    removeCertDir(ca);
    rmSync(dir, { recursive: true, force: true });
  }
}
