// End to end with the real dehydrated 0.7 against pebble, real BIND (primary + secondary, TTL 2 s)
// and real postfix serving an openssl-made certificate A: HOOK=hooks/dehydrated (wrapped only to
// time each handler). deploy_cert publishes beside the live records and returns at once; separate
// `post-deploy` runs finish the rollover while openssl's DANE check passes after every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runDehydrated } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import { readTlsa } from '../harness/dane-check.js';
import {
  assertPublishedBeside, assertRolledOver, certSpkiSha256, driveTimer, HOOKS, keySpkiSha256, DOMAIN, OWNER,
  runTimed, startRig, withEnv, writeTimedHook, type Rig,
} from '../harness/e2e.js';

/** Run dehydrated once with HOOK = the timed wrapper; checks every handler's exit code and duration. */
async function cycle(t: Parameters<typeof runDehydrated>[0], rig: Rig, hook: ReturnType<typeof writeTimedHook>, dir?: string) {
  const before = hook.runs().length;
  const { result: run, ms } = await runTimed(() => withEnv(rig.hookEnv, () => runDehydrated(t, rig.pebble, { domains: [DOMAIN], hook: hook.path, ...(dir ? { dir } : {}) })));
  assert.equal(run.code, 0, `dehydrated failed:\n${run.stdout}\n${run.stderr}`);
  const calls = hook.runs().slice(before);
  assert.deepEqual(calls.filter((c) => c.code !== 0), [], `hook handlers failed; dehydrated said:\n${run.stdout}\n${run.stderr}`);
  const names = calls.map((c) => c.args[0]);
  assert.equal(names.filter((n) => n === 'deploy_cert').length, 1, `handlers called: ${names.join(', ')}`);
  assert.ok(names.includes('exit_hook'), `handlers called: ${names.join(', ')}`);
  for (const c of calls) assert.ok(c.end - c.start < 5000, `${c.args[0]} took ${c.end - c.start} ms`);
  const b = keySpkiSha256(join(run.certDir, 'privkey.pem'));
  assert.equal(certSpkiSha256(join(run.certDir, 'cert.pem')), b);
  return { run, ms, b, timings: calls.map((c) => `${c.args[0]} ${c.end - c.start} ms`).join(', ') };
}

test('dehydrated HOOK=hooks/dehydrated: deploy_cert returns at once, exit_hook does not activate early, timer finishes', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl', 'pebble', 'dehydrated', 'curl'])) return;
  const rig = await startRig(t);
  const live = certSpkiSha256(rig.a.certPath);
  const hook = writeTimedHook(rig.ws.dir, 'timed-dehydrated', join(HOOKS, 'dehydrated'));

  // 1. First issuance. hooks/dehydrated runs post-deploy from exit_hook, and with no TLSA RRset
  // before, activation needs no delay: hold the secondary so the run can only publish.
  await rig.bind.holdSecondary();
  const c1 = await cycle(t, rig, hook);
  await assertPublishedBeside(rig, live, c1.b);
  assert.deepEqual(await readTlsa(rig.bind.secondary!, OWNER), [], 'the held secondary has no records yet');
  let releaseStart = 0;
  const timer1 = await driveTimer(rig, {
    beforeRun: async (i) => {
      if (i !== 1) return;
      releaseStart = Date.now();
      await rig.bind.releaseSecondary();
    },
  });
  const { rollover: r1, window: w1 } = await assertRolledOver(rig, timer1, live, c1.b);
  assert.ok(w1.firstToEnd >= releaseStart, 'postfix switched before the secondary served the new records');
  t.diagnostic(`dehydrated #1: client ${c1.ms} ms; handlers ${c1.timings}; timer ${timer1.runs} runs, ${timer1.elapsedMs} ms, phases ${timer1.phases.join(' → ')}; activateAfter ${r1.activateAfter}, activatedAt ${r1.activatedAt}`);

  // 2. Renewal (--force, new key) where the old RRset (TTL 2 s) exists: exit_hook's post-deploy
  // may see propagation but must not activate before last served + 2 × 2 s.
  const c2 = await cycle(t, rig, hook, c1.run.dir);
  await assertPublishedBeside(rig, c1.b, c2.b);
  const timer2 = await driveTimer(rig);
  const { rollover: r2 } = await assertRolledOver(rig, timer2, c1.b, c2.b);
  assert.ok(Date.parse(r2.activateAfter) >= Date.parse(r2.propagatedAt) + 4000, `activateAfter ${r2.activateAfter}, propagatedAt ${r2.propagatedAt}`);
  t.diagnostic(`dehydrated #2: client ${c2.ms} ms; handlers ${c2.timings}; timer ${timer2.runs} runs, ${timer2.elapsedMs} ms, phases ${timer2.phases.join(' → ')}; propagatedAt ${r2.propagatedAt}, activateAfter ${r2.activateAfter}, activatedAt ${r2.activatedAt}`);
});
