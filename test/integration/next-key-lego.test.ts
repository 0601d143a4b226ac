// Next-key mode end to end with the real lego 4.x against pebble, BIND primary + secondary (TLSA
// TTL 30 s) and postfix, under the independent outage monitor: the first `lego run` (lego's own key)
// makes danehook generate and announce a next key; once aged, `lego --csr "$(danehook next-key --csr)"
// renew` brings a certificate without a key (lego leaves the first run's .key, stale, in
// LEGO_CERT_KEY_PATH), which is paired with that key and goes live inside the renew-hook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runLego } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import { runCli } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';
import { certSpkiSha256, DOMAIN, HOOKS, keySpkiSha256, OWNER, withEnv, writeTimedHook } from '../harness/e2e.js';
import { reportFigures } from '../harness/figures.js';
import {
  activatedAt, assertMonitorCatchesSwap, assertNoViolation, postDeployUntilAged, postDeployUntilSettled, rrsetOf, servedRrset, startNextKeyRig,
} from '../harness/next-key-rig.js';

/** openssl: SHA-256 of the SPKI in a CSR (what its certificate's 3 1 1 record will hold). */
function csrSpkiSha256(csrPath: string): string {
  const pub = execFileSync('openssl', ['req', '-in', csrPath, '-noout', '-pubkey']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pub });
  return execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().split(/\s/)[0]!;
}

test('lego --csr from `danehook next-key --csr`: the renewal with the aged generated key goes live inside its renew-hook', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl', 'pebble', 'lego'])) return;
  const rig = await startNextKeyRig(t);
  const a = certSpkiSha256(rig.a.certPath);
  // lego runs the hook without a shell: the path has no spaces, and --id names the entry.
  const hook = writeTimedHook(rig.ws.dir, 'timed-deploy', join(HOOKS, 'deploy'));
  const t0 = Date.now();

  // 1. First issuance with lego's own key B1; danehook generates the next key N1 and announces it.
  const first = await withEnv(rig.hookEnv, () => runLego(t, rig.pebble, { domains: [DOMAIN], hook: `${hook.path} --id mx` }));
  assert.equal(first.code, 0, `lego run failed:\n${first.stderr}`);
  assert.deepEqual(hook.runs().map((c) => c.code), [0], 'the run-hook ran once and succeeded');
  const b1 = keySpkiSha256(first.keyPath);
  assert.equal(certSpkiSha256(first.certPath), b1);
  let st = await rig.status();
  assert.equal(st.next?.source, 'generated', `a generated next key is announced: ${JSON.stringify(st.next)}`);
  const nk = await runCli(['next-key', '--id', 'mx', '-c', rig.config]);
  assert.equal(nk.code, 0, nk.stderr);
  const n1 = keySpkiSha256(nk.stdout.trim());
  assert.equal(st.next.spki, n1, 'status and `next-key` name the same key (openssl)');
  assert.deepEqual(await readTlsa(rig.bind.primary, OWNER), rrsetOf(a, b1, n1), 'live A, new B1 and next N1 side by side');

  // 2. The timer activates B1 and ages N1.
  st = await postDeployUntilAged(rig);
  const agedAfter = Date.now() - t0;
  assert.equal(await rig.presented(), b1);
  assert.equal(st.rollovers.at(-1).path, 'new-key', 'lego\'s own key was unannounced');
  assert.deepEqual(await servedRrset(rig), rrsetOf(b1, n1));

  // 3. The cron line: lego --csr "$(danehook next-key --id mx --csr)" renew --renew-hook ...
  const csr = await runCli(['next-key', '--id', 'mx', '--csr', '-c', rig.config]);
  assert.equal(csr.code, 0, csr.stderr);
  const csrPath = csr.stdout.trim();
  assert.equal(csrSpkiSha256(csrPath), n1, 'the CSR carries the next key (openssl)');
  const renew = await withEnv(rig.hookEnv, () => runLego(t, rig.pebble, { domains: [DOMAIN], csr: csrPath, renew: true, dir: first.dir, hook: `${hook.path} --id mx` }));
  assert.equal(renew.code, 0, `lego renew --csr failed:\n${renew.stderr}`);
  const call = hook.runs()[1];
  assert.equal(call?.code, 0, `the renew-hook succeeded; lego said:\n${renew.stderr}`);
  assert.equal(certSpkiSha256(renew.certPath), n1, 'lego\'s certificate carries the next key');
  assert.ok(existsSync(renew.keyPath) && keySpkiSha256(renew.keyPath) === b1, 'LEGO_CERT_KEY_PATH still holds the first run\'s key (stale)');
  st = await rig.status();
  const r2 = st.rollovers.at(-1);
  assert.equal(r2.spki, n1);
  assert.equal(r2.path, 'next-key');
  assert.ok(r2.activatedAt, `activated inside the renew-hook (phase ${r2.phase})`);
  const hookToActive = activatedAt(rig, r2.id) - call!.start;
  assert.ok(hookToActive < 10_000, `activated ${hookToActive} ms after the renew-hook started`);
  assert.equal(await rig.presented(), n1, 'postfix presents the next key');

  // 4. B1's records go, a new generated next key N2 is announced: RRset = {current, next}.
  const settled = await postDeployUntilSettled(rig);
  const n2 = keySpkiSha256((await runCli(['next-key', '--id', 'mx', '-c', rig.config])).stdout.trim());
  assert.notEqual(n2, n1);
  assert.equal(settled.status.next?.spki, n2);
  assert.deepEqual(await servedRrset(rig), rrsetOf(n1, n2), 'both servers serve exactly {current, next}');
  assertNoViolation(rig.monitor.report(), 'lego next-key');
  const report = rig.monitor.report();
  reportFigures(`next-key-lego: renew-hook start → activated ${hookToActive} ms (hook ${call!.end - call!.start} ms); N1 aged ${(agedAfter / 1000).toFixed(1)} s after the first issuance began; monitor ${report.samples} samples, ${report.violations} violations`);

  const caught = await assertMonitorCatchesSwap(rig);
  t.diagnostic(`control: a key swapped in without records → ${caught} violation samples`);
});
