// Issuer sets against real BIND (primary + secondary, TTL 30 s) and real postfix: with
// `issuers: [A, B]` a same-key renewal signed by B activates at once (its records were served all
// along) and openssl's DANE check passes on each served record; a chain from C (not in the set) is
// exit 65 with no DNS or state write. Control: without the set the B renewal waits 2 × TTL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { startPostfix } from '../harness/postfix.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type Ca, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, postfixEntry, runCli } from '../harness/cli.js';
import { presentedSpkiSha256, readTlsa } from '../harness/dane-check.js';
import { opensslDaneVerify, opensslPresentedChain } from '../harness/tls-service-openssl.js';
import { entryStatus, postDeployUntil } from '../harness/steps.js';
import { reportFigures } from '../harness/figures.js';

const OWNER = '_25._tcp.mx.example.test.';
const DOMAIN = 'mx.example.test';
const TTL = 30;
const ee = (leaf: CertFiles) => `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`;
const ta = (ca: Ca) => `2 1 1 ${opensslAssociation(ca.certPath, 1, 1)}`;

interface Events { at: string; event: string; phase?: string; alreadyServed?: boolean }
const readEvents = (stateDir: string): Events[] => readFileSync(join(stateDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

type Ctx = Parameters<typeof requireBinaries>[0] & { after(fn: () => unknown): void };

/** BIND + postfix serving leaf A0 (own key, from A); leaves A1, B1, C1 share one new key. */
async function setup(t: Ctx, issuers: boolean) {
  const bind = await startBind(t as never, { zone: 'example.test', ttl: TTL, secondary: true });
  const ws = makeWorkspace();
  const root = makeCa('Issuer Set Root');
  t.after(() => { ws.remove(); removeCertDir(root); });
  const [a, b, c] = ['Intermediate A', 'Intermediate B', 'Intermediate C'].map((n) => makeIntermediate(root, n)) as [Ca, Ca, Ca];
  const a0 = makeLeaf(a, [DOMAIN]);
  const a1 = makeLeaf(a, [DOMAIN]);
  const b1 = makeLeaf(b, [DOMAIN], { keyPath: a1.keyPath }); // the renewal keeps its key
  const c1 = makeLeaf(c, [DOMAIN], { keyPath: a1.keyPath });
  const pf = await startPostfix(t as never, { combinedPem: readFileSync(a0.combinedPath, 'utf8'), ipv6: false });
  const config = ws.writeConfig(bindConfig(ws, bind, {
    ...postfixEntry(pf, '3s'),
    tlsa: ['3 1 1', '2 1 1'],
    nextKey: { mode: 'off' }, // this test is about issuer records alone: no announced next key beside them
    ...(issuers ? { issuers: [a.certPath, b.certPath] } : {}),
  }, { ttl: TTL, rollover: { propagationTimeout: '60s' } }));
  const servedRrset = async () => {
    assert.ok(await bind.waitForSecondarySync());
    const [p, s] = [await readTlsa(bind.primary, OWNER), await readTlsa(bind.secondary!, OWNER)];
    assert.deepEqual(s, p, 'secondary serves what the primary serves');
    return p;
  };
  // First rollover A0 → A1: no TLSA RRset existed, so it activates as soon as both servers serve it.
  const d = await runCli(['deploy', '-c', config, '--pem', a1.combinedPath]);
  assert.equal(d.code, 0, d.stderr);
  await postDeployUntil(config, 'cleaned');
  assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), opensslAssociation(a1.certPath, 1, 1), 'A1 served');
  return { bind, ws, pf, config, a, b, c, a1, b1, c1, servedRrset };
}

test('issuer set A+B: a same-key renewal signed by B activates without a wait and verifies; C is refused', { timeout: 240_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
  const { ws, pf, config, a, b, a1, b1, c1, servedRrset } = await setup(t, true);
  const before = await servedRrset();
  assert.deepEqual(before, [ee(a1), ta(a), ta(b)].sort(), 'the 3 1 1 and a 2 1 1 per CA in the set');

  // plan and status show the set (what a person checks before relying on it).
  const plan = await runCli(['plan', '--json', '-c', config, '--pem', b1.combinedPath]);
  assert.equal(plan.code, 0, plan.stderr);
  const planned = JSON.parse(plan.stdout);
  assert.deepEqual(planned.issuers.map((i: { subject: string; records: string[]; signedThis: boolean }) => [i.subject, i.records, i.signedThis]), [
    ['CN=Intermediate A', [ta(a)], false],
    ['CN=Intermediate B', [ta(b)], true],
  ]);
  assert.deepEqual(planned.changes, [], 'nothing to add: B\'s records are already served');
  const status = await entryStatus(config, 'mx', { online: true }) as unknown as { issuers: { subject: string; spki: string; served: boolean }[] };
  assert.deepEqual(status.issuers.map((i) => [i.subject, i.spki, i.served]), [
    ['CN=Intermediate A', opensslAssociation(a.certPath, 1, 1), true],
    ['CN=Intermediate B', opensslAssociation(b.certPath, 1, 1), true],
  ]);

  // The renewal signed by B, same key: deploy, then (if deploy did not finish it) one post-deploy.
  const t0 = Date.now();
  const d = await runCli(['deploy', '-c', config, '--pem', b1.combinedPath]);
  assert.equal(d.code, 0, d.stderr);
  let r = (await entryStatus(config)).rollovers.at(-1)!;
  if (r.phase !== 'activated' && r.phase !== 'cleaned') {
    const p = await runCli(['post-deploy', '-c', config]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /the records were already served with the live certificate/);
    r = (await entryStatus(config)).rollovers.at(-1)!;
  }
  const elapsed = Date.now() - t0;
  assert.ok(r.phase === 'activated' || r.phase === 'cleaned', `phase ${r.phase}: ${r.lastError}`);
  const waited = Date.parse(r.activatedAt!) - Date.parse(r.publishedAt!);
  assert.ok(waited < (TTL * 1000) / 2, `activated ${waited} ms after publication; 2 × TTL would be ${2 * TTL} s`);
  reportFigures(`issuer-set: same-key renewal from the other intermediate activated ${waited} ms after publication (deploy → activated ${elapsed} ms; 2 × TTL = ${2 * TTL} s)`);
  assert.ok(readEvents(ws.stateDir).some((e) => e.phase === 'published' && e.alreadyServed === true), 'published with alreadyServed');

  // The service presents B's chain now; DNS did not change at all.
  const chain = await opensslPresentedChain('127.0.0.1', pf.smtpPort, 'smtp', DOMAIN);
  assert.equal(chain[0]!.toString('hex'), b1.der.toString('hex'), 'B1 served');
  assert.equal(chain[1]!.toString('hex'), b.der.toString('hex'), 'the TA (B) is in the served chain');
  assert.deepEqual(await servedRrset(), before, 'the RRset is unchanged');

  // openssl's own DANE verdict, record by record: the leaf key and B's issuer record each verify
  // the served chain alone; A's does not (it is there for a renewal from A), so the check is real.
  for (const rr of before) {
    const v = await opensslDaneVerify('127.0.0.1', pf.smtpPort, 'smtp', DOMAIN, [rr]);
    if (rr === ta(a)) assert.ok(!v.ok, `${rr} must not match B's chain:\n${v.output}`);
    else assert.ok(v.ok, `${rr}: ${v.detail}\n${v.output}`);
    if (rr === ta(b)) assert.match(v.detail, /DANE TLSA 2 1 1 .* matched TA certificate at depth 1/);
  }
  const all = await opensslDaneVerify('127.0.0.1', pf.smtpPort, 'smtp', DOMAIN, before);
  assert.ok(all.ok, all.output);

  // A chain from C, not in the set: exit 65, no DNS write, state unchanged.
  await postDeployUntil(config, 'cleaned');
  const snapshot = ws.snapshotState();
  const refused = await runCli(['deploy', '-c', config, '--pem', c1.combinedPath]);
  assert.equal(refused.code, 65, refused.stderr);
  assert.match(refused.stderr, /"mx": the issuer of the certificate, "CN=Intermediate C" .* is not in the configured issuer set \("CN=Intermediate A", "CN=Intermediate B"\)/);
  assert.deepEqual(await servedRrset(), before, 'no DNS write (dig at primary and secondary)');
  assert.deepEqual(ws.snapshotState(), snapshot, 'state dir unchanged, byte for byte');
  assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), opensslAssociation(b1.certPath, 1, 1));
});

test('control: without the issuer set the same B renewal takes the delayed path', { timeout: 240_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
  const { pf, config, a, b, a1, b1, servedRrset } = await setup(t, false);
  assert.deepEqual(await servedRrset(), [ee(a1), ta(a)].sort(), 'only the chain\'s own issuer');
  const d = await runCli(['deploy', '-c', config, '--pem', b1.combinedPath]);
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual(await servedRrset(), [ee(a1), ta(a), ta(b)].sort(), 'B\'s record is new');
  let r = (await entryStatus(config)).rollovers.at(-1)!;
  if (r.phase === 'published') {
    const p = await runCli(['post-deploy', '-c', config]);
    assert.equal(p.code, 0, p.stderr);
    r = (await entryStatus(config)).rollovers.at(-1)!;
  }
  assert.equal(r.phase, 'propagated', 'waiting for the TTL, not activated');
  const delay = Date.parse(r.activateAfter!) - Date.parse(r.propagatedAt!);
  assert.ok(delay >= 2 * TTL * 1000, `activation ${delay} ms after propagation; RFC 7671 §8.1 wants 2 × TTL`);
  assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), opensslAssociation(a1.certPath, 1, 1), 'A1 still served');
});
