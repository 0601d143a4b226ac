// The shipped issuer sets (examples/issuers/) re-verified independently: every certificate chains to
// ISRG Root X1 or X2 from the system's Mozilla store (openssl verify), is a valid CA now, and its
// header comment (subject, notAfter, SPKI SHA-256) says what openssl reads from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBinaries } from '../../harness/binaries.js';
import { ISSUER_DATA_DIR } from '../../../src/config/issuer-sets.js';

const MOZILLA = '/usr/share/ca-certificates/mozilla';
const ROOTS = ['ISRG_Root_X1.crt', 'ISRG_Root_X2.crt'].map((f) => join(MOZILLA, f));
const CROSS = fileURLToPath(new URL('../../fixtures/issuers/', import.meta.url));
const sets = JSON.parse(readFileSync(join(ISSUER_DATA_DIR, 'sets.json'), 'utf8')) as Record<string, { files: string[]; about: string }>;
const openssl = (args: string[], input?: string) => execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString().trim();

/** Each certificate of a data file with the comment lines right above it. */
function readEntries(file: string): { comment: Record<string, string>; pem: string }[] {
  const text = readFileSync(join(ISSUER_DATA_DIR, file), 'utf8');
  return [...text.matchAll(/((?:^# [^\n]*\n)+)(-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n)/gm)].map((m) => ({
    comment: Object.fromEntries([...m[1]!.matchAll(/^# ([^:\n]+):\s+(.*)$/gm)].map((x) => [x[1]!.trim(), x[2]!.trim()])),
    pem: m[2]!,
  }));
}

test('sets.json names only existing files, and every data file belongs to a set', () => {
  const listed = new Set(Object.values(sets).flatMap((s) => s.files));
  for (const f of listed) assert.ok(existsSync(join(ISSUER_DATA_DIR, f)), `${f} is listed but missing`);
  for (const f of readdirSync(ISSUER_DATA_DIR).filter((x) => x.endsWith('.pem'))) assert.ok(listed.has(f), `${f} is in no set`);
  assert.deepEqual(sets.letsencrypt!.files, [...sets['letsencrypt-rsa']!.files, ...sets['letsencrypt-ecdsa']!.files]);
});

test('every shipped certificate verifies against the Mozilla ISRG roots and matches its comment', (t) => {
  if (!requireBinaries(t, ['openssl'])) return;
  if (!ROOTS.every(existsSync)) {
    if (process.env.CI === 'true') assert.fail(`missing ${ROOTS.join(', ')} (Debian package ca-certificates)`);
    t.skip('no Mozilla ISRG roots on this system (ca-certificates)');
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'danehook-issuer-data-'));
  try {
    const caFile = join(tmp, 'roots.pem');
    writeFileSync(caFile, ROOTS.map((r) => readFileSync(r, 'utf8')).join('\n'));
    const untrusted = join(tmp, 'cross.pem');
    writeFileSync(untrusted, readdirSync(CROSS).map((f) => readFileSync(join(CROSS, f), 'utf8')).join('\n'));
    let count = 0;
    for (const file of new Set(Object.values(sets).flatMap((s) => s.files))) {
      const entries = readEntries(file);
      assert.ok(entries.length > 0, `${file} holds no commented certificate`);
      for (const { comment, pem } of entries) {
        const certPath = join(tmp, `c${count++}.pem`);
        writeFileSync(certPath, pem);
        const where = `${file}: ${comment.Subject}`;
        assert.equal(openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', caFile, '-untrusted', untrusted, certPath]), `${certPath}: OK`, where);
        assert.equal(openssl(['x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'RFC2253']), `subject=${comment.Subject}`, where);
        assert.match(openssl(['x509', '-in', certPath, '-noout', '-ext', 'basicConstraints']), /CA:TRUE/, where);
        const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: openssl(['x509', '-in', certPath, '-pubkey', '-noout']) });
        assert.equal(execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().split(' ')[0], comment['SPKI SHA-256 (TLSA 2 1 1 data)'], where);
        const notAfter = new Date(openssl(['x509', '-in', certPath, '-noout', '-enddate']).replace('notAfter=', ''));
        assert.equal(notAfter.toISOString().replace('.000Z', 'Z'), comment.notAfter, where);
        // Expired CAs mean the data is stale: drop retired sets (README in examples/issuers/) when this fails.
        assert.ok(notAfter.getTime() > Date.now(), `${where} expired on ${comment.notAfter}`);
      }
    }
    assert.equal(count, 16, 'YR1-3, YE1-3, R10-14, E5-9');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
