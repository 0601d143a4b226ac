// certbot has no next key (NEXT-KEY-FACTS.md), so the two renewals the certbot example documents, end
// to end with the real certbot against pebble, BIND primary + secondary (TLSA TTL 30 s) and postfix,
// under the independent outage monitor: `--reuse-key` → same key, live inside its deploy hook; the
// scheduled `--new-key` → an unannounced key that waits 2 × TTL + margin after the last server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCertbot } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import { certSpkiSha256, DOMAIN, HOOKS, keySpkiSha256, withEnv, writeTimedHook } from '../harness/e2e.js';
import { reportFigures } from '../harness/figures.js';
import {
  activatedAt, assertMonitorCatchesSwap, assertNoViolation, postDeployUntilSettled, rrsetOf, servedRrset, startNextKeyRig, TTL,
} from '../harness/next-key-rig.js';

test('certbot --reuse-key: same-key renewal live inside its deploy hook; --new-key renewal waits 2 × TTL (new-key path)', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl', 'pebble', 'certbot'])) return;
  const rig = await startNextKeyRig(t);
  const hook = writeTimedHook(rig.ws.dir, 'timed-deploy', join(HOOKS, 'deploy'));
  const certbot = (opts: Partial<Parameters<typeof runCertbot>[2]>) =>
    withEnv(rig.hookEnv, () => runCertbot(t, rig.pebble, { domains: [DOMAIN], certName: 'mx', hook: hook.path, ...opts }));

  // 1. First issuance with --reuse-key (saved in the lineage's renewal config). No next key: certbot has none.
  const first = await certbot({ reuseKey: true });
  assert.equal(first.code, 0, `certbot certonly failed:\n${first.stderr}`);
  assert.equal(hook.runs()[0]?.code, 0, 'the deploy hook succeeded');
  const b1 = keySpkiSha256(join(first.lineage, 'privkey.pem'));
  let { status: st } = await postDeployUntilSettled(rig);
  assert.equal(st.next, null, 'no next key is announced for certbot');
  assert.equal(await rig.presented(), b1);
  assert.deepEqual(await servedRrset(rig), rrsetOf(b1));

  // 2. `certbot renew --force-renewal`: the key is reused, the certificate is new → same-key, no wait.
  const same = await certbot({ renew: true, dir: first.dir });
  assert.equal(same.code, 0, `certbot renew failed:\n${same.stderr}`);
  const sameCall = hook.runs()[1];
  assert.equal(sameCall?.code, 0, `the deploy hook succeeded; certbot said:\n${same.stderr}`);
  assert.equal(keySpkiSha256(join(same.lineage, 'privkey.pem')), b1, 'certbot reused the key');
  st = await rig.status();
  const r2 = st.rollovers.at(-1);
  assert.equal(r2.spki, b1);
  assert.equal(r2.path, 'same-key');
  assert.ok(r2.activatedAt, `activated inside the deploy hook (phase ${r2.phase})`);
  const sameMs = activatedAt(rig, r2.id) - sameCall!.start;
  assert.ok(sameMs < 10_000, `activated ${sameMs} ms after the deploy hook started`);
  assert.deepEqual(await servedRrset(rig), rrsetOf(b1), 'the RRset did not change');

  // 3. The scheduled re-key: `certbot renew --force-renewal --new-key` → an unannounced key B3.
  const rekey = await certbot({ renew: true, dir: first.dir, newKey: true });
  assert.equal(rekey.code, 0, `certbot renew --new-key failed:\n${rekey.stderr}`);
  assert.equal(hook.runs()[2]?.code, 0, 'the deploy hook succeeded');
  const b3 = keySpkiSha256(join(rekey.lineage, 'privkey.pem'));
  assert.notEqual(b3, b1, '--new-key made a new key');
  assert.equal(certSpkiSha256(join(rekey.lineage, 'cert.pem')), b3);
  st = await rig.status();
  const r3 = st.rollovers.at(-1);
  assert.equal(r3.path, 'new-key');
  assert.equal(r3.activatedAt, null, 'an unannounced key is not activated inside its deploy hook');
  assert.equal(await rig.presented(), b1, 'postfix keeps B1 meanwhile');
  ({ status: st } = await postDeployUntilSettled(rig));
  const done = st.rollovers.find((r: any) => r.id === r3.id);
  const waited = Date.parse(done.activatedAt) - Date.parse(done.propagatedAt);
  assert.ok(waited >= 2 * TTL * 1000 + 1000, `activated ${waited} ms after the last server served B3 (< 2 × TTL + margin)`);
  assert.equal(await rig.presented(), b3);
  assert.equal((await servedRrset(rig)).join(), rrsetOf(b3).join(), 'only B3 remains');
  assertNoViolation(rig.monitor.report(), 'certbot');
  const report = rig.monitor.report();
  reportFigures(`next-key-certbot: same-key deploy hook start → activated ${sameMs} ms; --new-key activated ${(waited / 1000).toFixed(1)} s after propagation (2 × TTL ${TTL} s + margin); monitor ${report.samples} samples, ${report.violations} violations`);

  const caught = await assertMonitorCatchesSwap(rig);
  t.diagnostic(`control: a key swapped in without records → ${caught} violation samples`);
});
