// Proves the DKIM mail rig (test/harness/dkim-rig.ts) for both real signers, OpenDKIM and rspamd:
// a published selector signs and verifies every time (opendkim-testkey agrees), and the rig catches
// what a careless rotation does — signing with a selector a cache still remembers as missing, with
// one never published, and deleting a selector while mail signed with it is still in the queue.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { requireBinaries } from '../harness/binaries.js';
import { dkimRigBinaries, startDkimFlow, startDkimRig, type DkimRig } from '../harness/dkim-rig.js';
import { serversOf, txtValues } from '../harness/dkim.js';
import type { SignerKind } from '../harness/dkim-milters.js';
import { reportFigures } from '../harness/figures.js';
import { waitFor } from '../harness/process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HAPPY = 10;

/** Messages delivered after the first `skip`, with their verdicts. */
const since = (rig: DkimRig, skip: number) => rig.messages().sort((a, b) => no(a.subject) - no(b.subject)).filter((m) => no(m.subject) > skip);
const no = (subject: string) => Number(/#(\d+)/.exec(subject)?.[1] ?? 0);
const failed = (d: string | undefined) => d === 'fail' || d === 'permerror' || d === 'temperror';

async function proveRig(t: TestContext, signer: SignerKind): Promise<void> {
  const t0 = Date.now();
  const rig = await startDkimRig(t, { signer });
  const started = Date.now() - t0;

  // 1. Happy path: s1 published on both servers, the signer switched to it, mail verifies.
  const s1 = await rig.newKey('s1');
  assert.ok(s1.txtStrings.length >= 2 && s1.txtValue.length > 255, 'an RSA-2048 record needs several strings');
  await rig.publish(s1);
  for (const server of serversOf(rig.bind)) {
    assert.deepEqual((await txtValues(server, s1.owner)).values, [s1.txtValue], `${server.port} serves s1 joined as one value`);
  }
  const testkey = await rig.testKey(s1);
  assert.ok(testkey.ok, `opendkim-testkey: published s1 matches the private key:\n${testkey.output}`);
  await rig.useKey(s1);
  const h0 = Date.now();
  await rig.submit(HAPPY, 'happy');
  assert.ok(await rig.settle(), `all ${HAPPY} happy messages delivered: ${JSON.stringify(rig.results())}`);
  const happyMs = Date.now() - h0;
  const happy = rig.results();
  assert.deepEqual([happy.pass, happy.delivered, happy.selectors], [HAPPY, HAPPY, { s1: HAPPY }], `every message dkim=pass, signed s=s1:\n${JSON.stringify(happy)}\n${rig.messages().map((m) => m.authenticationResults).join('\n')}`);

  // 2a. Control: s2 looked up (and cached as missing) before it is published, then signed with at once.
  const s2 = await rig.newKey('s2');
  const before = await rig.unbound.resolve(s2.owner, 'TXT');
  assert.equal(before.status, 'NXDOMAIN', 'the caching resolver has looked s2 up: nothing yet');
  await rig.publish(s2);
  const cached = await rig.unbound.resolve(s2.owner, 'TXT');
  assert.equal(cached.status, 'NXDOMAIN', 'both authoritative servers serve s2, the cache still says NXDOMAIN');
  let mark = rig.submitted;
  await rig.useKey(s2);
  await rig.submit(5, 'negative-cache');
  assert.ok(await rig.settle(), 'negative-cache messages delivered');
  const negative = since(rig, mark);
  const negativeFailed = negative.filter((m) => m.selector === 's2' && failed(m.dkim)).length;
  assert.ok(negativeFailed >= 1, `signing with s2 while the cache says NXDOMAIN fails verification:\n${negative.map((m) => `${m.selector} ${m.authenticationResults}`).join('\n')}`);

  // 2b. Control: a selector never published.
  const s3 = await rig.newKey('s3');
  mark = rig.submitted;
  await rig.useKey(s3);
  await rig.submit(3, 'unpublished');
  assert.ok(await rig.settle(), 'unpublished-selector messages delivered');
  const unpublished = since(rig, mark);
  const unpublishedFailed = unpublished.filter((m) => m.selector === 's3' && failed(m.dkim)).length;
  assert.ok(unpublishedFailed >= 1, `signing with an unpublished selector fails:\n${unpublished.map((m) => `${m.selector} ${m.authenticationResults}`).join('\n')}`);

  // 2c. Control: s1 deleted while mail signed with it waits in the sender's queue.
  await rig.useKey(s1);
  mark = rig.submitted;
  await rig.holdDelivery();
  await rig.submit(4, 'held');
  await rig.unpublish(s1);
  await sleep((rig.ttl + 2) * 1000); // every cache forgets s1's record
  await rig.releaseDelivery();
  assert.ok(await rig.settle(), 'held messages delivered after release');
  const held = since(rig, mark);
  const heldFailed = held.filter((m) => m.selector === 's1' && failed(m.dkim)).length;
  assert.ok(heldFailed >= 1, `mail signed with a deleted selector fails verification:\n${held.map((m) => `${m.selector} ${m.authenticationResults}`).join('\n')}`);

  const r = rig.results();
  reportFigures(`dkim-rig ${signer}: rig-start=${(started / 1000).toFixed(1)}s messages=${rig.submitted} pass=${r.pass} fail=${r.fail} permerror=${r.permerror} temperror=${r.temperror} none=${r.none} deferred=${r.deferred} happy=${happy.pass}/${HAPPY} ms-per-message=${Math.round(happyMs / HAPPY)} negative-cache-failed=${negativeFailed}/${negative.length} unpublished-failed=${unpublishedFailed}/${unpublished.length} deleted-while-queued-failed=${heldFailed}/${held.length} run=${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

describe('DKIM mail rig', { concurrency: 2 }, () => {
  for (const signer of ['opendkim', 'rspamd'] as const) {
    test(`${signer} signs, OpenDKIM verifies through a caching Unbound; the rig catches careless rotations`, { timeout: 180_000 }, async (t) => {
      if (!requireBinaries(t, dkimRigBinaries(signer))) return;
      await proveRig(t, signer);
    });
  }
});

void startDkimFlow;
void waitFor;
