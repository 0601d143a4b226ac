// 30 deploys in a row into an inline-signed BIND zone (primary + secondary) while both CPUs are
// busy: the signed zone lags each UPDATE, which must never be mistaken for a dropped UPDATE (77),
// and once the last rollover completes every record danehook published is gone but the last one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';
import { reportFigures } from '../harness/figures.js';
import { entryStatus } from '../harness/steps.js';

const DEPLOYS = 30;
const COMPLETE_EVERY = 10;
// About a minute on a quiet 2-core machine; a shared, loaded runner takes up to three.
const TIMEOUT_MS = 300_000;
const OWNER = '_25._tcp.mx.signed.test.';

/** Busy loops on `n` cores until the test ends (stopped by PID); returns their CPU seconds so far. */
function burnCpus(t: { after(fn: () => void): void }, n: number): () => number {
  const pids = Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }).pid!);
  t.after(() => { for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
  // /proc/PID/stat fields 14 and 15: utime, stime in clock ticks (100 per second on Linux).
  return () => pids.reduce((sum, pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return sum + (Number(f[11]) + Number(f[12])) / 100;
  }, 0);
}

test(`${DEPLOYS} deploys into an inline-signed zone under CPU load: no false 77, only the last certificate's records remain`, { timeout: TIMEOUT_MS }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const bind = await startBind(t, { zone: 'signed.test', ttl: 1, inlineSigned: true, secondary: true, threads: 4 });
  const ws = makeWorkspace();
  const ca = makeCa('Inline Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const first = makeLeaf(ca, ['mx.signed.test']);
  const leaves = Array.from({ length: DEPLOYS }, () => makeLeaf(ca, ['mx.signed.test']));
  const fullchain = join(ws.dir, 'fullchain.pem');
  copyFileSync(first.fullchainPath, fullchain);
  const config = ws.writeConfig(bindConfig(ws, bind, { domains: ['mx.signed.test'], install: { fullchain }, reload: ['true'], probe: { protocol: 'none' }, live: first.fullchainPath }, { ttl: 1, rollover: { propagationTimeout: '60s', margin: '1s' } }));

  const burned = burnCpus(t, 2);
  const started = Date.now();
  const codes: { step: string; ms: number; code: number | null; stderr: string }[] = [];
  for (let i = 1; i <= DEPLOYS; i++) {
    let t0 = Date.now();
    const d = await runCli(['deploy', '-c', config, '--pem', leaves[i - 1]!.combinedPath], { timeoutMs: 60_000 });
    codes.push({ step: `deploy ${i}`, ms: Date.now() - t0, ...d });
    // Deploys supersede each other; every COMPLETE_EVERY-th runs to the end (cleanup deletes the
    // superseded records and the old live one's).
    if (i % COMPLETE_EVERY !== 0) continue;
    t0 = Date.now();
    const p = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
    codes.push({ step: `post-deploy --wait ${i}`, ms: Date.now() - t0, ...p });
  }
  const elapsed = Date.now() - started;
  const slowest = [...codes].sort((a, b) => b.ms - a.ms)[0]!;
  const load = loadavg()[0]!;
  const burnt = burned();
  const refused = codes.filter((c) => c.code === 77);
  const failed = codes.filter((c) => c.code !== 0);
  const last = await entryStatus(config, 'mx', { online: true });
  reportFigures(`inline-signed: deploys=${DEPLOYS} completed=${DEPLOYS / COMPLETE_EVERY} exit77=${refused.length} nonzero=${failed.length} load1=${load.toFixed(2)} burner-cpu=${burnt.toFixed(0)}s elapsed=${(elapsed / 1000).toFixed(1)}s slowest=${slowest.step}:${slowest.ms}ms`);

  assert.equal(refused.length, 0, `exit 77 (UPDATE "not applied"):\n${refused.map((c) => `${c.step}: ${c.stderr}`).join('\n')}`);
  assert.deepEqual(failed, [], 'every run exits 0');
  // Two busy loops alone give a 1-minute load average above 1 within ~40 s (an idle machine: ~0.1).
  assert.ok(load >= 1, `the machine was loaded (1-minute load ${load})`);
  const want = [`3 1 1 ${opensslAssociation(leaves.at(-1)!.certPath, 1, 1)}`];
  assert.equal(last.rollovers.at(-1)?.phase, 'cleaned');
  assert.deepEqual(await readTlsa(bind.primary, OWNER), want, "primary: only the last certificate's record");
  assert.ok(await bind.waitForSecondarySync());
  assert.deepEqual(await readTlsa(bind.secondary!, OWNER), want, "secondary: only the last certificate's record");
  assert.deepEqual(last.foreignRecords, [], 'no record left as "not ours"');
});
