// Each ACME client's real hook environment (captured from lego 4.9.1, certbot 2.1.0, dehydrated
// 0.7.0; acme.sh and lego v5 from their documented variables) gives, without flags, records whose
// data equal openssl's for 3 1 1, 3 0 1, 3 1 2 and 2 1 1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listClientFixtures, loadClientFixture, type ClientFixture } from '../fixtures/clients/load.js';
import { baseConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';

let ws: Workspace;
let scratch: string;
before(() => {
  ws = makeWorkspace();
  scratch = mkdtempSync(join(tmpdir(), 'danehook-fixture-'));
});
after(() => {
  ws.remove();
  rmSync(scratch, { recursive: true, force: true });
});

/** The n-th certificate of a PEM file, as its own file (for openssl). */
function nthCert(path: string, n: number): string {
  const certs = readFileSync(path, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [];
  const out = join(scratch, `cert-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(out, certs[n]!);
  return out;
}

function opensslData(certPath: string, selector: 0 | 1, mtype: 1 | 2): string {
  const der = selector === 0
    ? execFileSync('openssl', ['x509', '-in', certPath, '-outform', 'DER'])
    : execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: execFileSync('openssl', ['x509', '-in', certPath, '-pubkey', '-noout']) });
  return execFileSync('openssl', ['dgst', mtype === 1 ? '-sha256' : '-sha512', '-r'], { input: der }).toString().split(/\s/)[0]!;
}

/** Where each client puts the leaf and the issuer (what openssl is pointed at). */
function leafAndIssuer(f: ClientFixture): { leaf: string; issuer: string } {
  const e = f.env;
  if (f.client === 'lego') {
    const crt = e.LEGO_CERT_PATH ?? e.LEGO_HOOK_CERT_PATH!;
    return { leaf: nthCert(crt, 0), issuer: nthCert(crt, 1) };
  }
  if (f.client === 'certbot') return { leaf: join(e.RENEWED_LINEAGE!, 'cert.pem'), issuer: nthCert(join(e.RENEWED_LINEAGE!, 'chain.pem'), 0) };
  if (f.client === 'acme.sh') return { leaf: e.CERT_PATH!, issuer: nthCert(e.CA_CERT_PATH!, 0) };
  return { leaf: f.argv[3]!, issuer: nthCert(f.argv[5]!, 0) };
}

const fixtures = listClientFixtures();
test('fixtures exist for lego v4, lego v5, certbot, acme.sh and dehydrated', () => {
  for (const prefix of ['lego-4.9.1-run', 'lego-4.9.1-renew', 'lego-v5', 'certbot', 'acme.sh', 'dehydrated']) {
    assert.ok(fixtures.some((n) => n.startsWith(prefix)), prefix);
  }
});

for (const name of fixtures) {
  test(`client environment ${name} → records equal openssl's`, async () => {
    const f = loadClientFixture(name);
    const config = ws.writeConfig(baseConfig(ws, { domains: ['mx.example.test'], ports: [25], tlsa: ['3 1 1', '3 0 1', '3 1 2', '2 1 1'] }));
    const r = await runCli(['plan', '--offline', '--json', '-c', config, ...f.argv], { env: f.env, cwd: f.cwd });
    assert.equal(r.code, 0, r.stderr);
    const { leaf, issuer } = leafAndIssuer(f);
    const want = [
      `3 1 1 ${opensslData(leaf, 1, 1)}`,
      `3 0 1 ${opensslData(leaf, 0, 1)}`,
      `3 1 2 ${opensslData(leaf, 1, 2)}`,
      `2 1 1 ${opensslData(issuer, 1, 1)}`,
    ];
    const out = JSON.parse(r.stdout);
    assert.equal(out.id, 'mx');
    assert.deepEqual(out.records.map((x: { tlsa: string }) => x.tlsa), want);
    assert.ok(out.records.every((x: { name: string }) => x.name === '_25._tcp.mx.example.test.'));
  });
}
