// End to end with the real lego 4.x against pebble, real BIND (primary + secondary, TTL 2 s) and
// real postfix: `lego run --run-hook` → hooks/deploy returns at once with live + new records
// published; a timer of separate `post-deploy` runs activates and cleans up while openssl's DANE
// check passes after every run; then `lego renew --renew-hook` with a new key, where the old RRset
// (TTL 2 s) exists and the secondary lags, must wait until last server served + 2 × 2 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runLego } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import { readTlsa } from '../harness/dane-check.js';
import {
  assertPublishedBeside, assertRolledOver, certSpkiSha256, driveTimer, HOOKS, keySpkiSha256, OWNER, DOMAIN,
  runTimed, startRig, withEnv, writeTimedHook,
} from '../harness/e2e.js';

test('lego run --run-hook, then renew --renew-hook with a new key: DANE holds throughout', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl', 'pebble', 'lego'])) return;
  const rig = await startRig(t);
  const live = certSpkiSha256(rig.a.certPath);
  const hook = writeTimedHook(rig.ws.dir, 'timed-deploy', join(HOOKS, 'deploy'));

  // 1. lego run → --run-hook (no shell; the command is split on spaces) → danehook deploy.
  const { result: run1, ms: run1Ms } = await runTimed(() => withEnv(rig.hookEnv, () => runLego(t, rig.pebble, { domains: [DOMAIN], hook: hook.path })));
  assert.equal(run1.code, 0, `lego run failed:\n${run1.stderr}`);
  const calls = hook.runs();
  assert.equal(calls.length, 1, 'the run-hook ran once');
  assert.equal(calls[0]!.code, 0, `hook exit code; lego said:\n${run1.stderr}`);
  const hookMs = calls[0]!.end - calls[0]!.start;
  assert.ok(hookMs < 5000, `run-hook took ${hookMs} ms`);
  assert.ok(run1Ms < 10_000, `lego run took ${run1Ms} ms`);
  const b1 = keySpkiSha256(run1.keyPath);
  assert.equal(certSpkiSha256(run1.certPath), b1, 'lego\'s certificate matches its key');
  await assertPublishedBeside(rig, live, b1);

  const timer1 = await driveTimer(rig);
  const { rollover: r1 } = await assertRolledOver(rig, timer1, live, b1);
  t.diagnostic(`lego run: client ${run1Ms} ms, hook ${hookMs} ms; timer ${timer1.runs} runs, ${timer1.elapsedMs} ms, phases ${timer1.phases.join(' → ')}; activateAfter ${r1.activateAfter}, activatedAt ${r1.activatedAt}`);

  // 2. lego renew → --renew-hook; new key; the old RRset (B1, TTL 2) exists.
  // The secondary is held back: the clock may start only once it serves the new RRset.
  await rig.bind.holdSecondary();
  const { result: run2, ms: run2Ms } = await runTimed(() => withEnv(rig.hookEnv, () =>
    runLego(t, rig.pebble, { domains: [DOMAIN], renew: true, dir: run1.dir, hook: hook.path })));
  assert.equal(run2.code, 0, `lego renew failed:\n${run2.stderr}`);
  const renewCalls = hook.runs().slice(1);
  assert.equal(renewCalls.length, 1, 'the renew-hook ran once');
  assert.equal(renewCalls[0]!.code, 0, `renew-hook exit code; lego said:\n${run2.stderr}`);
  const renewHookMs = renewCalls[0]!.end - renewCalls[0]!.start;
  assert.ok(renewHookMs < 5000, `renew-hook took ${renewHookMs} ms`);
  assert.ok(run2Ms < 10_000, `lego renew took ${run2Ms} ms`);
  const b2 = keySpkiSha256(run2.keyPath);
  assert.equal(certSpkiSha256(run2.certPath), b2);
  await assertPublishedBeside(rig, b1, b2);
  assert.deepEqual(await readTlsa(rig.bind.secondary!, OWNER), [`3 1 1 ${b1}`], 'the held secondary still serves only the old RRset');

  let releaseStart = 0;
  let releaseEnd = 0;
  const timer2 = await driveTimer(rig, {
    beforeRun: async (i, phase) => {
      if (i < 3) return;
      if (releaseStart === 0) {
        assert.equal(phase, 'published', 'no progress while the secondary lags');
        assert.equal(await rig.presented(), b1, 'postfix keeps B1 while the secondary lags');
        releaseStart = Date.now();
        await rig.bind.releaseSecondary();
        releaseEnd = Date.now();
      }
    },
  });
  const { rollover: r2, window } = await assertRolledOver(rig, timer2, b1, b2);
  const propagatedAt = Date.parse(r2.propagatedAt);
  const activateAfter = Date.parse(r2.activateAfter);
  // The state: last server served (propagatedAt) cannot be before the secondary was released.
  assert.ok(propagatedAt >= releaseStart, `propagatedAt ${r2.propagatedAt} is before the secondary was released (${new Date(releaseStart).toISOString()})`);
  assert.ok(activateAfter >= propagatedAt + 2 * 2 * 1000, `activateAfter ${r2.activateAfter} < propagatedAt ${r2.propagatedAt} + 2 × 2 s`);
  assert.ok(Date.parse(r2.activatedAt) >= propagatedAt + 4000);
  // From outside: postfix showed B2 no earlier than the secondary could have served it + 2 × TTL.
  assert.ok(window.firstToEnd >= releaseStart + 4000, `postfix presented B2 ${window.firstToEnd - releaseStart} ms after the secondary's release began`);
  t.diagnostic(`lego renew: client ${run2Ms} ms, hook ${renewHookMs} ms; release ${releaseEnd - releaseStart} ms; propagatedAt ${r2.propagatedAt} (+${propagatedAt - releaseStart} ms after release began), activateAfter ${r2.activateAfter}, activatedAt ${r2.activatedAt}; switch seen between +${window.lastFromStart - releaseStart} and +${window.firstToEnd - releaseStart} ms; timer ${timer2.runs} runs, ${timer2.elapsedMs} ms`);
});
