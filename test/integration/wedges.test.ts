// No wedges: states an operator reaches in normal use must lead somewhere — a port removed from
// the config, an older certificate redeployed, --retry for an unknown id, and a deploy repeated
// while DNS is down. Checked against real BIND (dig) with openssl-made certificates.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind, type BindHandle } from '../harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir, type Ca, type CertFiles } from '../harness/certs.js';
import { baseConfig, bindConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';
import { nsupdate } from '../harness/dns.js';
import { lastRollover, sleep } from '../harness/steps.js';

const TTL = 2;
const owner = (port: number) => `_${port}._tcp.mx.example.test.`;
const tlsa = (c: CertFiles) => `3 1 1 ${opensslAssociation(c.certPath, 1, 1)}`;

interface Rig { bind: BindHandle; ws: Workspace; ca: Ca; a: CertFiles; fullchain: string; write(entry?: Record<string, unknown>): string }

/** BIND primary + secondary; certificate A installed and stated live (`live:`); reload `true`, no probe. */
async function startRig(t: TestContext): Promise<Rig> {
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Wedges Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const a = makeLeaf(ca, ['mx.example.test']);
  const fullchain = join(ws.dir, 'fullchain.pem');
  copyFileSync(a.fullchainPath, fullchain);
  const write = (entry: Record<string, unknown> = {}) =>
    ws.writeConfig(bindConfig(ws, bind, { install: { fullchain }, reload: ['true'], probe: { protocol: 'none' }, live: a.fullchainPath, ...entry }, { ttl: TTL, timeout: '500ms', rollover: { propagationTimeout: '60s' } }));
  return { bind, ws, ca, a, fullchain, write };
}

async function rollOver(config: string, cert: CertFiles): Promise<void> {
  const d = await runCli(['deploy', '-c', config, '--pem', cert.combinedPath]);
  assert.equal(d.code, 0, d.stderr);
  const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(w.code, 0, w.stderr);
  assert.equal((await lastRollover(config))?.phase, 'cleaned');
}

async function served(bind: BindHandle, name: string): Promise<{ primary: string[]; secondary: string[] }> {
  assert.ok(await bind.waitForSecondarySync());
  return { primary: await readTlsa(bind.primary, name), secondary: await readTlsa(bind.secondary!, name) };
}
const both = (records: string[]) => ({ primary: records, secondary: records });

test('ports removed from the config: the next rollover completes and removes our records there, no one else\'s', { timeout: 110_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'nsupdate', 'openssl'])) return;
  const rig = await startRig(t);
  const [b, c, other] = [1, 2, 3].map(() => makeLeaf(rig.ca, ['mx.example.test'])) as [CertFiles, CertFiles, CertFiles];
  const config = rig.write({ ports: [25, 465, 587] });
  await rollOver(config, b);
  for (const port of [25, 465, 587]) assert.deepEqual(await served(rig.bind, owner(port)), both([tlsa(b)]));
  // Someone else's record at _465 (not danehook's): it must survive the port's retirement.
  const r = await nsupdate(rig.bind.primary, rig.bind.zone, rig.bind.keyFilePath, [`update add ${owner(465)} ${TTL} TLSA ${tlsa(other)}`]);
  assert.equal(r.code, 0, r.stderr);

  rig.write({ ports: [25] });
  await rollOver(config, c);
  assert.deepEqual(await served(rig.bind, owner(587)), both([]), 'our records at _587._tcp are gone');
  assert.deepEqual(await served(rig.bind, owner(465)), both([tlsa(other)]), 'at _465._tcp only the record that is not ours remains');
  assert.deepEqual(await served(rig.bind, owner(25)), both([tlsa(c)]), "_25._tcp has only the new certificate's record");
  assert.equal(readFileSync(rig.fullchain, 'utf8'), readFileSync(c.fullchainPath, 'utf8'), 'the new certificate is installed');
});

test('an older certificate than the live one: 65 and nothing changes; --force proceeds', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const rig = await startRig(t);
  const older = makeLeaf(rig.ca, ['mx.example.test']);
  await sleep(1100); // notBefore has whole seconds
  const live = makeLeaf(rig.ca, ['mx.example.test']);
  const notBefore = (c: CertFiles) => Date.parse(execFileSync('openssl', ['x509', '-in', c.certPath, '-noout', '-startdate']).toString().split('=')[1]!);
  assert.ok(notBefore(older) < notBefore(live), 'openssl: the older certificate starts earlier');
  const config = rig.write();
  await rollOver(config, live);

  const state = () => Object.fromEntries(Object.entries(rig.ws.snapshotState()).filter(([p]) => !p.endsWith('events.jsonl')));
  const before = { state: state(), serial: await rig.bind.serial(), installed: readFileSync(rig.fullchain, 'utf8') };
  const d = await runCli(['deploy', '-c', config, '--pem', older.combinedPath]);
  assert.equal(d.code, 65, `deploy of an older certificate exited ${d.code}:\n${d.stderr}`);
  assert.deepEqual({ state: state(), serial: await rig.bind.serial(), installed: readFileSync(rig.fullchain, 'utf8') }, before, 'nothing changed');
  assert.deepEqual(await served(rig.bind, owner(25)), both([tlsa(live)]));

  const forced = await runCli(['deploy', '--force', '-c', config, '--pem', older.combinedPath]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual((await served(rig.bind, owner(25))).primary, [tlsa(live), tlsa(older)].sort(), 'published beside the live record');
  assert.equal((await lastRollover(config))?.spki, opensslAssociation(older.certPath, 1, 1));
});

test('deploy --retry for an id no entry has: 64', async (t) => {
  const ws = makeWorkspace();
  t.after(() => ws.remove());
  const config = ws.writeConfig(baseConfig(ws));
  const r = await runCli(['deploy', '--retry', '--id', 'unknown', '-c', config]);
  assert.equal(r.code, 64, `exited ${r.code}:\n${r.stderr}`);
  assert.match(r.stderr, /unknown/, 'names the id');
});

test('deploy repeated while DNS is down says the rollover is staged, not published; post-deploy publishes it later', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const rig = await startRig(t);
  const b = makeLeaf(rig.ca, ['mx.example.test']);
  const config = rig.write();
  await rig.bind.stopPrimary();
  const first = await runCli(['deploy', '-c', config, '--pem', b.combinedPath]);
  assert.equal(first.code, 69, first.stderr);
  assert.equal((await lastRollover(config))?.phase, 'staged');

  const again = await runCli(['deploy', '-c', config, '--pem', b.combinedPath]);
  assert.ok(again.code === 69 || again.code === 0, `exited ${again.code}:\n${again.stderr}`);
  const claims = again.stderr.split('\n').filter((l) => /\bpublished\b/i.test(l) && !/\bnot\s+(yet\s+)?published\b/i.test(l));
  assert.deepEqual(claims, [], 'must not claim it was published');
  assert.match(again.stderr, /staged/);
  const r = await lastRollover(config);
  assert.equal(r?.phase, 'staged');
  assert.ok(r?.lastError, `status --json has lastError: ${JSON.stringify(r)}`);
  assert.match(r.lastError, /127\.0\.0\.1:\d+/, 'lastError names the server');

  await rig.bind.startPrimary();
  const p = await runCli(['post-deploy', '-c', config], { timeoutMs: 60_000 });
  assert.equal(p.code, 0, p.stderr);
  // No RRset existed before, so this one run may go on to activate and clean up.
  assert.notEqual((await lastRollover(config))?.phase, 'staged');
  assert.ok((await served(rig.bind, owner(25))).primary.includes(tlsa(b)), "B's record is published");
});
