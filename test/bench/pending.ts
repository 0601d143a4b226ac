// 3. Many pending rollovers: a config with 1,000 certificate entries (3 ports each, "3 1 1") and a
// state file (built directly, schema src/core/state.ts) with one rollover per entry in phase
// `published`, whose 3,000 records a real BIND primary and its secondary both serve. One
// `post-deploy` must poll all of them: every server serves every record, so each rollover becomes
// `propagated` (replacedTtl 300 s: activation is then 10 min away, so the run ends there).
//
// Wall time and peak RSS come from runs straight at the servers; the query count from one more
// run with a counting forwarder (count-proxy.ts) in front of each server (dns.server goes through
// the primary's forwarder too, so zone lookups count). The baseline is min-querier.mjs: a plain
// node script asking both servers the 3,000 TLSA questions once each, 64 in flight per server.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind } from '../harness/bind.js';
import { TsigKey } from '../../src/config/tsig-key.js';
import { createRfc2136Provider } from '../../src/providers/rfc2136/index.js';
import type { Change } from '../../src/providers/types.js';
import { startCountingProxy } from './count-proxy.js';
import { axfrTlsa, ZONE } from './publish.js';
import { benchContext, CLI, hasGnuTime, median, ROOT, runChild, say, withRatio, type Row } from './lib.js';

const ENTRIES = 1000;
const PORTS = [25, 465, 587];

export async function benchPending(opts: { runs: number }): Promise<Row[]> {
  const t = benchContext();
  const dir = mkdtempSync(join(tmpdir(), 'danehook-bench-pending-'));
  try {
    const bind = await startBind(t, { zone: ZONE, ttl: 300, secondary: true });
    const tsig = new TsigKey(bind.key.name, bind.key.algorithm, Buffer.from(bind.key.secret, 'base64'));
    const hex = () => randomBytes(32).toString('hex');
    const entries = Array.from({ length: ENTRIES }, (_, i) => {
      const domain = `h${i}.${ZONE.replace(/\.$/, '')}`;
      return { id: `c${i}`, domain, records: PORTS.map((p) => ({ name: `_${p}._tcp.${domain}.`, ttl: 300, tlsa: `3 1 1 ${hex()}` })) };
    });

    // Publish all 3,000 records in one provider apply, then wait for the secondary to follow.
    const changes: Change[] = entries.flatMap((e) =>
      e.records.map((r) => {
        const [u, s, m, data] = r.tlsa.split(' ');
        return { op: 'create' as const, name: r.name, ttl: r.ttl, rdata: { usage: Number(u), selector: Number(s), matchingType: Number(m), data: data! } };
      }),
    );
    await createRfc2136Provider({ server: bind.primary, key: tsig, timeoutMs: 10_000 }).apply({ changes });
    if (!(await bind.waitForSecondarySync(60_000))) throw new Error('the secondary did not catch up');
    for (const ep of [bind.primary, bind.secondary!]) {
      const n = (await axfrTlsa(bind, ep)).size;
      if (n !== changes.length) throw new Error(`${ep.port} serves ${n} TLSA records, not ${changes.length}`);
    }

    const stateDir = join(dir, 'state');
    const now = new Date();
    const iso = (ms: number) => new Date(now.getTime() + ms).toISOString();
    const state = {
      version: 1,
      certificates: Object.fromEntries(
        entries.map((e, i) => [
          e.id,
          {
            live: null,
            liveKnown: true,
            owned: e.records,
            rollovers: [
              {
                id: `r${i}`, phase: 'published', spki: hex(), fingerprint: hex(), notAfter: iso(90 * 86_400_000),
                stagedDir: `staged/${e.id}/r${i}`, records: e.records, replacedTtl: 300, alreadyServed: false,
                createdAt: iso(-60_000), publishedAt: iso(-60_000), propagatedAt: null, activateAfter: null, activatedAt: null, cleanedAt: null,
                servers: {}, attempts: 1, lastError: null,
              },
            ],
          },
        ]),
      ),
    };
    const stateText = JSON.stringify(state, null, 2) + '\n';
    const writeConfig = (file: string, server: number, nameservers: number[]) => {
      writeFileSync(
        file,
        JSON.stringify({
          stateDir,
          dns: {
            server: `127.0.0.1:${server}`, tsig: { name: 'danehook-key', keyFile: bind.keyFilePath },
            nameservers: nameservers.map((p) => `127.0.0.1:${p}`), ttl: 300, timeout: '5s',
          },
          rollover: { delayFactor: 2, propagationTimeout: '1h' },
          certificates: entries.map((e) => ({ nextKey: { mode: 'off' }, id: e.id, domains: [e.domain], ports: PORTS, tlsa: ['3 1 1'], reload: ['true'], probe: { protocol: 'none' }, live: 'none' })),
        }),
      );
      return file;
    };
    const direct = writeConfig(join(dir, 'direct.json'), bind.primary.port, [bind.primary.port, bind.secondary!.port]);
    // A state dir as a hoster's would look before the run: only state.json (no stamp, no events).
    const reset = () => {
      rmSync(stateDir, { recursive: true, force: true });
      mkdirSync(stateDir, { mode: 0o700, recursive: true });
      writeFileSync(join(stateDir, 'state.json'), stateText, { mode: 0o600 });
    };
    const check = (r: { code: number | null; stderr: string }, what: string) => {
      if (r.code !== 0) throw new Error(`${what}: post-deploy exited ${r.code}: ${r.stderr.slice(-2000)}`);
      const after = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));
      const phases = Object.values(after.certificates as Record<string, { rollovers: { phase: string }[] }>).map((c) => c.rollovers[0]!.phase);
      const propagated = phases.filter((p) => p === 'propagated').length;
      if (propagated !== ENTRIES) throw new Error(`${what}: ${propagated} of ${ENTRIES} rollovers propagated after the run`);
    };
    const rss = hasGnuTime();
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

    const wall: number[] = [];
    const peak: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      reset();
      const r = await runChild(process.execPath, [CLI, 'post-deploy', '-q', '-c', direct], { env, rss, timeoutMs: 120_000 });
      check(r, `run ${i + 1}`);
      wall.push(r.wallMs);
      if (r.peakMB !== undefined) peak.push(r.peakMB);
      say(`pending: run ${i + 1}: ${r.wallMs.toFixed(0)} ms${r.peakMB ? `, ${r.peakMB.toFixed(0)} MB` : ''}`);
    }

    // DANEHOOK_BENCH_CPU_PROF=DIR: one more run under `node --cpu-prof`, profile written to DIR.
    const profDir = process.env.DANEHOOK_BENCH_CPU_PROF;
    if (profDir) {
      reset();
      const r = await runChild(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, CLI, 'post-deploy', '-q', '-c', direct], { env, timeoutMs: 180_000 });
      check(r, 'profiled run');
      say(`pending: CPU profile of a ${r.wallMs.toFixed(0)} ms run written to ${profDir}`);
    }

    // Counted run through forwarders.
    const pp = await startCountingProxy(bind.primary);
    const ps = await startCountingProxy(bind.secondary!);
    let counts;
    try {
      const viaProxy = writeConfig(join(dir, 'proxied.json'), pp.port, [pp.port, ps.port]);
      reset();
      const r = await runChild(process.execPath, [CLI, 'post-deploy', '-q', '-c', viaProxy], { env, timeoutMs: 120_000 });
      check(r, 'counted run');
      counts = { primary: pp.counts(), secondary: ps.counts() };
    } finally {
      await pp.close();
      await ps.close();
    }
    const total = counts.primary.udp + counts.primary.tcp + counts.secondary.udp + counts.secondary.tcp;
    const repeated = counts.primary.repeated + counts.secondary.repeated;
    const byType: Record<string, number> = {};
    for (const c of [counts.primary, counts.secondary]) for (const [k, v] of Object.entries(c.byType)) byType[k] = (byType[k] ?? 0) + v;
    say(`pending: ${total} DNS messages (${JSON.stringify(byType)}), ${repeated} repeated questions`);

    // Baseline: the bare questions.
    const qfile = join(dir, 'questions.json');
    writeFileSync(qfile, JSON.stringify({ servers: [bind.primary, bind.secondary], names: entries.flatMap((e) => e.records.map((r) => r.name)) }));
    const bwall: number[] = [];
    const bpeak: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const r = await runChild(process.execPath, [join(ROOT, 'test', 'bench', 'min-querier.mjs'), qfile], { env, rss, timeoutMs: 60_000 });
      const out = JSON.parse(r.stdout) as { queries: number; served: number };
      if (r.code !== 0 || out.served !== out.queries) throw new Error(`min-querier: ${r.stdout} ${r.stderr}`);
      bwall.push(r.wallMs);
      if (r.peakMB !== undefined) bpeak.push(r.peakMB);
    }
    const minimal = 2 * changes.length;

    const rows: Row[] = [
      withRatio({
        bench: '3 post-deploy, 1,000 pending', metric: 'wall time', unit: 'ms', value: median(wall), runs: wall.length, samples: wall,
        baseline: { name: 'bare 6,000 TLSA queries (min-querier.mjs)', value: median(bwall), runs: bwall.length }, baselineSamples: bwall,
        target: '≤ 5 s', ok: median(wall) <= 5000,
      }),
      withRatio({
        bench: '3 post-deploy, 1,000 pending', metric: 'peak RSS', unit: 'MB', value: median(peak), runs: peak.length, samples: peak,
        baseline: { name: 'bare 6,000 TLSA queries (min-querier.mjs)', value: median(bpeak), runs: bpeak.length }, baselineSamples: bpeak,
        target: '≤ 150 MB', ok: median(peak) <= 150,
      }),
      withRatio({
        bench: '3 post-deploy, 1,000 pending', metric: 'DNS messages sent', unit: 'queries', value: total, runs: 1,
        baseline: { name: '3,000 names × 2 servers', value: minimal, runs: 1 },
        note: `by type ${JSON.stringify(byType)}; primary ${counts.primary.udp} UDP + ${counts.primary.tcp} TCP, secondary ${counts.secondary.udp} UDP + ${counts.secondary.tcp} TCP; ${repeated} repeated a question already asked of the same server`,
      }),
      {
        bench: '3 post-deploy, 1,000 pending', metric: 'queries per rollover', unit: 'q/rollover', value: total / ENTRIES, runs: 1,
        baseline: { name: 'minimum (3 names × 2 servers)', value: minimal / ENTRIES, runs: 1 }, ratio: total / minimal,
        target: 'de-duplicated', ok: repeated === 0,
      },
    ];
    return rows;
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
