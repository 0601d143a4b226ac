// Hostile input through the built CLI's `deploy` against a real BIND: malformed certificates, keys,
// bundles, hook environments, configs and state files each give their documented exit code and a
// one-line reason, and write nothing: zone serial unchanged (dig), state dir byte-identical — but for
// a broken state file, where the renewal stays queued in the inbox until the state is repaired.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa, makeIntermediate, makeLeaf, removeCertDir, type Ca, type CertFiles } from '../harness/certs.js';
import { baseConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';
import { startBind, type BindHandle } from '../harness/bind.js';
import { querySerial } from '../harness/dns.js';
import { scriptContext } from '../harness/tempdir.js';
import { reportFigures } from '../harness/figures.js';

let root: Ca, inter: Ca, good: CertFiles, other: CertFiles, ws: Workspace, d: string, bind: BindHandle;
const bindContext = scriptContext();
const GOOD_STATE = '{"version":1,"certificates":{}}\n';
const read = (p: string) => readFileSync(p, 'utf8');
const file = (name: string, content: string | Buffer) => {
  const p = join(d, name);
  writeFileSync(p, content);
  return p;
};
// Certificates dated in the past / future, made by openssl under faketime (an independent clock).
function dated(offset: string, name: string): string {
  const key = join(d, `${name}.key`);
  const cert = join(d, `${name}.crt`);
  execFileSync('faketime', ['-f', offset, 'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=mx.example.com', '-days', '30', '-addext', 'subjectAltName=DNS:mx.example.com'], { stdio: 'ignore' });
  return file(`${name}.pem`, read(key) + read(cert));
}

before(async () => {
  bind = await startBind(bindContext, { zone: 'example.com', ttl: 2 });
  root = makeCa('Malformed Root');
  inter = makeIntermediate(root, 'Malformed Intermediate');
  good = makeLeaf(inter, ['mx.example.com'], { keyType: 'ecdsa' });
  other = makeLeaf(inter, ['other.example.org'], { keyType: 'rsa' });
  ws = makeWorkspace();
  d = ws.dir;
  mkdirSync(ws.stateDir);
  writeFileSync(join(ws.stateDir, 'state.json'), GOOD_STATE);
});
after(async () => {
  removeCertDir(root);
  ws.remove();
  await bindContext.close();
});

type Case = { name: string; code: number; reason: RegExp; args?: () => string[]; env?: () => Record<string, string>; config?: () => string; state?: string };

// A working config for the real BIND: any DNS write a case let through would change the serial.
const realConfig = () => {
  const c = baseConfig(ws, { domains: ['mx.example.com'] });
  c.dns = { server: `127.0.0.1:${bind.primary.port}`, tsig: { name: 'danehook-key', keyFile: bind.keyFilePath }, nameservers: [`127.0.0.1:${bind.primary.port}`], timeout: '1s' };
  return c;
};
const cfg = (mutate: (c: Record<string, any>) => void = () => {}) => () => {
  const c = realConfig();
  mutate(c);
  return file(`config-${Math.random().toString(36).slice(2)}.json`, JSON.stringify(c));
};
const pem = (p: () => string) => () => ['--pem', p()];

const cases: Case[] = [
  // Certificates, keys, bundles → 65
  { name: 'key of another certificate', code: 65, reason: /does not belong to the certificate/, args: () => ['--cert', good.fullchainPath, '--key', other.keyPath] },
  { name: 'expired certificate', code: 65, reason: /expired on 20/, args: pem(() => dated('-400d', 'expired')) },
  { name: 'not yet valid certificate', code: 65, reason: /not valid until .*check the clock/, args: pem(() => dated('+400d', 'future')) },
  { name: 'domain not covered', code: 65, reason: /does not cover mx\.example\.com/, args: () => ['--id', 'mx', '--pem', other.combinedPath] },
  { name: 'DER certificate', code: 65, reason: /not PEM text but binary data \(DER is not accepted/, args: pem(() => file('cert.der', execFileSync('openssl', ['x509', '-in', good.certPath, '-outform', 'DER']))) },
  { name: 'empty file', code: 65, reason: /not a PEM file \(the file is empty\)/, args: pem(() => file('empty.pem', '')) },
  { name: 'truncated PEM', code: 65, reason: /truncated PEM|not a PEM file/, args: pem(() => file('cut.pem', read(good.combinedPath).slice(0, 400))) },
  { name: 'binary junk', code: 65, reason: /not PEM text but binary data/, args: pem(() => file('junk.bin', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 73 + 11) % 256)))) },
  { name: 'non-UTF-8 text', code: 65, reason: /not a PEM file/, args: pem(() => file('latin1.pem', Buffer.from('Zertifikat f\xfcr mx\n', 'latin1'))) },
  { name: 'encrypted key', code: 65, reason: /encrypted private keys are not supported/, args: () => ['--cert', good.fullchainPath, '--key', file('enc.key', execFileSync('openssl', ['pkcs8', '-topk8', '-in', good.keyPath, '-passout', 'pass:x']).toString())] },
  { name: 'only a key', code: 65, reason: /no certificate found/, args: pem(() => good.keyPath) },
  { name: 'two leaves in one bundle', code: 65, reason: /2 unrelated end-entity certificates/, args: pem(() => file('two.pem', read(good.certPath) + read(other.certPath))) },
  { name: 'chain of another CA', code: 65, reason: /chain does not belong to this leaf/, args: () => ['--cert', good.certPath, '--chain', makeCa('Stranger Root').certPath] },
  { name: 'two different keys', code: 65, reason: /2 different private keys/, args: pem(() => file('twokeys.pem', read(good.combinedPath) + read(other.keyPath))) },
  // Usage → 64
  { name: 'file does not exist', code: 64, reason: /does not exist/, args: () => ['--pem', join(d, 'nope.pem')] },
  { name: 'directory instead of file', code: 64, reason: /is a directory/, args: () => ['--pem', d] },
  { name: 'symlink loop', code: 64, reason: /symlink loop/, args: () => { const a = join(d, 'loop-a'); const b = join(d, 'loop-b'); if (!existsSync(a)) { symlinkSync(b, a); symlinkSync(a, b); } return ['--pem', a]; } },
  { name: 'huge file', code: 64, reason: /a certificate bundle is at most/, args: pem(() => file('huge.pem', Buffer.alloc(2 << 20, 65))) },
  { name: '--pem with --cert', code: 64, reason: /either --pem FILE or --cert/, args: () => ['--pem', good.combinedPath, '--cert', good.certPath] },
  { name: 'no certificate input', code: 64, reason: /no certificate given/, args: () => [] },
  { name: 'partial lego environment', code: 64, reason: /LEGO_CERT_KEY_PATH is not set/, env: () => ({ LEGO_CERT_DOMAIN: 'mx.example.com', LEGO_CERT_PATH: good.certPath }) },
  { name: 'lego environment pointing nowhere', code: 64, reason: /\/nonexistent\/mx\.crt \(LEGO_CERT_PATH\) does not exist/, env: () => ({ LEGO_CERT_DOMAIN: 'mx.example.com', LEGO_CERT_PATH: '/nonexistent/mx.crt', LEGO_CERT_KEY_PATH: good.keyPath }) },
  { name: 'two clients at once', code: 64, reason: /ambiguous hook environment/, env: () => ({ RENEWED_LINEAGE: d, CERT_PATH: good.certPath, CERT_KEY_PATH: good.keyPath }) },
  { name: 'unknown --id', code: 64, reason: /--id web: no certificates\[\] entry has that id/, args: () => ['--id', 'web', '--pem', good.combinedPath] },
  { name: 'certificate fits no entry', code: 64, reason: /no certificates\[\] entry matches the certificate for other\.example\.org/, args: pem(() => other.combinedPath) },
  { name: 'unknown option', code: 64, reason: /Unknown option '--frobnicate'/, args: () => ['--frobnicate'] },
  // Configuration → 78
  { name: 'unknown config key', code: 78, reason: /certificates\[0\]\.port: unknown key/, config: cfg((c) => (c.certificates[0].port = 25)) },
  { name: 'bad port', code: 78, reason: /certificates\[0\]\.ports\[0\]: port must be 1-65535/, config: cfg((c) => (c.certificates[0].ports = [65536])) },
  { name: 'bad TLSA parameters', code: 78, reason: /certificates\[0\]\.tlsa\[0\]: TLSA parameters must be/, config: cfg((c) => (c.certificates[0].tlsa = ['3 1 7'])) },
  { name: 'wrong type', code: 78, reason: /dns\.ttl/, config: cfg((c) => (c.dns.ttl = '1h')) },
  { name: 'secret file missing', code: 78, reason: /dns\.tsig\.secretFile .* does not exist/, config: cfg((c) => (c.dns.tsig = { name: 'danehook-key', secretFile: join(d, 'missing.secret') })) },
  { name: 'secret not base64', code: 78, reason: /TSIG secret is not valid base64/, config: cfg((c) => (c.dns.tsig = { name: 'danehook-key', secretFile: file('bad.secret', 'not*base64!') })) },
  { name: 'key file without the named key', code: 78, reason: /has no key named "danehook-key" \(found: other-key\)/, config: cfg((c) => { delete c.dns.tsig.secretFile; c.dns.tsig.keyFile = file('k.key', 'key "other-key" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";\n};\n'); }) },
  { name: 'duplicate ids', code: 78, reason: /duplicate id "mx"/, config: cfg((c) => c.certificates.push({ ...c.certificates[0] })) },
  { name: 'config file missing', code: 78, reason: /config file .* does not exist/, config: () => join(d, 'no-config.yaml') },
  { name: 'YAML syntax error', code: 78, reason: /cannot be parsed/, config: () => file('broken.yaml', 'dns:\n  server: [unclosed\n') },
  { name: 'config as JavaScript is never executed', code: 78, reason: /only YAML .* or JSON .* code is never executed/, config: () => file('config.js', `require('fs').writeFileSync(${JSON.stringify(join(d, 'EXECUTED'))}, 'x'); module.exports = {};`) },
  { name: 'empty config', code: 78, reason: /is empty/, config: () => file('empty.yaml', '') },
  { name: 'absurd TTL', code: 78, reason: /dns\.ttl: ttl above one week/, config: cfg((c) => (c.dns.ttl = 1_000_000_000)) },
  { name: 'path traversal in id', code: 78, reason: /certificates\[0\]\.id: id must be/, config: cfg((c) => (c.certificates[0].id = '../../etc/passwd')) },
  { name: 'TSIG secret in the config itself', code: 78, reason: /dns\.tsig\.secret: unknown key/, config: cfg((c) => (c.dns.tsig.secret = 'c2VjcmV0')) },
  { name: 'delayFactor below two TTLs', code: 78, reason: /delayFactor must be at least 2/, config: cfg((c) => (c.rollover = { delayFactor: 0.5 })) },
  // State files → 74, left exactly as found
  { name: 'corrupt state JSON', code: 74, reason: /state file .*state\.json is not valid JSON/, state: '{"version":1,"certificates":{' },
  { name: 'state from a newer danehook', code: 74, reason: /has version 9, written by a newer danehook/, state: '{"version":9,"certificates":{}}' },
  { name: 'state violating the schema', code: 74, reason: /state file .* is invalid: certificates\.mx\.rollovers\[0\]/, state: JSON.stringify({ version: 1, certificates: { mx: { live: null, liveKnown: true, owned: [], rollovers: [{ id: 'x', phase: 'exploded' }] } } }) },
  { name: 'state file is binary junk', code: 74, reason: /not valid JSON/, state: '\u0000\u0001\u0002garbage' },
];

for (const c of cases) {
  test(`malformed: ${c.name} → ${c.code}`, async () => {
    writeFileSync(join(ws.stateDir, 'state.json'), c.state ?? GOOD_STATE);
    const before = ws.snapshotState();
    const serial = await querySerial(bind.primary, bind.zone);
    const config = c.config ? c.config() : cfg()();
    const r = await runCli(['deploy', '-c', config, ...(c.args ? c.args() : c.env ? [] : ['--pem', good.combinedPath])], { env: c.env?.() });
    assert.equal(r.code, c.code, `exit code; stderr: ${r.stderr}`);
    const errors = r.stderr.split('\n').filter((l) => l.includes(' error: '));
    assert.equal(errors.length, 1, `exactly one error line:\n${r.stderr}`);
    assert.match(errors[0]!, c.reason);
    assert.equal(r.stdout, '', 'no result on stdout');
    const inbox = join(ws.stateDir, 'inbox');
    const queued = existsSync(inbox) ? readdirSync(inbox) : [];
    // A valid renewal meeting a broken state file is not lost: it waits in the inbox (nothing else changes).
    assert.equal(queued.length, c.state ? 1 : 0, `queued: ${queued.join(', ')}`);
    rmSync(inbox, { recursive: true, force: true });
    assert.deepEqual(ws.snapshotState(), before, 'state unchanged');
    assert.equal(await querySerial(bind.primary, bind.zone), serial, 'no DNS write');
    assert.equal(existsSync(join(d, 'EXECUTED')), false, 'config code never runs');
  });
}

test(`at least 40 hostile inputs are covered (${cases.length})`, () => {
  assert.ok(cases.length >= 40);
  const byCode = cases.reduce<Record<number, number>>((m, c) => ({ ...m, [c.code]: (m[c.code] ?? 0) + 1 }), {});
  reportFigures(`hostile-inputs: tried=${cases.length} ${Object.entries(byCode).map(([code, n]) => `exit${code}=${n}`).join(' ')} (each: one-line reason, serial unchanged, state byte-identical)`);
});

test('the corpus is not vacuous: the same deploy with good input does write DNS', async () => {
  writeFileSync(join(ws.stateDir, 'state.json'), GOOD_STATE);
  const serial = await querySerial(bind.primary, bind.zone);
  const good2 = makeLeaf(inter, ['mx.example.com']);
  const r = await runCli(['deploy', '-c', cfg()(), '--pem', good2.combinedPath]);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(await querySerial(bind.primary, bind.zone), serial);
});

test('a secret file readable by others gives a warning, not a failure', async () => {
  const secret = file('open.secret', Buffer.alloc(32, 1).toString('base64'));
  chmodSync(secret, 0o644);
  const config = cfg((c) => (c.dns.tsig = { name: 'danehook-key', secretFile: secret }))();
  const r = await runCli(['plan', '--offline', '-c', config, '--pem', good.combinedPath]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: TSIG secret file .* is readable by every user \(mode 644\)/);
});
