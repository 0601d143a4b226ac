// Activation that proves itself, against real BIND (primary + secondary) and real postfix: the
// served certificate changes only at activation and openssl's DANE check passes after every phase;
// a failing reload, a hanging reload and a wrong certificate served each roll back (exit 69).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { makeTempDir } from '../harness/tempdir.js';
import { startBind } from '../harness/bind.js';
import { startPostfix } from '../harness/postfix.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';
import { opensslDaneVerify, presentedSpkiSha256, readTlsa } from '../harness/dane-check.js';

const OWNER = '_25._tcp.mx.example.test.';
const spkiOf = (leaf: CertFiles) => opensslAssociation(leaf.certPath, 1, 1);
const tlsa = (leaf: CertFiles) => `3 1 1 ${spkiOf(leaf)}`;

async function setup(t: Parameters<typeof requireBinaries>[0] & { after(fn: () => unknown): void }, entry: Record<string, unknown> = {}) {
  const bind = await startBind(t as never, { zone: 'example.test', ttl: 2, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Activation Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const inter = makeIntermediate(ca, 'Activation Intermediate');
  const a = makeLeaf(inter, ['mx.example.test']);
  const b = makeLeaf(inter, ['mx.example.test']);
  const pf = await startPostfix(t as never, { combinedPem: readFileSync(a.combinedPath, 'utf8'), ipv6: false });
  const config = ws.writeConfig(bindConfig(ws, bind, {
    install: { combined: pf.chainFile },
    reload: ['postfix', '-c', pf.configDir, 'reload'],
    probe: { protocol: 'smtp', addresses: [`127.0.0.1:${pf.smtpPort}`], grace: '3s' },
    ...entry,
  }, { rollover: { propagationTimeout: '60s' } }));
  const dane = async () => {
    await bind.waitForSecondarySync();
    const rrset = await readTlsa(bind.secondary!, OWNER);
    return opensslDaneVerify('127.0.0.1', pf.smtpPort, 'mx.example.test', rrset);
  };
  return { bind, ws, a, b, pf, config, dane };
}

test('postfix rollover: served certificate changes only at activation; DANE verifies after every phase', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
  const { bind, ws, a, b, pf, config, dane } = await setup(t);
  const d = await runCli(['deploy', '-c', config, '--pem', b.combinedPath]);
  assert.equal(d.code, 0, d.stderr);
  const phases: string[] = [];
  for (let i = 0; i < 20; i++) {
    const status = JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout);
    const phase = status.certificates[0].rollovers.at(-1).phase;
    if (phases.at(-1) !== phase) phases.push(phase);
    const check = await dane();
    assert.ok(check.ok, `DANE verification failed in phase ${phase}:\n${check.output}`);
    const served = await presentedSpkiSha256('127.0.0.1', pf.smtpPort);
    if (phase === 'published' || phase === 'propagated') assert.equal(served, spkiOf(a), `old certificate served while ${phase}`);
    if (phase === 'cleaned') break;
    const p = await runCli(['post-deploy', '-c', config]);
    assert.equal(p.code, 0, p.stderr);
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.deepEqual(phases.slice(0, 1), ['published']);
  assert.equal(phases.at(-1), 'cleaned', `phases seen: ${phases.join(' → ')}`);
  assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), spkiOf(b));
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [tlsa(b)]);
  const events = readFileSync(join(ws.stateDir, 'events.jsonl'), 'utf8');
  assert.match(events, /"phase":"activated"/);
});

// Not straight in /tmp: root refuses to install into a directory everyone can write (exit 78).
const NOT_READ_DIR = makeTempDir('not-read');
after(() => rmSync(NOT_READ_DIR, { recursive: true, force: true }));

const rollbacks: [string, Record<string, unknown>, RegExp][] = [
  ['reload fails', { reload: ['sh', '-c', 'echo reload broke >&2; exit 3'] }, /reload \(sh -c .*\) exited with 3: reload broke/],
  ['reload hangs', { reload: ['sleep', '30'], reloadTimeout: '1s' }, /reload \(sleep 30\) timed out after 1000 ms/],
  // The endpoint is down: nothing proves the new certificate is served.
  ['probe endpoint down', { probe: { protocol: 'smtp', addresses: ['127.0.0.1:1'], grace: '1s' } }, /probe: mx\.example\.test 127\.0\.0\.1:1 \(smtp\) .*refused/i],
  // The operator points install at a file postfix does not read: reload succeeds, postfix keeps the old key.
  ['wrong certificate served', { install: { combined: join(NOT_READ_DIR, 'not-read-by-postfix.pem') } }, /presents SPKI [0-9a-f]{16}…, which matches none of the expected TLSA records/],
];

for (const [name, entry, reason] of rollbacks) {
  test(`rollback when ${name}: exit 69, postfix keeps the old certificate, records stay`, { timeout: 120_000 }, async (t) => {
    if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
    const { bind, a, b, pf, config, dane } = await setup(t, entry);
    const before = readFileSync(pf.chainFile, 'utf8');
    assert.equal((await runCli(['deploy', '-c', config, '--pem', b.combinedPath])).code, 0);
    const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
    assert.equal(w.code, 69, w.stderr);
    assert.match(w.stderr, reason);
    assert.match(w.stderr, /rolled back to the previous certificate/);
    assert.equal(readFileSync(pf.chainFile, 'utf8'), before, 'previous files restored');
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), spkiOf(a), 'postfix serves the old certificate');
    assert.deepEqual(await readTlsa(bind.primary, OWNER), [tlsa(a), tlsa(b)].sort(), 'all records stay');
    assert.ok((await dane()).ok, 'DANE still verifies');
    const status = JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout);
    assert.equal(status.certificates[0].rollovers.at(-1).phase, 'rolled-back');
    // Not retried by later runs until a new renewal or --retry.
    const again = await runCli(['post-deploy', '-c', config]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), spkiOf(a));
  });
}
