// Next-key mode on real BIND (primary + secondary, TTL 2 s), with danehook's own generated key:
// the first deploy announces a next key; a certificate issued for `danehook next-key --csr` (signed
// by openssl, delivered without a key) goes live inside its deploy; an unannounced key waits; a
// client's next key replaced before use has its records removed. Known answers from openssl and dig.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, opensslKeySpkiSha256, removeCertDir, signCsr } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';
import { reportFigures } from '../harness/figures.js';
import { entryStatus, postDeployUntil, sleep } from '../harness/steps.js';

const TTL = 2;
const OWNER = '_25._tcp.mx.example.test.';
const sorted = (xs: string[]) => [...xs].sort();

async function rig(t: Parameters<typeof startBind>[0], nextKey: object = { mode: 'auto' }, margin = '1s') {
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Next Key Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const fullchain = join(ws.dir, 'fullchain.pem');
  const key = join(ws.dir, 'privkey.pem');
  const config = ws.writeConfig(bindConfig(ws, bind, {
    nextKey, install: { fullchain, key }, live: 'none', probe: { protocol: 'none' }, reload: ['true'],
  }, { ttl: TTL, rollover: { propagationTimeout: '60s', margin } }));
  /** Both servers' RRsets, which must agree. */
  const rrset = async () => {
    const [p, s] = await Promise.all([readTlsa(bind.primary, OWNER), readTlsa(bind.secondary!, OWNER)]);
    assert.deepEqual(sorted(s), sorted(p), 'secondary serves what the primary serves');
    return sorted(p);
  };
  return { bind, ws, ca, fullchain, key, config, rrset };
}

/** Timer-like post-deploy runs until the announced next key is served by every server; returns status. */
async function untilNextPropagated(config: string): Promise<any> {
  for (let i = 0; i < 30; i++) {
    const st = (await entryStatus(config)) as any;
    if (st.next?.phase === 'propagated') return st;
    assert.equal((await runCli(['post-deploy', '-c', config])).code, 0);
    await sleep(200);
  }
  assert.fail('the next key never reached every server');
}

test('generated next key: announced at the first deploy, a certificate for its CSR goes live inside its deploy', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const { ca, ws, fullchain, key, config, rrset } = await rig(t);
  const a = makeLeaf(ca, ['mx.example.test']);

  // First deploy: A, plus a generated next key N1 (same algorithm: ECDSA P-256, like A's key).
  const d1 = await runCli(['deploy', '-c', config, '--pem', a.combinedPath]);
  assert.equal(d1.code, 0, d1.stderr);
  await postDeployUntil(config, 'cleaned');
  let st = await entryStatus(config) as any;
  assert.ok(st.next, 'a next key is announced');
  const n1Path = (await runCli(['next-key', '--id', 'mx', '-c', config])).stdout.trim();
  assert.equal(statSync(n1Path).mode & 0o777, 0o600, 'the generated key is 0600');
  assert.match(execFileSync('openssl', ['pkey', '-in', n1Path, '-noout', '-text']).toString(), /ASN1 OID: prime256v1/, 'same curve as the current key');
  const n1 = opensslKeySpkiSha256(n1Path);
  assert.equal(st.next.spki, n1);
  const aRec = `3 1 1 ${opensslAssociation(a.certPath, 1, 1)}`;
  assert.deepEqual(await rrset(), sorted([aRec, `3 1 1 ${n1}`]), 'RRset = {current, next}');

  // Age: every server serves N1, then 2 × TTL + margin.
  st = await untilNextPropagated(config);
  assert.equal(Date.parse(st.next.agedAt) - Date.parse(st.next.since), 2 * TTL * 1000 + 1000, 'aged = since + 2 × TTL + margin');
  await sleep(Math.max(0, Date.parse(st.next.agedAt) - Date.now()) + 100);

  // lego-style: a CSR for the next key, a certificate for it delivered WITHOUT a key.
  const csr = await runCli(['next-key', '--id', 'mx', '--csr', '-c', config]);
  assert.equal(csr.code, 0, csr.stderr);
  const b = signCsr(ca, csr.stdout.trim(), ['mx.example.test']);
  assert.equal(opensslAssociation(b.certPath, 1, 1), n1, 'the certificate carries the next key');
  const started = Date.now();
  const d2 = await runCli(['deploy', '-c', config, '--cert', b.fullchainPath]);
  const took = Date.now() - started;
  assert.equal(d2.code, 0, d2.stderr);
  st = await entryStatus(config);
  const r = st.rollovers.at(-1);
  assert.equal(r.path, 'next-key');
  assert.ok(r.activatedAt, `activated inside the deploy (phase ${r.phase}):\n${d2.stderr}`);
  assert.match(d2.stderr, /next key, aged [\d.]+s: activated at once/);
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(b.fullchainPath, 'utf8'), 'B installed');
  assert.equal(opensslKeySpkiSha256(key), n1, 'the installed key is the next key');
  // The next key after N1 is announced; A's records are gone: {B = N1, N2}.
  const n2 = st.next.spki;
  assert.notEqual(n2, n1);
  await postDeployUntil(config, 'cleaned');
  await untilNextPropagated(config);
  assert.deepEqual(await rrset(), sorted([`3 1 1 ${n1}`, `3 1 1 ${n2}`]), 'RRset = {current, next} after the renewal');
  reportFigures(`next-key-core: deploy of a next-key renewal → activated in ${took} ms`);
  assert.ok(took < 10_000, `deploy took ${took} ms`);

  // An unannounced key takes the delayed path: not activated inside its deploy, and not before 2 × TTL.
  const c = makeLeaf(ca, ['mx.example.test']);
  const d3 = await runCli(['deploy', '-c', config, '--pem', c.combinedPath]);
  assert.equal(d3.code, 0, d3.stderr);
  const rc = (await entryStatus(config) as any).rollovers.at(-1);
  assert.equal(rc.path, 'new-key');
  assert.equal(rc.activatedAt, null);
  await postDeployUntil(config, 'cleaned');
  const done = (await entryStatus(config) as any).rollovers.at(-1);
  assert.ok(Date.parse(done.activatedAt) >= Date.parse(done.propagatedAt) + 2 * TTL * 1000, 'waited 2 × TTL after the last server');
  // N2 was not used: it stays announced beside C.
  assert.deepEqual(await rrset(), sorted([`3 1 1 ${opensslAssociation(c.certPath, 1, 1)}`, `3 1 1 ${n2}`]));
  void ws;
});

test('announced but not aged yet: the renewal goes live when the announcement ages, not 2 × TTL after the renewal', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  // margin 6 s: the announcement ages 2 × TTL 2 s + 6 s = 10 s after every server served it,
  // room to deliver the renewal well before that.
  const { ca, config, rrset } = await rig(t, { mode: 'auto' }, '6s');
  const a = makeLeaf(ca, ['mx.example.test']);
  assert.equal((await runCli(['deploy', '-c', config, '--pem', a.combinedPath])).code, 0);
  await postDeployUntil(config, 'cleaned');
  const announced = (await untilNextPropagated(config)).next;
  // The renewal comes 3 s into the announcement's 10 s: the delayed path would count 10 s from it.
  await sleep(Math.max(0, Date.parse(announced.since) + 3000 - Date.now()));
  const csr = await runCli(['next-key', '--id', 'mx', '--csr', '-c', config]);
  const b = signCsr(ca, csr.stdout.trim(), ['mx.example.test']);
  const d = await runCli(['deploy', '-c', config, '--cert', b.fullchainPath]);
  assert.equal(d.code, 0, d.stderr);
  assert.ok(Date.now() < Date.parse(announced.agedAt), 'the renewal arrived before the announcement aged (else this test proves nothing)');
  let r = (await entryStatus(config) as any).rollovers.at(-1);
  assert.equal(r.path, 'next-key');
  assert.equal(r.activatedAt, null, 'not live inside its deploy: the announcement has not aged');
  await postDeployUntil(config, 'cleaned', { everyMs: 200 });
  r = (await entryStatus(config) as any).rollovers.at(-1);
  const activated = Date.parse(r.activatedAt);
  // Safety: never before every cache can hold the announcement (since + 2 × TTL + margin).
  assert.ok(activated >= Date.parse(announced.since) + 2 * TTL * 1000 + 6000, `activated ${activated - Date.parse(announced.since)} ms after every server served the announcement`);
  assert.equal(r.activateAfter, announced.agedAt, 'its deadline is the announcement\'s own');
  // The point: earlier than the delayed path, which counts 2 × TTL + margin from the renewal.
  const classic = Date.parse(r.propagatedAt) + 2 * TTL * 1000 + 6000;
  assert.ok(activated < classic, `activated ${classic - activated} ms before the delayed path would have`);
  assert.match(d.stderr + JSON.stringify(r), /next key, announced/);
  reportFigures(`next-key-core: unaged next key went live ${activated - Date.parse(announced.since)} ms after the announcement propagated, ${classic - activated} ms before 2 × TTL + margin after the renewal`);
  assert.ok((await rrset()).includes(`3 1 1 ${announced.spki}`));
});

test("a client's next key replaced before use: its records are removed, the new one announced", { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const { ca, ws, config, rrset } = await rig(t);
  const k1 = makeLeaf(ca, ['mx.example.test']).keyPath; // stands for acme.sh's <key>.next
  const k2 = makeLeaf(ca, ['mx.example.test']).keyPath;
  const nextPath = join(ws.dir, 'mx.example.test.key.next');
  // acme.sh's --reloadcmd environment (FACTS.md), pointing at our files.
  const acmeEnv = (leaf: ReturnType<typeof makeLeaf>) => ({ CERT_PATH: leaf.certPath, CERT_KEY_PATH: leaf.keyPath, CERT_FULLCHAIN_PATH: leaf.fullchainPath, Le_Domain: 'mx.example.test', Le_ForceNewDomainKey: '1', Le_Next_Domain_Key: nextPath });
  copyFileSync(k1, nextPath);
  const a = makeLeaf(ca, ['mx.example.test']);
  const d1 = await runCli(['deploy', '-c', config], { env: acmeEnv(a) });
  assert.equal(d1.code, 0, d1.stderr);
  await postDeployUntil(config, 'cleaned');
  const st1 = await untilNextPropagated(config);
  assert.equal(st1.next.source, 'acme.sh');
  assert.equal(st1.next.spki, opensslKeySpkiSha256(k1));
  assert.deepEqual(await rrset(), sorted([`3 1 1 ${opensslAssociation(a.certPath, 1, 1)}`, `3 1 1 ${opensslKeySpkiSha256(k1)}`]));

  // The client renews with another key and now keeps k2 as its next key: k1 was never used.
  writeFileSync(nextPath, readFileSync(k2));
  const b = makeLeaf(ca, ['mx.example.test']);
  const d2 = await runCli(['deploy', '-c', config], { env: acmeEnv(b) });
  assert.equal(d2.code, 0, d2.stderr);
  await postDeployUntil(config, 'cleaned');
  const st2 = await untilNextPropagated(config);
  assert.equal(st2.next.spki, opensslKeySpkiSha256(k2));
  assert.deepEqual(await rrset(), sorted([`3 1 1 ${opensslAssociation(b.certPath, 1, 1)}`, `3 1 1 ${opensslKeySpkiSha256(k2)}`]), 'k1 retired, k2 announced');
});

test('nextKey.mode off: no next key, RRset = {current} (control for the tests above)', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const { ca, config, rrset } = await rig(t, { mode: 'off' });
  const a = makeLeaf(ca, ['mx.example.test']);
  assert.equal((await runCli(['deploy', '-c', config, '--pem', a.combinedPath])).code, 0);
  await postDeployUntil(config, 'cleaned');
  assert.equal(((await entryStatus(config)) as any).next, null);
  assert.deepEqual(await rrset(), [`3 1 1 ${opensslAssociation(a.certPath, 1, 1)}`]);
  const nk = await runCli(['next-key', '--id', 'mx', '-c', config]);
  assert.equal(nk.code, 78, 'next-key refuses when the mode is off');
});
