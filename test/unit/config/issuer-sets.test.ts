// `issuers` in a certificates[] entry: PEM files and shipped set names are read at load; every
// unusable item is a ConfigError (78) naming its config path and the file; a set that no
// trust-anchor record uses, or a service that would not send the issuer, is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { listNamedSets } from '../../../src/config/issuer-sets.js';
import { ConfigError } from '../../../src/errors.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type Ca, type CertFiles } from '../../harness/certs.js';

const env = { DANEHOOK_TSIG_SECRET: Buffer.alloc(32, 1).toString('base64') };
let dir: string, root: Ca, a: Ca, b: Ca, leaf: CertFiles;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'danehook-issuers-'));
  root = makeCa('Set Root');
  a = makeIntermediate(root, 'Set A');
  b = makeIntermediate(root, 'Set B', { keyType: 'rsa' });
  leaf = makeLeaf(a, ['mx.example.com']);
  writeFileSync(join(dir, 'both.pem'), `# A and B, with text between blocks\n${a.certPem}\nsome comment\n${b.certPem}`);
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  removeCertDir(root);
});

let n = 0;
async function load(entry: Record<string, unknown>) {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, JSON.stringify({ dns: { server: '127.0.0.1:53', tsig: { name: 'k' } }, certificates: [{ id: 'mx', domains: ['mx.example.com'], ports: [25], tlsa: ['3 1 1', '2 1 1'], ...entry }] }));
  return { path, loaded: loadConfig({ file: path, env }) };
}

test('files (several certificates each) and files listed twice: one certificate per CA, in order', async () => {
  const { loaded } = await load({ issuers: [join(dir, 'both.pem'), a.certPath] });
  const e = (await loaded).config.certificates[0]!;
  assert.deepEqual(e.issuers!.map((c) => c.subject), ['CN=Set A', 'CN=Set B']);
  assert.deepEqual(e.issuers!.map((c) => c.spki.toString('hex')), [opensslAssociation(a.certPath, 1, 0), opensslAssociation(b.certPath, 1, 0)]);
  assert.deepEqual(e.issuers!.map((c) => c.source), [join(dir, 'both.pem'), join(dir, 'both.pem')]);
});

test('no issuers key: none resolved, nothing read', async () => {
  const { loaded } = await load({});
  assert.equal((await loaded).config.certificates[0]!.issuers, undefined);
});

test('the shipped set "letsencrypt" is the six Gen Y intermediates; -rsa / -ecdsa split it by key type', async () => {
  const subjects = async (name: string) => (await (await load({ issuers: [name] })).loaded).config.certificates[0]!.issuers!.map((c) => /CN=(\w+)/.exec(c.subject)![1]);
  assert.deepEqual(await subjects('letsencrypt'), ['YR1', 'YR2', 'YR3', 'YE1', 'YE2', 'YE3']);
  assert.deepEqual(await subjects('letsencrypt-rsa'), ['YR1', 'YR2', 'YR3']);
  assert.deepEqual(await subjects('letsencrypt-ecdsa'), ['YE1', 'YE2', 'YE3']);
  assert.deepEqual(await subjects('letsencrypt-2024'), ['R10', 'R11', 'R12', 'R13', 'R14', 'E5', 'E6', 'E7', 'E8', 'E9']);
  assert.ok(listNamedSets().every((s) => s.about.length > 0));
});

const refused: [string, () => Record<string, unknown>, RegExp][] = [
  ['unknown set name', () => ({ issuers: ['letsencrypt', 'lets-encrypt'] }), /certificates\[0\]\.issuers\[1\]: unknown issuer set "lets-encrypt" \(shipped sets: letsencrypt, .*write "\.\/lets-encrypt"/],
  ['missing file', () => ({ issuers: [join(dir, 'nope.pem')] }), /certificates\[0\]\.issuers\[0\]: \/.*\/nope\.pem does not exist/],
  ['a directory', () => ({ issuers: [dir] }), /certificates\[0\]\.issuers\[0\]: .* is a directory, not a PEM file/],
  ['no certificate in the file', () => (writeFileSync(join(dir, 'empty.pem'), ''), { issuers: [join(dir, 'empty.pem')] }), /issuers\[0\]: .*empty\.pem: not a PEM file \(the file is empty\)/],
  ['a key in the file (the combined file by mistake)', () => ({ issuers: [leaf.combinedPath] }), /issuers\[0\]: .*combined\.pem holds a "PRIVATE KEY" block; an issuer file holds CA certificates only/],
  ['a leaf certificate', () => ({ issuers: [leaf.certPath] }), /issuers\[0\]: .*: "CN=mx\.example\.com" is not a CA certificate/],
  ['an empty list', () => ({ issuers: [] }), /certificates\[0\]\.issuers: list at least one PEM file or set name/],
  ['no trust-anchor parameter set in tlsa', () => ({ tlsa: ['3 1 1'], issuers: [a.certPath] }), /certificates\[0\]\.issuers: an issuer set is used only by trust-anchor records: add "2 1 1"/],
  ['install without the chain', () => ({ issuers: [a.certPath], install: { certificate: '/x/cert.pem', key: '/x/key.pem' } }), /certificates\[0\]\.install: with "issuers" the service must send the issuer certificate/],
];
for (const [name, entry, message] of refused) {
  test(`refused with exit 78: ${name}`, async () => {
    const { path, loaded } = await load(entry());
    await assert.rejects(loaded, (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.exitCode, 78);
      assert.match(e.message, new RegExp(`^config ${path} is invalid: `));
      assert.match(e.message, message);
      return true;
    });
  });
}

test('two bad items are both reported', async () => {
  const { loaded } = await load({ issuers: [join(dir, 'x.pem'), 'nosuchset'] });
  await assert.rejects(loaded, /issuers\[0\]: .*x\.pem does not exist; certificates\[0\]\.issuers\[1\]: unknown issuer set/);
});

test('a secret file given by mistake: the message never quotes its content', async () => {
  const secret = join(dir, 'tsig.secret');
  writeFileSync(secret, 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0=\n', { mode: 0o600 });
  const { loaded } = await load({ issuers: [secret] });
  await assert.rejects(loaded, (e: unknown) => e instanceof ConfigError && !e.message.includes(readFileSync(secret, 'utf8').trim()) && /not a PEM file/.test(e.message));
});
