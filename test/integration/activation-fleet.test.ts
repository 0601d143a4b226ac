// Activation beyond install + reload, against real BIND and postfix: a custom `activate` command
// gets the staged files; several hosts behind one name converge before old records go; records
// removed behind danehook's back stop activation until they are published and propagated again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind, type BindHandle } from '../harness/bind.js';
import { startPostfix } from '../harness/postfix.js';
import { nsupdate } from '../harness/dns.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';
import { presentedSpkiSha256, readTlsa } from '../harness/dane-check.js';

const OWNER = '_25._tcp.mx.example.test.';
const tlsa = (leaf: CertFiles) => `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`;

const writeConfig = (ws: Workspace, bind: BindHandle, entry: Record<string, unknown>, rollover: object = {}) =>
  ws.writeConfig(bindConfig(ws, bind, entry, { ttl: 1, timeout: '1s', rollover }));

const phase = async (config: string) => JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout).certificates[0].rollovers.at(-1)?.phase;

test('custom activate command gets the staged files (live learned by probing); its failure rolls back', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: 1, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Activate Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const [z, a, b] = [1, 2, 3].map(() => makeLeaf(ca, ['mx.example.test']));
  // The service is "elsewhere": danehook installs nothing itself, the activate command pushes.
  const pf = await startPostfix(t, { combinedPem: readFileSync(z!.combinedPath, 'utf8'), ipv6: false });
  const envOut = join(ws.dir, 'env.txt');
  const push = `cat "$DANEHOOK_KEY_FILE" "$DANEHOOK_FULLCHAIN_FILE" > ${pf.chainFile} && postfix -c ${pf.configDir} reload && printf '%s\\n' "$DANEHOOK_ID" "$DANEHOOK_CERT_FILE" "$DANEHOOK_CHAIN_FILE" > ${envOut}`;
  const probe = { protocol: 'smtp', addresses: [`127.0.0.1:${pf.smtpPort}`], grace: '3s' };
  const config = writeConfig(ws, bind, { activate: ['sh', '-c', push], probe });
  const r = await runCli(['deploy', '--wait', '-c', config, '--pem', a!.combinedPath], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /live certificate of "mx" \(SPKI [0-9a-f]+…\) known from a probe of 127\.0\.0\.1:\d+/);
  assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), opensslAssociation(a!.certPath, 1, 1), 'the pushed certificate is served');
  const [id, certFile, chainFile] = readFileSync(envOut, 'utf8').trim().split('\n');
  assert.equal(id, 'mx');
  assert.match(certFile!, new RegExp(`^${ws.stateDir}/staged/mx/[a-z0-9-]+/certificate\\.pem$`));
  assert.match(chainFile!, /chain\.pem$/);
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [tlsa(a!)], "Z's record (learned by probe) cleaned up");

  // A failing activate command is a failed activation: rolled back, 69, records kept.
  const failing = writeConfig(ws, bind, { activate: ['sh', '-c', 'echo push failed >&2; exit 9'], probe });
  const f = await runCli(['deploy', '--wait', '-c', failing, '--pem', b!.combinedPath], { timeoutMs: 30_000 });
  assert.equal(f.code, 69, f.stderr);
  assert.match(f.stderr, /activate command \(sh -c .*\) exited with 9: push failed/);
  assert.equal(await phase(failing), 'rolled-back');
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [tlsa(a!), tlsa(b!)].sort());
  assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), opensslAssociation(a!.certPath, 1, 1), 'still A');
});

test('fleet: cleanup waits until every host behind the name presents the new certificate', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: 1, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Fleet Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const [a, b] = [1, 2].map(() => makeLeaf(ca, ['mx.example.test']));
  const here = await startPostfix(t, { combinedPem: readFileSync(a!.combinedPath, 'utf8'), ipv6: false });
  const other = await startPostfix(t, { combinedPem: readFileSync(a!.combinedPath, 'utf8'), address: '127.0.0.2' });
  const config = writeConfig(ws, bind, {
    install: { combined: here.chainFile },
    reload: ['postfix', '-c', here.configDir, 'reload'],
    probe: { protocol: 'smtp', addresses: [`127.0.0.1:${here.smtpPort}`, `127.0.0.2:${other.smtpPort}`], grace: '3s' },
  });
  assert.equal((await runCli(['deploy', '-c', config, '--pem', b!.combinedPath])).code, 0);
  let last = { code: 0 as number | null, stderr: '' };
  for (let i = 0; i < 20 && (await phase(config)) !== 'activated'; i++) {
    last = await runCli(['post-deploy', '-c', config]);
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(await phase(config), 'activated', last.stderr);
  assert.equal(await presentedSpkiSha256('127.0.0.1', here.smtpPort), opensslAssociation(b!.certPath, 1, 1), 'this host presents B');
  assert.equal(await presentedSpkiSha256('127.0.0.2', other.smtpPort), opensslAssociation(a!.certPath, 1, 1), 'the other host still presents A');
  const postponed = await runCli(['post-deploy', '-c', config]);
  assert.equal(postponed.code, 75, postponed.stderr);
  assert.match(postponed.stderr, /cleanup postponed: mx\.example\.test 127\.0\.0\.2:\d+ \(smtp\) presents SPKI [0-9a-f]{16}…, which matches none/);
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [tlsa(a!), tlsa(b!)].sort(), "A's record stays while a host still presents A");
  // The other host's own rollover happens; then the old record may go.
  other.installCert(readFileSync(b!.combinedPath, 'utf8'));
  await other.reload();
  await new Promise((r) => setTimeout(r, 500));
  const done = await runCli(['post-deploy', '-c', config]);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(await phase(config), 'cleaned');
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [tlsa(b!)]);
});

test('records removed behind our back: no activation until published and propagated again', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'nsupdate'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: 2, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Precheck Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const [a, b] = [1, 2].map(() => makeLeaf(ca, ['mx.example.test']));
  const fullchain = join(ws.dir, 'fullchain.pem');
  // margin 1 s: the deadline is 2 × TTL 1 s + 1 s = 3 s after propagation, well inside the 4.5 s wait below.
  const config = writeConfig(ws, bind, { install: { fullchain }, reload: ['true'], probe: { protocol: 'none' }, live: 'none' }, { margin: '1s' });
  assert.equal((await runCli(['deploy', '--wait', '-c', config, '--pem', a!.combinedPath], { timeoutMs: 30_000 })).code, 0);
  assert.equal((await runCli(['deploy', '-c', config, '--pem', b!.combinedPath])).code, 0);
  assert.equal((await runCli(['post-deploy', '-c', config])).code, 0);
  assert.equal(await phase(config), 'propagated');
  // An operator (or another tool) deletes the new record during the 2 × TTL wait.
  const del = await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update delete ${OWNER} TLSA ${tlsa(b!)}`]);
  assert.equal(del.code, 0, del.stderr);
  await bind.waitForSecondarySync();
  await new Promise((r) => setTimeout(r, 4500));
  const refused = await runCli(['post-deploy', '-c', config]);
  assert.equal(refused.code, 75, refused.stderr);
  assert.match(refused.stderr, /not activating: .* no longer serve\(s\) the new records; publishing them again/);
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(a!.fullchainPath, 'utf8'), 'still A');
  const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 30_000 });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(b!.fullchainPath, 'utf8'));
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [tlsa(b!)]);
});
