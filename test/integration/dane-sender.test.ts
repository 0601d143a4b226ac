// The most convincing test: a real DANE-enforcing Postfix, resolving through a real validating and
// caching Unbound over a real BIND primary + secondary, keeps delivering while danehook rolls the
// receiver's key over 8 times (0 deferrals) — and the same rig sees mail deferred when the
// certificate is swapped before its record, and measures how often skipping the wait is caught.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireBinaries } from '../harness/binaries.js';
import { makeLeaf, opensslAssociation } from '../harness/certs.js';
import { runCli } from '../harness/cli.js';
import { presentedSpkiSha256 } from '../harness/dane-check.js';
import { DOMAIN, startDaneRig, type DaneRig } from '../harness/dane-rig.js';
import type { DaneSender } from '../harness/dane-sender.js';
import { startMailFlow, type MailFlow } from '../harness/mail-flow.js';
import { rollWithoutWaiting, swapThenPublish } from '../harness/naive-rollover.js';
import { reportFigures } from '../harness/figures.js';
import { waitFor } from '../harness/process.js';

const BINARIES = ['named', 'dig', 'nsupdate', 'postfix', 'sendmail', 'posttls-finger', 'unbound', 'unshare', 'mount', 'openssl'];
const ROLLOVERS = 8;
const SWAPS_BEFORE_RECORD = 3;
const NO_WAIT_ROLLOVERS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until every submitted message has a logged outcome (sent, deferred or bounced). */
async function settle(sender: DaneSender, submitted: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(() => {
    const o = sender.outcomes();
    return o.sent + o.deferred + o.bounced >= submitted;
  }, timeoutMs, 200);
}

/** One danehook rollover to a fresh key, driven like a fast timer: post-deploy every 0.25 s until cleaned. */
async function rollOver(rig: DaneRig, n: number, flow: MailFlow): Promise<{ ms: number; runs: number; servedAfterDeadlineMs: number }> {
  const leaf = makeLeaf(rig.issuer, [DOMAIN]);
  const spki = opensslAssociation(leaf.certPath, 1, 1);
  const t0 = Date.now();
  const d = await runCli(['deploy', '-c', rig.config, '--pem', leaf.combinedPath]);
  assert.equal(d.code, 0, `deploy ${n}: ${d.stderr}`);
  let runs = 0;
  while (rig.phaseOf(spki) !== 'cleaned') {
    assert.ok(Date.now() - t0 < 60_000, `rollover ${n} not cleaned after 60 s (phase ${rig.phaseOf(spki)})`);
    const began = Date.now();
    const p = await runCli(['post-deploy', '-c', rig.config]);
    runs++;
    assert.equal(p.code, 0, `post-deploy in rollover ${n}: ${p.stderr}`);
    await sleep(Math.max(0, 250 - (Date.now() - began)));
  }
  const ms = Date.now() - t0;
  const latest = await rig.latestRollover();
  assert.deepEqual([latest?.spki, latest?.phase], [spki, 'cleaned'], `status after rollover ${n}`);
  assert.equal(await presentedSpkiSha256('127.0.0.1', rig.receiver.smtpPort), spki, `receiver serves the new key after rollover ${n}`);
  // When the new key was first seen served, against danehook's own deadline: never before it (the
  // invariant, checked from outside), and the smaller the gap, the closer the test came to the edge.
  // The watcher asks every 100 ms; under load its last answer may still be on the way.
  await waitFor(() => flow.keyChanges.some((c) => c.spki === spki), 10_000, 100);
  const served = flow.keyChanges.find((c) => c.spki === spki);
  assert.ok(served, `the watcher saw rollover ${n}'s key served`);
  const servedAfterDeadlineMs = served.at - Date.parse(latest!.activateAfter!);
  assert.ok(servedAfterDeadlineMs >= 0, `rollover ${n}: new key served ${-servedAfterDeadlineMs} ms before the activation deadline`);
  return { ms, runs, servedAfterDeadlineMs };
}

// Both at once (each its own rig on its own ports and resolver address): ~2–2.5 min on a loaded
// 2-CPU machine. The timeouts only catch hangs; under load a rollover took up to 19 s.
describe('DANE-enforcing sender', { concurrency: 2 }, () => {
  test(`DANE-enforcing postfix via caching Unbound: ${ROLLOVERS} danehook rollovers while mail flows, 0 deferrals`, { timeout: 300_000 }, async (t) => {
    if (!requireBinaries(t, BINARIES)) return;
    const rig = await startDaneRig(t);
    const t0 = Date.now();
    const flow = startMailFlow(rig.sender, { everyMs: 500, label: 'rollover', watch: { host: '127.0.0.1', port: rig.receiver.smtpPort } });
    t.after(() => flow.stop().catch(() => undefined)); // a failed step must not leave the flow running
    const rolls: { ms: number; runs: number; servedAfterDeadlineMs: number }[] = [];
    for (let i = 1; i <= ROLLOVERS; i++) rolls.push(await rollOver(rig, i, flow));
    // Keep mail flowing a little past the last cleanup (old records gone, caches expiring).
    await sleep(2000);
    const submitted = await flow.stop();
    await settle(rig.sender, submitted);
    const o = rig.sender.outcomes();
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    reportFigures(`dane-sender: messages=${submitted} at-key-change=${flow.atKeyChange} sent=${o.sent} deferrals=${o.deferred} bounced=${o.bounced} dane-verified=${o.verified} rollovers=${ROLLOVERS} rollover-seconds=${rolls.map((r) => (r.ms / 1000).toFixed(1)).join(',')} served-after-deadline-seconds=${rolls.map((r) => (r.servedAfterDeadlineMs / 1000).toFixed(1)).join(',')} timer-runs=${rolls.reduce((n, r) => n + r.runs, 0)} ttl=${rig.tlsaTtl}s run=${seconds}s`);
    assert.equal(o.deferred, 0, `deferrals:\n${o.failures.join('\n')}`);
    assert.equal(o.bounced, 0, `bounces:\n${o.failures.join('\n')}`);
    assert.equal(o.sent, submitted, 'every message delivered');
    assert.ok(o.verified >= o.sent, `every delivery DANE-verified (${o.verified} verified TLS sessions for ${o.sent} messages)`);
    assert.ok(submitted >= ROLLOVERS * 4, `mail flowed throughout (${submitted} messages)`);
    // More than one per rollover when old and new smtpd processes briefly serve side by side after a reload.
    assert.ok(flow.atKeyChange >= ROLLOVERS, 'a message went out the moment each new key was served');
  });

  test('control: the same rig catches a certificate swapped before its record (and measures rollovers without the wait)', { timeout: 240_000 }, async (t) => {
    if (!requireBinaries(t, BINARIES)) return;
    const rig = await startDaneRig(t);
    const t0 = Date.now();
    const flow = startMailFlow(rig.sender, { everyMs: 500, label: 'control', watch: { host: '127.0.0.1', port: rig.receiver.smtpPort } });
    t.after(() => flow.stop().catch(() => undefined));
    await sleep(2000); // the sender and Unbound now hold the current RRset in their caches
    // 1. danehook's order without its wait. Measured, not asserted: at TTL 1 s postfix's reload lag
    //    (0.4–5 s under load) often outlasts the caches, so only some of these defer mail (at TTL 3 s
    //    nearly all do). The figure says how well this rig can tell a missing wait apart.
    let live = rig.first;
    let noWaitDeferring = 0;
    for (let i = 1; i <= NO_WAIT_ROLLOVERS; i++) {
      const before = rig.sender.outcomes().deferred;
      live = await rollWithoutWaiting(rig, flow, live);
      await sleep(3000); // caches expire; the messages in flight are logged
      if (rig.sender.outcomes().deferred > before) noWaitDeferring++;
    }
    const noWait = rig.sender.outcomes();
    // 2. the hand-rolled script: certificate swapped first, record replaced after.
    for (let i = 1; i <= SWAPS_BEFORE_RECORD; i++) {
      await swapThenPublish(rig, flow);
      await sleep(4000);
    }
    const submitted = await flow.stop();
    await sleep(1000);
    const o = rig.sender.outcomes();
    reportFigures(`dane-sender-control: messages=${submitted} no-wait-rollovers-deferring=${noWaitDeferring}/${NO_WAIT_ROLLOVERS} no-wait-deferrals=${noWait.deferred} swaps-before-record=${SWAPS_BEFORE_RECORD} their-deferrals=${o.deferred - noWait.deferred} not-verified=${o.notVerified} no-matching-tlsa=${o.noMatchingTlsa} run=${((Date.now() - t0) / 1000).toFixed(1)}s`);
    assert.ok(o.deferred - noWait.deferred >= 1, 'a certificate swapped before its record must defer mail at a DANE-enforcing sender');
    assert.equal(o.notVerified, o.deferred, `every deferral for a DANE reason:\n${o.failures.join('\n')}`);
    assert.ok(o.noMatchingTlsa >= 1, 'postfix names the cause: no matching DANE TLSA records');
  });
});
