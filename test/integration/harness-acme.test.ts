// Proves the pebble harness by issuing with the real lego, certbot and dehydrated (checked with
// openssl, not our code), and checks that the captured client fixtures are self-consistent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { listClientFixtures, loadClientFixture } from '../fixtures/clients/load.js';
import { runCertbot, runDehydrated, runLego } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import { dumpHookCommand, readHookInvocations, writeDumpHookScript } from '../harness/hooks.js';
import { startPebble } from '../harness/pebble.js';
import { makeTempDir, registerCleanup } from '../harness/tempdir.js';

const DOMAINS = ['mx.example.test'];

function firstCert(pem: string): X509Certificate {
  return new X509Certificate(pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 25));
}

/** openssl's view of the chain: the leaf verifies against pebble's issuing root + intermediate. */
function opensslVerifies(rootPem: string, chainPath: string, leafPath: string, dir: string): boolean {
  const rootFile = join(dir, 'pebble-root.pem');
  execFileSync('sh', ['-c', 'cat > "$1"', 'sh', rootFile], { input: rootPem });
  const out = execFileSync('openssl', ['verify', '-CAfile', rootFile, '-untrusted', chainPath, leafPath], { encoding: 'utf8' });
  return /: OK/.test(out);
}

test('pebble issues via lego run and renew; the run-hook and renew-hook are called with the files', async (t) => {
  if (!requireBinaries(t, ['pebble', 'lego', 'openssl'])) return;
  const pebble = await startPebble(t);
  const work = makeTempDir('acme-test');
  registerCleanup(t, work, () => []);
  const hookOut = join(work, 'hook-out');
  const run = await runLego(t, pebble, { domains: DOMAINS, keyType: 'rsa2048', hook: dumpHookCommand(hookOut) });
  assert.equal(run.code, 0, run.stderr);
  const leaf = new X509Certificate(readFileSync(run.certPath));
  assert.match(leaf.subjectAltName ?? '', /DNS:mx\.example\.test/);
  assert.equal(createPublicKey(createPrivateKey(readFileSync(run.keyPath))).export({ format: 'der', type: 'spki' }).toString('hex'),
    leaf.publicKey.export({ format: 'der', type: 'spki' }).toString('hex'), 'key matches certificate');
  assert.ok(opensslVerifies(await pebble.issuingRootPem(), run.issuerPath, run.certPath, work));
  const [inv] = readHookInvocations(hookOut);
  assert.equal(inv?.env.LEGO_CERT_PATH, run.certPath);

  const renew = await runLego(t, pebble, { domains: DOMAINS, keyType: 'rsa2048', renew: true, dir: run.dir, hook: dumpHookCommand(hookOut) });
  assert.equal(renew.code, 0, renew.stderr);
  const invs = readHookInvocations(hookOut);
  assert.equal(invs.length, 2, 'renew-hook ran once');
  assert.notEqual(new X509Certificate(readFileSync(run.certPath)).serialNumber, leaf.serialNumber, 'a new certificate');
});

test('pebble issues via certbot (deploy hook) and dehydrated (deploy_cert)', async (t) => {
  if (!requireBinaries(t, ['pebble', 'certbot', 'dehydrated', 'openssl', 'curl'])) return;
  const pebble = await startPebble(t);
  const work = makeTempDir('acme-test');
  registerCleanup(t, work, () => []);
  const root = await pebble.issuingRootPem();

  const cbOut = join(work, 'certbot-out');
  const cb = await runCertbot(t, pebble, { domains: DOMAINS, hook: dumpHookCommand(cbOut) });
  assert.equal(cb.code, 0, cb.stderr);
  assert.equal(readHookInvocations(cbOut)[0]?.env.RENEWED_LINEAGE, cb.lineage);
  assert.ok(opensslVerifies(root, join(cb.lineage, 'chain.pem'), join(cb.lineage, 'cert.pem'), work));

  const dhOut = join(work, 'dehydrated-out');
  const dh = await runDehydrated(t, pebble, { domains: DOMAINS, hook: writeDumpHookScript(join(work, 'hook.sh'), dhOut) });
  assert.equal(dh.code, 0, dh.stderr + dh.stdout);
  const deploy = readHookInvocations(dhOut).find((i) => i.argv[0] === 'deploy_cert');
  assert.deepEqual(deploy?.argv.slice(1, 6), ['mx.example.test', ...['privkey', 'cert', 'fullchain', 'chain'].map((f) => join(dh.certDir, `${f}.pem`))]);
  assert.ok(opensslVerifies(root, join(dh.certDir, 'chain.pem'), join(dh.certDir, 'cert.pem'), work));
});

test('client fixtures: every named file exists (except lego renew PEM/PFX) and keys match certificates', () => {
  const names = listClientFixtures();
  assert.ok(names.length >= 11, `fixtures: ${names.join(', ')}`);
  for (const name of names) {
    const fx = loadClientFixture(name);
    const paths = [...Object.values(fx.env), ...fx.argv].filter((p) => p.startsWith(fx.dir));
    for (const p of paths) {
      const expectMissing = /LEGO_CERT_(PEM|PFX)_PATH/.test(Object.keys(fx.env).find((k) => fx.env[k] === p) ?? '');
      assert.equal(existsSync(p), !expectMissing, `${name}: ${p}`);
    }
    const e = fx.env;
    const certFile = e.LEGO_CERT_PATH ?? e.LEGO_HOOK_CERT_PATH ?? e.CERT_PATH ?? (e.RENEWED_LINEAGE && join(e.RENEWED_LINEAGE, 'cert.pem')) ?? fx.argv[3];
    const keyFile = e.LEGO_CERT_KEY_PATH ?? e.LEGO_HOOK_CERT_KEY_PATH ?? e.CERT_KEY_PATH ?? (e.RENEWED_LINEAGE && join(e.RENEWED_LINEAGE, 'privkey.pem')) ?? fx.argv[2];
    assert.ok(certFile && keyFile, `${name}: cert and key located`);
    const leaf = firstCert(readFileSync(certFile, 'utf8'));
    const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ format: 'der', type: 'spki' }).toString('hex');
    assert.equal(spki(createPublicKey(createPrivateKey(readFileSync(keyFile)))), spki(leaf.publicKey), `${name}: key matches cert`);
    assert.equal(leaf.publicKey.asymmetricKeyType, /rsa/.test(fx.keyType) ? 'rsa' : 'ec', `${name}: key type`);
    for (const d of fx.domains) assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${d.replace(/\./g, '\\.')}`), `${name}: SAN ${d}`);
  }
});
