// Faults on real BIND during a rollover: primary down while publishing and while cleaning up,
// secondary dead past propagationTimeout, a rejected TSIG key. Each gives its documented exit code,
// leaves the live certificate covered, and the next runs converge once the fault is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind, type BindHandle } from '../harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';

const OWNER = '_25._tcp.mx.example.test.';
const tlsa = (leaf: CertFiles) => `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`;

interface Setup { bind: BindHandle; ws: Workspace; a: CertFiles; b: CertFiles; config: string; fullchain: string; phase(): Promise<string> }

async function setup(t: Parameters<typeof startBind>[0], name: string, rollover: object = {}): Promise<Setup> {
  const bind = await startBind(t, { zone: 'example.test', ttl: 1, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa(`Faults ${name}`);
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const [a, b] = [1, 2].map(() => makeLeaf(ca, ['mx.example.test']));
  const fullchain = join(ws.dir, 'fullchain.pem');
  copyFileSync(a!.fullchainPath, fullchain);
  const config = ws.writeConfig(bindConfig(ws, bind, { install: { fullchain }, reload: ['true'], probe: { protocol: 'none' }, live: fullchain }, { ttl: 1, timeout: '500ms', rollover }));
  const phase = async () => JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout).certificates[0].rollovers.at(-1)?.phase ?? 'none';
  return { bind, ws, a: a!, b: b!, config, fullchain, phase };
}

async function converge(s: Setup): Promise<void> {
  const r = await runCli(['post-deploy', '--wait', '-c', s.config], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await s.phase(), 'cleaned');
  assert.equal(readFileSync(s.fullchain, 'utf8'), readFileSync(s.b.fullchainPath, 'utf8'));
  assert.deepEqual(await readTlsa(s.bind.primary, OWNER), [tlsa(s.b)]);
}

test('primary down while publishing: 69, staged kept, nothing served changes; recovers', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig'])) return;
  const s = await setup(t, 'publish');
  await s.bind.stopPrimary();
  const d = await runCli(['deploy', '-c', s.config, '--pem', s.b.combinedPath]);
  assert.equal(d.code, 69, d.stderr);
  assert.match(d.stderr, /127\.0\.0\.1:\d+/);
  assert.equal(await s.phase(), 'staged');
  assert.equal(readFileSync(s.fullchain, 'utf8'), readFileSync(s.a.fullchainPath, 'utf8'));
  await s.bind.startPrimary();
  await converge(s);
});

test('primary down during cleanup: 69 after activation, the new record stays; recovers', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig'])) return;
  const s = await setup(t, 'cleanup', { cleanupDelay: '3s' });
  assert.equal((await runCli(['deploy', '-c', s.config, '--pem', s.b.combinedPath])).code, 0);
  for (let i = 0; i < 20 && (await s.phase()) !== 'activated'; i++) {
    await runCli(['post-deploy', '-c', s.config]);
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(await s.phase(), 'activated');
  await s.bind.stopPrimary();
  await new Promise((r) => setTimeout(r, 3000));
  const p = await runCli(['post-deploy', '-c', s.config]);
  assert.equal(p.code, 69, p.stderr);
  assert.equal(await s.phase(), 'activated', 'cleanup is retried, not skipped');
  await s.bind.startPrimary();
  assert.deepEqual(await readTlsa(s.bind.primary, OWNER), [tlsa(s.a), tlsa(s.b)].sort(), 'nothing was deleted');
  await converge(s);
});

test('secondary dead past propagationTimeout: 75, no activation; recovers when it is back', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig'])) return;
  const s = await setup(t, 'secondary', { propagationTimeout: '2s' });
  await s.bind.stopSecondary();
  assert.equal((await runCli(['deploy', '-c', s.config, '--pem', s.b.combinedPath])).code, 0);
  await new Promise((r) => setTimeout(r, 2500));
  const p = await runCli(['post-deploy', '-c', s.config]);
  assert.equal(p.code, 75, p.stderr);
  assert.match(p.stderr, /propagationTimeout/);
  assert.equal(await s.phase(), 'published');
  assert.equal(readFileSync(s.fullchain, 'utf8'), readFileSync(s.a.fullchainPath, 'utf8'), 'not activated');
  const w = await runCli(['post-deploy', '--wait', '-c', s.config], { timeoutMs: 30_000 });
  assert.equal(w.code, 75, '--wait gives up past propagationTimeout instead of lingering');
  await s.bind.startSecondary();
  // A restarted secondary waits for its SOA refresh (a day in this zone); operators' `rndc refresh`.
  await s.bind.rndc('secondary', ['refresh', 'example.test']);
  await converge(s);
});

test('TSIG key rejected: 77, no DNS write; a fixed config converges', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig'])) return;
  const s = await setup(t, 'tsig');
  const good = readFileSync(s.config, 'utf8');
  const bad = JSON.parse(good);
  bad.dns.tsig = { name: 'danehook-key', algorithm: s.bind.key.algorithm };
  const serial = await s.bind.serial();
  const d = await runCli(['deploy', '-c', s.ws.writeConfig(bad), '--pem', s.b.combinedPath], { env: { DANEHOOK_TSIG_SECRET: Buffer.alloc(32, 5).toString('base64') } });
  assert.equal(d.code, 77, d.stderr);
  assert.match(d.stderr, /BADSIG/);
  assert.equal(await s.bind.serial(), serial, 'no DNS write');
  s.ws.writeConfig(JSON.parse(good));
  await converge(s);
});
