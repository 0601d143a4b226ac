// End to end with the real certbot 2.x against pebble, real BIND (primary + secondary, TTL 2 s) and
// real postfix serving an openssl-made certificate A: once with `--deploy-hook`, once with the
// `renewal-hooks/deploy/` directory hook (a symlink to hooks/deploy) on `certbot renew`. The hook
// returns at once with both certificates' records published; separate `post-deploy` runs finish
// the rollover while openssl's DANE check passes after every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runCertbot } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import {
  assertPublishedBeside, assertRolledOver, certSpkiSha256, driveTimer, HOOKS, keySpkiSha256, DOMAIN,
  runTimed, startRig, withEnv, writeTimedHook,
} from '../harness/e2e.js';

const BINARIES = ['named', 'dig', 'postfix', 'openssl', 'pebble', 'certbot'];

test('certbot certonly --deploy-hook: hook returns at once, timer activates and cleans up', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const rig = await startRig(t);
  const live = certSpkiSha256(rig.a.certPath);
  const hook = writeTimedHook(rig.ws.dir, 'timed-deploy', join(HOOKS, 'deploy'));

  const { result: run, ms: runMs } = await runTimed(() => withEnv(rig.hookEnv, () => runCertbot(t, rig.pebble, { domains: [DOMAIN], hook: hook.path })));
  assert.equal(run.code, 0, `certbot failed:\n${run.stderr}`);
  const calls = hook.runs();
  assert.equal(calls.length, 1, `deploy hook calls: ${JSON.stringify(calls)}\n${run.stderr}`);
  // certbot only logs a failing deploy hook and still exits 0: the hook's own exit code matters.
  assert.equal(calls[0]!.code, 0, `deploy hook failed; certbot said:\n${run.stderr}`);
  const hookMs = calls[0]!.end - calls[0]!.start;
  assert.ok(hookMs < 5000, `deploy hook took ${hookMs} ms`);
  const key = join(run.lineage, 'privkey.pem');
  const b = keySpkiSha256(key);
  assert.equal(certSpkiSha256(join(run.lineage, 'cert.pem')), b);
  await assertPublishedBeside(rig, live, b);

  const timer = await driveTimer(rig);
  const { rollover } = await assertRolledOver(rig, timer, live, b);
  t.diagnostic(`certbot --deploy-hook: client ${runMs} ms, hook ${hookMs} ms; timer ${timer.runs} runs, ${timer.elapsedMs} ms, phases ${timer.phases.join(' → ')}; activateAfter ${rollover.activateAfter}, activatedAt ${rollover.activatedAt}`);
});

/** certbot's own log line "YYYY-MM-DD HH:MM:SS,mmm:LEVEL:..." → ms since epoch (local time). */
function certbotLogTime(line: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3})/.exec(line);
  assert.ok(m, `unexpected certbot log line ${line}`);
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  return new Date(y!, mo! - 1, d!, h!, mi!, s!, ms!).getTime();
}

test('certbot renew with renewal-hooks/deploy/ symlinked to hooks/deploy', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const rig = await startRig(t);
  const live = certSpkiSha256(rig.a.certPath);

  // A lineage to renew (no hook: certonly does not run directory hooks anyway).
  const first = await runCertbot(t, rig.pebble, { domains: [DOMAIN] });
  assert.equal(first.code, 0, first.stderr);
  const hookDir = join(first.configDir, 'renewal-hooks', 'deploy');
  mkdirSync(hookDir, { recursive: true });
  symlinkSync(join(HOOKS, 'deploy'), join(hookDir, '50-danehook'));

  const firstKey = keySpkiSha256(join(first.lineage, 'privkey.pem'));
  const started = Date.now();
  const { result: run, ms: runMs } = await runTimed(() => withEnv(rig.hookEnv, () => runCertbot(t, rig.pebble, { domains: [DOMAIN], renew: true, dir: first.dir })));
  assert.equal(run.code, 0, `certbot renew failed:\n${run.stderr}`);
  const b = keySpkiSha256(join(run.lineage, 'privkey.pem'));
  assert.notEqual(b, firstKey, 'certbot renew made a new key');
  assert.equal(certSpkiSha256(join(run.lineage, 'cert.pem')), b);
  // The hook's duration from certbot's own log: "Running deploy-hook command" is logged before
  // subprocess.run(), the next line only after it returned (stdout/stderr closed).
  const lines = readFileSync(join(run.dir, 'logs', 'letsencrypt.log'), 'utf8').split('\n').filter((l) => /^\d{4}-\d\d-\d\d /.test(l));
  const at = lines.map((l) => /Running deploy-hook command: .*renewal-hooks\/deploy\/50-danehook$/.test(l)).lastIndexOf(true);
  assert.ok(at >= 0 && at + 1 < lines.length, 'certbot ran the directory deploy hook');
  assert.doesNotMatch(lines.slice(at).join('\n'), /reported error code/, 'the directory deploy hook failed');
  const hookStart = certbotLogTime(lines[at]!);
  const hookMs = certbotLogTime(lines[at + 1]!) - hookStart;
  assert.ok(hookStart >= started - 1000, 'the log line is from this run');
  assert.ok(hookMs < 5000, `directory deploy hook took ${hookMs} ms`);
  await assertPublishedBeside(rig, live, b);

  const timer = await driveTimer(rig);
  const { rollover } = await assertRolledOver(rig, timer, live, b);
  t.diagnostic(`certbot renew + renewal-hooks/deploy: client ${runMs} ms, hook ≈${hookMs} ms (certbot log); timer ${timer.runs} runs, ${timer.elapsedMs} ms, phases ${timer.phases.join(' → ')}; activateAfter ${rollover.activateAfter}, activatedAt ${rollover.activatedAt}`);
});
