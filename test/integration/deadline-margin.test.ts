// The activation deadline on real BIND (primary + secondary held back, TTL 2 s): activateAfter =
// the moment the last server served the new RRset + delayFactor × TTL + rollover.margin, and the
// reload (timestamped by `date`) runs no earlier. Checked with margin: 3s and with the default.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';
import { reportFigures } from '../harness/figures.js';
import { lastRollover, sleep } from '../harness/steps.js';

const TTL = 2;
const OWNER = '_25._tcp.mx.example.test.';

/**
 * Roll A → B (no RRset before: no delay), then B → C with the secondary held until after two
 * post-deploy runs. Returns C's timestamps, when the secondary was released, and the last reload.
 */
async function rollTwice(t: TestContext, rollover: Record<string, unknown>) {
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Margin Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const [a, b, c] = [1, 2, 3].map(() => makeLeaf(ca, ['mx.example.test'])) as [CertFiles, CertFiles, CertFiles];
  const fullchain = join(ws.dir, 'fullchain.pem');
  copyFileSync(a.fullchainPath, fullchain);
  const reloads = join(ws.dir, 'reloads.log');
  const config = ws.writeConfig(bindConfig(ws, bind, {
    install: { fullchain }, live: a.fullchainPath, probe: { protocol: 'none' },
    reload: ['sh', '-c', `date +%s%3N >> ${reloads}`],
  }, { ttl: TTL, rollover: { propagationTimeout: '60s', ...rollover } }));

  assert.equal((await runCli(['deploy', '-c', config, '--pem', b.combinedPath])).code, 0);
  const w1 = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(w1.code, 0, w1.stderr);

  // Let the secondary finish any transfer the first rollover's cleanup started: a NOTIFY that
  // arrives during a transfer makes BIND check the SOA again afterwards, which could pick up C.
  assert.ok(await bind.waitForSecondarySync(), 'secondary in sync before the hold');
  await sleep(1000);
  await bind.holdSecondary();
  const d = await runCli(['deploy', '-c', config, '--pem', c.combinedPath]);
  assert.equal(d.code, 0, d.stderr);
  for (let i = 0; i < 2; i++) {
    assert.equal((await runCli(['post-deploy', '-c', config])).code, 0);
    await sleep(300);
  }
  assert.equal((await lastRollover(config))?.phase, 'published', 'not propagated while the secondary lags');
  const releasedFrom = Date.now();
  await bind.releaseSecondary();
  const w2 = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(w2.code, 0, w2.stderr);
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(c.fullchainPath, 'utf8'), 'C installed');
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [`3 1 1 ${opensslAssociation(c.certPath, 1, 1)}`]);
  const r = (await lastRollover(config))!;
  const at = (s: string | null) => { const v = Date.parse(s ?? ''); assert.ok(Number.isFinite(v), `timestamp ${s}`); return v; };
  return {
    propagatedAt: at(r.propagatedAt), activateAfter: at(r.activateAfter), activatedAt: at(r.activatedAt),
    releasedFrom, lastReload: Number(readFileSync(reloads, 'utf8').trim().split('\n').at(-1)), deployStderr: d.stderr,
  };
}

function assertOrder(x: Awaited<ReturnType<typeof rollTwice>>): void {
  assert.ok(x.propagatedAt >= x.releasedFrom, `propagatedAt ${new Date(x.propagatedAt).toISOString()} is before the secondary was released`);
  assert.ok(x.activatedAt >= x.activateAfter, 'activatedAt ≥ activateAfter');
  assert.ok(x.lastReload >= x.activateAfter, `reload ran ${x.activateAfter - x.lastReload} ms before the deadline`);
  assert.ok(x.lastReload - x.activateAfter < 2000, `reload ran ${x.lastReload - x.activateAfter} ms after the deadline`);
}

test('margin: 3s → activateAfter = last server served + 2 × TTL + 3 s', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const x = await rollTwice(t, { margin: '3s' });
  assert.equal(x.activateAfter - x.propagatedAt, 2 * TTL * 1000 + 3000);
  assertOrder(x);
  // The deploy publishing into a TTL-2 RRset warns about the low TTL, naming it.
  assert.match(x.deployStderr, new RegExp(`warning.*TTL[^\\n]*\\b${TTL}\\s*s?\\b`, 'i'));
});

test('default margin: positive, a few seconds, on top of 2 × TTL', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const x = await rollTwice(t, {});
  const margin = x.activateAfter - x.propagatedAt - 2 * TTL * 1000;
  reportFigures(`deadline-margin: default margin=${margin} ms (activateAfter − propagatedAt − 2 × TTL ${TTL}s)`);
  // Caches counting whole seconds keep an RRset up to ~2 s past 2 × TTL (FACTS.md): at least 2 s.
  assert.ok(margin >= 2000 && margin <= 30_000, `default margin ${margin} ms`);
  assertOrder(x);
});
