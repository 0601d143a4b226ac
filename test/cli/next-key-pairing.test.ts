// A certificate for danehook's generated next key is paired with that key by SPKI — also when the
// client names a key file that exists but belongs to an earlier certificate (lego --csr leaves the
// previous run's .key in LEGO_CERT_KEY_PATH, NEXT-KEY-FACTS.md). A mismatched key with no such pair
// is still refused (65). `plan --offline`: no DNS, the same certificate input as `deploy`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa, makeLeaf, opensslAssociation, opensslKeySpkiSha256, removeCertDir, signCsr, type Ca } from '../harness/certs.js';
import { baseConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';

let ws: Workspace;
let ca: Ca;
let config: string;
before(() => {
  ws = makeWorkspace();
  ca = makeCa('Pairing Root');
  // An installed certificate gives `next-key` the key type to imitate; nothing is published (live unknown, DNS closed).
  const fullchain = join(ws.dir, 'fullchain.pem');
  writeFileSync(fullchain, makeLeaf(ca, ['mx.example.com']).certPem);
  config = ws.writeConfig(baseConfig(ws, { nextKey: { mode: 'auto' }, install: { fullchain, key: join(ws.dir, 'key.pem') }, probe: { protocol: 'none' } }));
});
after(() => {
  ws.remove();
  removeCertDir(ca);
});

test('a certificate for the generated next key is paired with it, not with the stale key file the client names', async () => {
  const csr = await runCli(['next-key', '--id', 'mx', '--csr', '-c', config]);
  assert.equal(csr.code, 0, csr.stderr);
  const keyPath = (await runCli(['next-key', '--id', 'mx', '-c', config])).stdout.trim();
  const cert = signCsr(ca, csr.stdout.trim(), ['mx.example.com']);
  assert.equal(opensslAssociation(cert.certPath, 1, 1), opensslKeySpkiSha256(keyPath), 'openssl: the certificate carries the next key');
  const stale = makeLeaf(ca, ['mx.example.com']).keyPath;
  const r = await runCli(['plan', '--offline', '--json', '--id', 'mx', '--cert', cert.fullchainPath, '--key', stale, '-c', config]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /carries the next key danehook generated .* rather than /);
  const records = JSON.parse(r.stdout).records.map((x: { tlsa: string }) => x.tlsa);
  assert.ok(records.includes(`3 1 1 ${opensslKeySpkiSha256(keyPath)}`), JSON.stringify(records));
});

test('control: a key that belongs to neither the certificate nor a generated next key is refused (65)', async () => {
  const other = makeLeaf(ca, ['mx.example.com']);
  const stale = makeLeaf(ca, ['mx.example.com']).keyPath;
  const r = await runCli(['plan', '--offline', '--id', 'mx', '--cert', other.certPath, '--key', stale, '-c', config]);
  assert.equal(r.code, 65, r.stderr);
  assert.match(r.stderr, /does not belong to the certificate/);
});
