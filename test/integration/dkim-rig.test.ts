// Proves the DKIM mail rig (test/harness/dkim-rig.ts) for both real signers, OpenDKIM and rspamd:
// a published selector signs and verifies every time (opendkim-testkey agrees), a careful rotation
// under a steady flow of mail verifies every message, and the rig catches what a careless rotation
// does — signing with a selector a cache still remembers as missing, or one never published, and
// deleting or revoking a selector while mail signed with it still waits in the queue.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { requireBinaries } from '../harness/binaries.js';
import { dkimRigBinaries, startDkimFlow, startDkimRig, type DkimRig } from '../harness/dkim-rig.js';
import { serversOf, txtValues, type DeliveredMessage, type DkimKey } from '../harness/dkim.js';
import { nsupdate } from '../harness/dns.js';
import type { SignerKind } from '../harness/dkim-milters.js';
import { reportFigures } from '../harness/figures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HAPPY = 10;
/** OpenDKIM's reason for a selector it could not find (NXDOMAIN, cached or not). */
const NOT_FOUND = 'key not found in DNS';

/** Messages delivered after the first `skip`, with their verdicts. */
const since = (rig: DkimRig, skip: number) => rig.messages().sort((a, b) => no(a.subject) - no(b.subject)).filter((m) => no(m.subject) > skip);
const no = (subject: string) => Number(/#(\d+)/.exec(subject)?.[1] ?? 0);
const failed = (d: string | undefined) => d === 'fail' || d === 'permerror' || d === 'temperror';

async function proveRig(t: TestContext, signer: SignerKind): Promise<void> {
  const t0 = Date.now();
  const rig = await startDkimRig(t, { signer });
  const started = Date.now() - t0;
  const settle = async (what: string) => assert.ok(await rig.settle(), `${what}: every message delivered (${JSON.stringify(rig.results())})`);
  const show = (ms: DeliveredMessage[]) => ms.map((m) => `${m.subject} s=${m.selector}: ${m.authenticationResults}`).join('\n');

  // 1. Happy path: s1 published on both servers (several strings on the wire), the signer switched
  //    to it, every message verifies; opendkim-testkey agrees, and says no for a selector never published.
  const s1 = await rig.newKey('s1');
  assert.ok(s1.txtStrings.length >= 2 && s1.txtValue.length > 255, 'an RSA-2048 record needs several strings');
  await rig.publish(s1);
  for (const server of serversOf(rig.bind)) {
    const served = await txtValues(server, s1.owner);
    assert.deepEqual(served.values, [s1.txtValue], `port ${server.port} serves s1, joined as one value`);
    assert.ok(served.strings[0]!.length >= 2 && served.strings[0]!.every((x) => x.length <= 255), `port ${server.port} serves s1 as several strings of ≤ 255 bytes`);
  }
  // The TSIG key may change TXT under _domainkey only (and TLSA): BIND refuses anything else.
  const outside = await nsupdate(rig.bind.primary, rig.bind.zone, rig.bind.keyFilePath, [`update add www.${rig.domain}. 30 TXT "not yours"`]);
  assert.match(`${outside.stdout}${outside.stderr}`, /REFUSED/, 'a TXT outside _domainkey is refused');
  const testkey = await rig.testKey(s1);
  assert.ok(testkey.ok, `opendkim-testkey: published s1 matches the private key:\n${testkey.output}`);
  const absent = await rig.testKey({ ...(await rig.newKey('absent')) });
  assert.ok(!absent.ok, `opendkim-testkey fails for a selector never published:\n${absent.output}`);
  await rig.useKey(s1);
  const h0 = Date.now();
  await rig.submit(HAPPY, 'happy');
  await settle('happy path');
  const happyMs = Date.now() - h0;
  const happy = rig.results();
  assert.deepEqual([happy.pass, happy.delivered, happy.selectors], [HAPPY, HAPPY, { s1: HAPPY }], `every message dkim=pass, signed s=s1:\n${show(rig.messages())}`);

  // 2. A careful rotation s1 → s4 while mail flows (one every 0.5 s): s4 served by both servers for
  //    2 × TTL + 2 s before the switch (nothing asked for it earlier), s1 kept for 2 × TTL + 2 s after.
  const flow = startDkimFlow(rig, { everyMs: 500, label: 'rotation' });
  t.after(() => flow.stop().catch(() => undefined));
  const firstFlow = rig.submitted;
  const s4 = await rig.newKey('s4');
  await rig.publish(s4);
  await sleep((2 * rig.ttl + 2) * 1000);
  const beforeSwitch = rig.submitted;
  const r0 = Date.now();
  await rig.useKey(s4);
  const reloadMs = Date.now() - r0;
  const afterSwitch = rig.submitted;
  await sleep((2 * rig.ttl + 2) * 1000);
  await rig.unpublish(s1);
  await sleep((rig.ttl + 2) * 1000);
  await flow.stop();
  await settle('rotation flow');
  const rotation = since(rig, firstFlow);
  assert.ok(rotation.length >= 10, `mail flowed during the rotation (${rotation.length})`);
  assert.deepEqual(rotation.filter((m) => m.dkim !== 'pass'), [], `every message of a careful rotation verifies:\n${show(rotation)}`);
  // (A message submitted just before the switch may still be signed after it: pickup takes a moment.)
  assert.ok(rotation.some((m) => m.selector === 's1') && rotation.some((m) => m.selector === 's4'), 'mail signed with both keys during the rotation');
  assert.ok(rotation.filter((m) => no(m.subject) > afterSwitch).every((m) => m.selector === 's4'), `signed with s4 once useKey returned:\n${show(rotation)}`);
  // Messages submitted while the reload ran that still got the old key (rspamd: the old worker serves until the new one runs).
  const oldDuringReload = rotation.filter((m) => no(m.subject) > beforeSwitch && no(m.subject) <= afterSwitch && m.selector === 's1').length;

  // 3a. Control: s2 looked up (cached as missing) before it is published, then signed with at once.
  const s2 = await rig.newKey('s2');
  assert.equal((await rig.unbound.resolve(s2.owner, 'TXT')).status, 'NXDOMAIN', 'the caching resolver looked s2 up: nothing yet');
  await rig.publish(s2);
  assert.equal((await rig.unbound.resolve(s2.owner, 'TXT')).status, 'NXDOMAIN', 'both authoritative servers serve s2, the cache still says NXDOMAIN');
  let mark = rig.submitted;
  await rig.useKey(s2);
  await rig.submit(5, 'negative-cache');
  await settle('negative cache');
  const negative = since(rig, mark);
  assert.ok(negative.every((m) => m.selector === 's2'), 'signed with s2 right after useKey');
  const negativeFailed = negative.filter((m) => failed(m.dkim) && m.reason === NOT_FOUND).length;
  assert.ok(negativeFailed >= 1, `signing with s2 while the cache says NXDOMAIN fails verification:\n${show(negative)}`);

  // 3b. Control: a selector never published.
  const s3 = await rig.newKey('s3');
  mark = rig.submitted;
  await rig.useKey(s3);
  await rig.submit(3, 'unpublished');
  await settle('unpublished selector');
  const unpublished = since(rig, mark);
  const unpublishedFailed = unpublished.filter((m) => m.selector === 's3' && failed(m.dkim) && m.reason === NOT_FOUND).length;
  assert.equal(unpublishedFailed, unpublished.length, `signing with an unpublished selector fails every time:\n${show(unpublished)}`);

  // 3c/3d. Control: the selector retired (deleted, or revoked with p=) while mail signed with it
  //        still waits in the sender's queue, released once every cache has forgotten the key.
  const retire = async (key: DkimKey, how: 'delete' | 'revoke') => {
    await rig.useKey(key);
    const from = rig.submitted;
    await rig.holdDelivery();
    await rig.submit(3, `held-${how}`);
    await (how === 'delete' ? rig.unpublish(key) : rig.revoke(key));
    await sleep((rig.ttl + 2) * 1000);
    await rig.releaseDelivery();
    await settle(`held, ${how}d`);
    const held = since(rig, from);
    const heldFailed = held.filter((m) => m.selector === key.selector && failed(m.dkim) && m.reason === (how === 'delete' ? NOT_FOUND : 'key revoked')).length;
    assert.equal(heldFailed, held.length, `mail signed with a ${how}d selector fails verification:\n${show(held)}`);
    return `${heldFailed}/${held.length}`;
  };
  const deleted = await retire(s4, 'delete');
  const s5 = await rig.newKey('s5');
  await rig.publish(s5);
  const revoked = await retire(s5, 'revoke');

  const r = rig.results();
  reportFigures(`dkim-rig ${signer}: rig-start=${(started / 1000).toFixed(1)}s messages=${rig.submitted} delivered=${r.delivered} pass=${r.pass} fail=${r.fail} permerror=${r.permerror} temperror=${r.temperror} none=${r.none} unverified=${r.unverified} deferred=${r.deferred} happy=${happy.pass}/${HAPPY} ms-per-message=${Math.round(happyMs / HAPPY)} rotation-pass=${rotation.filter((m) => m.dkim === 'pass').length}/${rotation.length} reload-ms=${reloadMs} old-key-during-reload=${oldDuringReload} negative-cache-failed=${negativeFailed}/${negative.length} unpublished-failed=${unpublishedFailed}/${unpublished.length} deleted-while-queued-failed=${deleted} revoked-while-queued-failed=${revoked} run=${((Date.now() - t0) / 1000).toFixed(1)}s`);
  assert.equal(r.delivered, rig.submitted, 'every message delivered');
  assert.equal(r.unverified + r.other + r.deferred + r.bounced, 0, `every message got a verdict, none deferred: ${JSON.stringify(r)}`);
}

describe('DKIM mail rig', { concurrency: 2 }, () => {
  for (const signer of ['opendkim', 'rspamd'] as const) {
    test(`${signer} signs, OpenDKIM verifies through a caching Unbound; the rig catches careless rotations`, { timeout: 240_000 }, async (t) => {
      if (!requireBinaries(t, dkimRigBinaries(signer))) return;
      await proveRig(t, signer);
    });
  }
});
