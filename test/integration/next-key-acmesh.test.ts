// Next-key mode end to end with the real acme.sh (vendored 3.1.4) and --always-force-new-domain-key,
// against pebble, BIND primary + secondary (TLSA TTL 30 s) and postfix, under the independent outage
// monitor: the first issuance announces <key>.next; once aged, the renewal that uses it goes live
// inside its own --reloadcmd, and both servers then serve exactly {current key, acme.sh's new next key}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runAcmeSh } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import { readTlsa } from '../harness/dane-check.js';
import { certSpkiSha256, DOMAIN, HOOKS, keySpkiSha256, OWNER, withEnv, writeTimedHook } from '../harness/e2e.js';
import { reportFigures } from '../harness/figures.js';
import {
  activatedAt, assertMonitorCatchesSwap, assertNoViolation, postDeployUntilAged, postDeployUntilSettled, rrsetOf, servedRrset, startNextKeyRig,
} from '../harness/next-key-rig.js';

test('acme.sh --always-force-new-domain-key: the renewal with the aged .next key goes live inside its reloadcmd', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl', 'pebble', 'curl'])) return;
  const rig = await startNextKeyRig(t);
  const a = certSpkiSha256(rig.a.certPath);
  const hook = writeTimedHook(rig.ws.dir, 'timed-deploy', join(HOOKS, 'deploy'));
  const t0 = Date.now();

  // 1. First issuance: acme.sh makes the key B1 and already the next one, N1 (<key>.next).
  const first = await withEnv(rig.hookEnv, () => runAcmeSh(t, rig.pebble, { domains: [DOMAIN], reloadcmd: hook.path, forceNewDomainKey: true }));
  assert.equal(first.code, 0, `acme.sh --issue failed:\n${first.stdout}\n${first.stderr}`);
  assert.deepEqual(hook.runs().map((c) => c.code), [0], 'the reloadcmd ran once and succeeded');
  const b1 = keySpkiSha256(first.keyPath);
  assert.equal(certSpkiSha256(first.certPath), b1);
  const n1 = keySpkiSha256(first.nextKeyPath);
  assert.notEqual(n1, b1);
  let st = await rig.status();
  assert.equal(st.next?.spki, n1, `acme.sh's .next is the announced next key; acme.sh said:\n${first.stdout}\n${first.stderr}`);
  assert.equal(st.next.source, 'acme.sh');
  assert.deepEqual(await readTlsa(rig.bind.primary, OWNER), rrsetOf(a, b1, n1), 'live A, new B1 and next N1 side by side');

  // 2. The timer activates B1 and ages N1 (every server serves it, then 2 × TTL + margin).
  st = await postDeployUntilAged(rig);
  const agedAfter = Date.now() - t0;
  assert.equal(await rig.presented(), b1);
  assert.equal(st.rollovers.at(-1).path, 'new-key', 'the first issuance had no announced key');
  assert.deepEqual(await servedRrset(rig), rrsetOf(b1, n1));

  // 3. Renewal: acme.sh uses N1; its reloadcmd activates at once.
  const renew = await withEnv(rig.hookEnv, () => runAcmeSh(t, rig.pebble, { domains: [DOMAIN], renew: true, dir: first.dir }));
  assert.equal(renew.code, 0, `acme.sh --renew failed:\n${renew.stdout}\n${renew.stderr}`);
  const call = hook.runs()[1];
  assert.equal(call?.code, 0, 'the renewal\'s reloadcmd succeeded');
  assert.equal(keySpkiSha256(renew.keyPath), n1, 'acme.sh renewed with the announced next key');
  assert.equal(certSpkiSha256(renew.certPath), n1);
  const n2 = keySpkiSha256(renew.nextKeyPath);
  st = await rig.status();
  const r2 = st.rollovers.at(-1);
  assert.equal(r2.spki, n1);
  assert.equal(r2.path, 'next-key');
  assert.ok(r2.activatedAt, `activated inside the reloadcmd (phase ${r2.phase})`);
  const hookToActive = activatedAt(rig, r2.id) - call!.start;
  assert.ok(hookToActive < 10_000, `activated ${hookToActive} ms after the reloadcmd started`);
  assert.equal(await rig.presented(), n1, 'postfix presents the renewed key');

  // 4. B1's records go, acme.sh's new next key N2 is announced: RRset = {current, next}.
  const settled = await postDeployUntilSettled(rig);
  assert.equal(settled.status.next?.spki, n2, 'acme.sh\'s new .next is announced');
  assert.deepEqual(await servedRrset(rig), rrsetOf(n1, n2), 'both servers serve exactly {current, next}');
  assertNoViolation(rig.monitor.report(), 'acme.sh next-key');
  const report = rig.monitor.report();
  reportFigures(`next-key-acmesh: reloadcmd start → activated ${hookToActive} ms (hook ${call!.end - call!.start} ms); N1 aged ${(agedAfter / 1000).toFixed(1)} s after the first issuance began; monitor ${report.samples} samples, ${report.violations} violations`);

  const caught = await assertMonitorCatchesSwap(rig);
  t.diagnostic(`control: a key swapped in without records → ${caught} violation samples`);
});
