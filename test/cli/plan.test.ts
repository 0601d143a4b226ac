// `danehook plan --offline` end to end through the built CLI: the records' data equal openssl's for
// RSA and ECDSA certificates and for 3 1 1, 3 0 1, 3 1 2 and 2 1 1 (issue 2 "done when").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type Ca } from '../harness/certs.js';
import { baseConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';

let root: Ca;
let inter: Ca;
let ws: Workspace;
before(() => {
  root = makeCa('Plan Root');
  inter = makeIntermediate(root, 'Plan Intermediate');
  ws = makeWorkspace();
});
after(() => {
  removeCertDir(root);
  ws.remove();
});

for (const keyType of ['rsa', 'ecdsa'] as const) {
  test(`plan --offline --json --pem: ${keyType} records equal openssl's`, async () => {
    const leaf = makeLeaf(inter, ['mx.example.com', 'mail.example.com'], { keyType });
    const config = ws.writeConfig(baseConfig(ws, { domains: ['mx.example.com', 'mail.example.com'], ports: [25, 465], tlsa: ['3 1 1', '3 0 1', '3 1 2', '2 1 1'] }));
    const r = await runCli(['plan', '--offline', '--json', '-c', config, '--pem', leaf.combinedPath]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.id, 'mx');
    const want = [
      `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`,
      `3 0 1 ${opensslAssociation(leaf.certPath, 0, 1)}`,
      `3 1 2 ${opensslAssociation(leaf.certPath, 1, 2)}`,
      `2 1 1 ${opensslAssociation(inter.certPath, 1, 1)}`,
    ];
    const owners = ['_25._tcp.mx.example.com.', '_465._tcp.mx.example.com.', '_25._tcp.mail.example.com.', '_465._tcp.mail.example.com.'];
    assert.deepEqual(
      out.records.map((x: { name: string; tlsa: string; ttl: number }) => `${x.name} ${x.ttl} ${x.tlsa}`).sort(),
      owners.flatMap((o) => want.map((w) => `${o} 3600 ${w}`)).sort(),
    );
    assert.deepEqual(out.changes, []);
  });
}

test('plan text output has zone-file and nsupdate lines', async () => {
  const leaf = makeLeaf(inter, ['mx.example.com']);
  const config = ws.writeConfig(baseConfig(ws));
  const r = await runCli(['plan', '--offline', '-c', config, '--cert', leaf.certPath, '--chain', inter.certPath, '--key', leaf.keyPath]);
  assert.equal(r.code, 0, r.stderr);
  const hash = opensslAssociation(leaf.certPath, 1, 1);
  assert.ok(r.stdout.includes(`_25._tcp.mx.example.com. 3600 IN TLSA 3 1 1 ${hash}\n`), r.stdout);
  assert.ok(r.stdout.includes(`update add _25._tcp.mx.example.com. 3600 IN TLSA 3 1 1 ${hash}\nsend`), r.stdout);
  assert.ok(r.stdout.includes('server 127.0.0.1 9'), r.stdout);
});

test('the entry is found by the domains the certificate covers, and by --id', async () => {
  const leaf = makeLeaf(inter, ['smtp.example.org']);
  const cfg = baseConfig(ws);
  cfg.certificates.push({ id: 'smtp', domains: ['smtp.example.org'], ports: [587] });
  const config = ws.writeConfig(cfg);
  const byDomain = await runCli(['plan', '--offline', '--json', '-c', config, '--pem', leaf.fullchainPath]);
  assert.equal(byDomain.code, 0, byDomain.stderr);
  assert.equal(JSON.parse(byDomain.stdout).id, 'smtp');
  assert.equal(JSON.parse(byDomain.stdout).records[0].name, '_587._tcp.smtp.example.org.');
  const wrongId = await runCli(['plan', '--offline', '--json', '-c', config, '--id', 'mx', '--pem', leaf.fullchainPath]);
  assert.equal(wrongId.code, 65, 'the certificate does not cover the mx entry');
  assert.match(wrongId.stderr, /does not cover mx\.example\.com/);
});
