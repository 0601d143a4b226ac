// Next-key mode end to end with the real dehydrated 0.7 (PRIVATE_KEY_ROLLOVER=yes) against pebble,
// BIND primary + secondary (TLSA TTL 30 s) and postfix, under the independent outage monitor: the
// first issuance announces privkey.roll.pem; once aged, the renewal that moves it into position goes
// live inside its own deploy_cert, and both servers then serve exactly {current, new roll key}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runDehydrated } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import { readTlsa } from '../harness/dane-check.js';
import { certSpkiSha256, DOMAIN, HOOKS, keySpkiSha256, OWNER, withEnv, writeTimedHook } from '../harness/e2e.js';
import { reportFigures } from '../harness/figures.js';
import {
  activatedAt, assertMonitorCatchesSwap, assertNoViolation, postDeployUntilAged, postDeployUntilSettled, rrsetOf, servedRrset, startNextKeyRig,
} from '../harness/next-key-rig.js';

test('dehydrated PRIVATE_KEY_ROLLOVER=yes: the renewal with the aged roll key goes live inside its deploy_cert', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl', 'pebble', 'dehydrated', 'curl'])) return;
  const rig = await startNextKeyRig(t);
  const a = certSpkiSha256(rig.a.certPath);
  // HOOK = hooks/dehydrated (deploy_cert → deploy, exit_hook → post-deploy), timed per handler.
  const hook = writeTimedHook(rig.ws.dir, 'timed-dehydrated', join(HOOKS, 'dehydrated'));
  const deployCerts = () => hook.runs().filter((c) => c.args[0] === 'deploy_cert');
  const t0 = Date.now();

  // 1. First issuance: dehydrated makes the key B1 and already the roll key N1.
  const first = await withEnv(rig.hookEnv, () => runDehydrated(t, rig.pebble, { domains: [DOMAIN], hook: hook.path, keyRollover: true }));
  assert.equal(first.code, 0, `dehydrated failed:\n${first.stdout}\n${first.stderr}`);
  assert.deepEqual(hook.runs().filter((c) => c.code !== 0), [], 'every handler exited 0');
  assert.equal(deployCerts().length, 1);
  const b1 = keySpkiSha256(join(first.certDir, 'privkey.pem'));
  assert.equal(certSpkiSha256(join(first.certDir, 'cert.pem')), b1);
  const n1 = keySpkiSha256(first.rollKeyPath);
  assert.notEqual(n1, b1);
  let st = await rig.status();
  assert.equal(st.next?.spki, n1, `privkey.roll.pem is the announced next key; dehydrated said:\n${first.stdout}\n${first.stderr}`);
  assert.equal(st.next.source, 'dehydrated');
  // exit_hook's post-deploy may already have activated B1 (no RRset existed: no wait) and removed A.
  const published = await readTlsa(rig.bind.primary, OWNER);
  assert.ok([rrsetOf(a, b1, n1), rrsetOf(b1, n1)].some((x) => JSON.stringify(x) === JSON.stringify(published)), `B1 and N1 published (beside A until it is cleaned): ${JSON.stringify(published)}`);

  // 2. The timer activates B1 and ages N1.
  st = await postDeployUntilAged(rig);
  const agedAfter = Date.now() - t0;
  assert.equal(await rig.presented(), b1);
  assert.equal(st.rollovers.at(-1).path, 'new-key', 'the first issuance had no announced key');
  assert.deepEqual(await servedRrset(rig), rrsetOf(b1, n1));

  // 3. Renewal (--force): dehydrated moves N1 into position; deploy_cert activates at once.
  const renew = await withEnv(rig.hookEnv, () => runDehydrated(t, rig.pebble, { domains: [DOMAIN], hook: hook.path, keyRollover: true, dir: first.dir }));
  assert.equal(renew.code, 0, `dehydrated renewal failed:\n${renew.stdout}\n${renew.stderr}`);
  assert.deepEqual(hook.runs().filter((c) => c.code !== 0), [], 'every handler exited 0');
  const call = deployCerts()[1];
  assert.ok(call, 'deploy_cert ran for the renewal');
  assert.equal(keySpkiSha256(join(renew.certDir, 'privkey.pem')), n1, 'dehydrated renewed with the announced roll key');
  assert.equal(certSpkiSha256(join(renew.certDir, 'cert.pem')), n1);
  const n2 = keySpkiSha256(renew.rollKeyPath);
  st = await rig.status();
  const r2 = st.rollovers.at(-1);
  assert.equal(r2.spki, n1);
  assert.equal(r2.path, 'next-key');
  assert.ok(r2.activatedAt, `activated inside deploy_cert (phase ${r2.phase})`);
  const hookToActive = activatedAt(rig, r2.id) - call.start;
  assert.ok(hookToActive < 10_000, `activated ${hookToActive} ms after deploy_cert started`);
  assert.equal(await rig.presented(), n1, 'postfix presents the renewed key');

  // 4. B1's records go, the new roll key N2 is announced: RRset = {current, next}.
  const settled = await postDeployUntilSettled(rig);
  assert.equal(settled.status.next?.spki, n2, 'the new privkey.roll.pem is announced');
  assert.deepEqual(await servedRrset(rig), rrsetOf(n1, n2), 'both servers serve exactly {current, next}');
  assertNoViolation(rig.monitor.report(), 'dehydrated next-key');
  const report = rig.monitor.report();
  reportFigures(`next-key-dehydrated: deploy_cert start → activated ${hookToActive} ms (handler ${call.end - call.start} ms); N1 aged ${(agedAfter / 1000).toFixed(1)} s after the first issuance began; monitor ${report.samples} samples, ${report.violations} violations`);

  const caught = await assertMonitorCatchesSwap(rig);
  t.diagnostic(`control: a key swapped in without records → ${caught} violation samples`);
});
