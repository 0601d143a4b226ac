// 5. State file: load + save of a state holding 10,000 rollovers (1,000 ids × 10, 3 records each)
// with StateStore (read, JSON.parse, zod validation; JSON.stringify, temp file + fsync + rename +
// directory fsync), against JSON.parse + JSON.stringify + writeFileSync of the same bytes.
// One field changes before each save (an unchanged state is not written at all).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStore } from '../../src/io/state-store.js';
import type { State } from '../../src/core/state.js';
import { median, say, withRatio, type Row } from './lib.js';

const PHASES = ['cleaned', 'cleaned', 'cleaned', 'cleaned', 'superseded', 'activated', 'propagated', 'published', 'rolled-back', 'staged'] as const;

export function makeBigState(ids: number, perId: number): State {
  const hex = () => randomBytes(32).toString('hex');
  const at = (d: number) => new Date(Date.UTC(2026, 0, 1) + d * 60_000).toISOString();
  const state: State = { version: 2, certificates: {} };
  for (let i = 0; i < ids; i++) {
    const records = [25, 465, 587].map((p) => ({ name: `_${p}._tcp.mx${i}.example.com.`, ttl: 3600, tlsa: `3 1 1 ${hex()}` }));
    state.certificates[`mx${i}`] = {
      live: { spki: hex(), fingerprint: hex(), notAfter: at(129_600), records, source: 'activation' },
      liveKnown: true,
      owned: records,
      next: null,
      retiredNext: [],
      rollovers: Array.from({ length: perId }, (_, j) => ({
        id: `r${i}-${j}`, phase: PHASES[j % PHASES.length]!, spki: hex(), fingerprint: hex(), notAfter: at(129_600),
        stagedDir: `staged/mx${i}/r${i}-${j}`, records: [25, 465, 587].map((p) => ({ name: `_${p}._tcp.mx${i}.example.com.`, ttl: 3600, tlsa: `3 1 1 ${hex()}` })),
        replacedTtl: 3600, alreadyServed: false, createdAt: at(j), publishedAt: at(j + 1), propagatedAt: at(j + 2), activateAfter: at(j + 122),
        activatedAt: null, cleanedAt: null, servers: { 'example.com.@192.0.2.53:53': { firstServedAt: at(j + 2) } }, attempts: 1, lastError: null,
      })),
    };
  }
  return state;
}

export async function benchStateFile(opts: { runs: number }): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'danehook-bench-state-'));
  try {
    const text = JSON.stringify(makeBigState(1000, 10), null, 2) + '\n';
    const store = new StateStore(dir);
    writeFileSync(store.statePath, text, { mode: 0o600 });
    const plain = join(dir, 'plain.json');
    writeFileSync(plain, text, { mode: 0o600 });

    let n = 0;
    const ours = () => {
      const t0 = process.hrtime.bigint();
      const loaded = store.load();
      const t1 = process.hrtime.bigint();
      loaded.state.certificates.mx0!.rollovers[0]!.attempts = ++n;
      if (!store.save(loaded.state, loaded.text)) throw new Error('StateStore.save wrote nothing');
      const t2 = process.hrtime.bigint();
      return { total: Number(t2 - t0) / 1e6, load: Number(t1 - t0) / 1e6, save: Number(t2 - t1) / 1e6 };
    };
    const base = () => {
      const t0 = process.hrtime.bigint();
      const state = JSON.parse(readFileSync(plain, 'utf8')) as State;
      state.certificates.mx0!.rollovers[0]!.attempts = ++n;
      writeFileSync(plain, JSON.stringify(state, null, 2) + '\n');
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    ours();
    base();
    const a: { total: number; load: number; save: number }[] = [];
    const b: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      a.push(ours());
      b.push(base());
    }
    const totals = a.map((x) => x.total);
    say(`state: StateStore ${median(totals).toFixed(0)} ms vs plain JSON ${median(b).toFixed(0)} ms (${(text.length / 2 ** 20).toFixed(1)} MiB)`);
    return [
      withRatio({
        bench: '5 state file, 10,000 rollovers', metric: 'load + save', unit: 'ms', value: median(totals), runs: totals.length, samples: totals,
        baseline: { name: 'JSON.parse + stringify + writeFileSync', value: median(b), runs: b.length }, baselineSamples: b,
        note: `${(text.length / 2 ** 20).toFixed(1)} MiB of JSON; load (read + parse + zod) ${median(a.map((x) => x.load)).toFixed(0)} ms, save (stringify + write + fsync + rename + dir fsync) ${median(a.map((x) => x.save)).toFixed(0)} ms`,
      }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
