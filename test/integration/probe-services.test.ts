// probeEndpoint against real nginx (implicit TLS, HTTPS) and real dovecot (IMAP STARTTLS and POP3
// STLS per RFC 2595, imaps/pop3s): same chain as `openssl s_client -showcerts`, reloads observed,
// and nothing from a local trust store is ever added to the presented chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { probeEndpoint, probeUntil, type ProbeProtocol } from '../../src/io/probe.js';
import { UnavailableError } from '../../src/errors.js';
import { requireBinaries } from '../harness/binaries.js';
import { makeCa, makeIntermediate, makeLeaf, removeCertDir } from '../harness/certs.js';
import { startNginx } from '../harness/nginx.js';
import { startDovecot } from '../harness/tls-service-dovecot.js';
import { opensslPresentedChain, type StartTls } from '../harness/tls-service-openssl.js';

const sameDer = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((x, i) => x.equals(b[i]!));

function certs(t: { after(fn: () => void): void }, name: string) {
  const root = makeCa('Services Root CA');
  const inter = makeIntermediate(root, 'Services Intermediate CA');
  const first = makeLeaf(inter, [name], { keyType: 'rsa' });
  const second = makeLeaf(inter, [name], { keyType: 'ecdsa' });
  t.after(() => removeCertDir(root));
  const pem = (c: typeof first) => ({ fullchainPem: readFileSync(c.fullchainPath, 'utf8'), keyPem: readFileSync(c.keyPath, 'utf8') });
  return { root, inter, first, second, pem };
}

test('nginx HTTPS (implicit TLS): chain as openssl sees it; reload switches certificates', async (t) => {
  if (!requireBinaries(t, ['nginx', 'openssl'])) return;
  const c = certs(t, 'www.test.example');
  const nginx = await startNginx(t, c.pem(c.first));
  const target = { host: '127.0.0.1', port: nginx.port, servername: 'www.test.example', timeoutMs: 5000 };
  const r = await probeEndpoint(target);
  assert.equal(r.protocol, 'tls', 'a non-mail port defaults to implicit TLS');
  assert.ok(sameDer(r.chain, [c.first.der, c.inter.der]));
  assert.ok(sameDer(r.chain, await opensslPresentedChain('127.0.0.1', nginx.port, undefined, 'www.test.example')));
  const v6 = await probeEndpoint({ ...target, host: '[::1]' });
  assert.equal(v6.address, '::1');
  assert.ok(sameDer(v6.chain, r.chain));

  const { fullchainPem, keyPem } = c.pem(c.second);
  nginx.installCert(fullchainPem, keyPem);
  await nginx.reload();
  const until = await probeUntil(target, (x) => x.chain[0]!.equals(c.second.der), { graceMs: 5000, intervalMs: 25 });
  t.diagnostic(`nginx served the new certificate after ${until.elapsedMs} ms, ${until.attempts} probe(s)`);
  assert.equal(until.accepted, true);
});

test('a root in the local trust store is not added to the presented chain', async (t) => {
  // node's getPeerCertificate(true) appends an issuer from the connection's trust store; the
  // probe's empty store must prevent that. Run the probe in a child whose store trusts our root.
  if (!requireBinaries(t, ['nginx'])) return;
  const c = certs(t, 'www.test.example');
  const nginx = await startNginx(t, c.pem(c.first));
  const probeModule = fileURLToPath(new URL('../../src/io/probe.ts', import.meta.url));
  const script = `import(${JSON.stringify(probeModule)}).then(async (m) => {
    const r = await m.probeEndpoint({ host: '127.0.0.1', port: ${nginx.port}, timeoutMs: 5000 });
    const tls = await import('node:tls');
    const walked = await new Promise((resolve) => { const s = tls.connect({ host: '127.0.0.1', port: ${nginx.port}, rejectUnauthorized: false }, () => {
      let n = 0, x = s.getPeerCertificate(true), seen = new Set();
      while (x && x.raw && !seen.has(x.fingerprint256)) { seen.add(x.fingerprint256); n++; x = x.issuerCertificate; }
      s.destroy(); resolve(n); }); });
    console.log(JSON.stringify({ probe: r.chain.map((d) => d.toString('base64')), defaultStoreWalk: walked }));
  });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: c.root.certPath },
    timeout: 20000,
  });
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as { probe: string[]; defaultStoreWalk: number };
  assert.equal(out.defaultStoreWalk, 3, 'control: with the default store node appends the trusted root');
  assert.deepEqual(out.probe.map((b) => Buffer.from(b, 'base64')), [c.first.der, c.inter.der], 'the probe reports only what was sent');
});

for (const [label, protocol, port, starttls] of [
  ['IMAP STARTTLS', 'imap', 'imapPort', 'imap'],
  ['POP3 STLS', 'pop3', 'pop3Port', 'pop3'],
  ['imaps (implicit TLS)', 'tls', 'imapsPort', undefined],
  ['pop3s (implicit TLS)', 'tls', 'pop3sPort', undefined],
] as Array<[string, ProbeProtocol, 'imapPort' | 'pop3Port' | 'imapsPort' | 'pop3sPort', StartTls]>) {
  test(`dovecot ${label}: chain as openssl sees it; reload switches certificates`, async (t) => {
    if (!requireBinaries(t, ['dovecot', 'openssl'])) return;
    const c = certs(t, 'imap.test.example');
    const dovecot = await startDovecot(t, c.pem(c.first));
    const target = { host: '127.0.0.1', port: dovecot[port]!, protocol, timeoutMs: 5000 };
    const r = await probeEndpoint(target);
    assert.equal(r.protocol, protocol);
    assert.ok(sameDer(r.chain, [c.first.der, c.inter.der]));
    assert.ok(sameDer(r.chain, await opensslPresentedChain('127.0.0.1', dovecot[port]!, starttls)));
    assert.ok(sameDer((await probeEndpoint({ ...target, host: '::1' })).chain, r.chain), 'over IPv6 too');

    const { fullchainPem, keyPem } = c.pem(c.second);
    dovecot.installCert(fullchainPem, keyPem);
    await dovecot.reload();
    const until = await probeUntil(target, (x) => x.chain[0]!.equals(c.second.der), { graceMs: 5000, intervalMs: 25 });
    t.diagnostic(`dovecot served the new certificate after ${until.elapsedMs} ms, ${until.attempts} probe(s)`);
    assert.equal(until.accepted, true);
  });
}

test('dovecot without TLS: IMAP STARTTLS and POP3 STLS not offered → UnavailableError (69)', async (t) => {
  if (!requireBinaries(t, ['dovecot'])) return;
  const c = certs(t, 'imap.test.example');
  const dovecot = await startDovecot(t, { ...c.pem(c.first), tls: false });
  await assert.rejects(probeEndpoint({ host: '127.0.0.1', port: dovecot.imapPort, protocol: 'imap', timeoutMs: 5000 }), (err: unknown) => {
    assert.ok(err instanceof UnavailableError);
    assert.equal(err.exitCode, 69);
    assert.match(err.message, new RegExp(`^probe 127\\.0\\.0\\.1:${dovecot.imapPort} \\(imap\\): STARTTLS not offered \\(IMAP capabilities: IMAP4REV1 `));
    return true;
  });
  await assert.rejects(probeEndpoint({ host: '127.0.0.1', port: dovecot.pop3Port, protocol: 'pop3', timeoutMs: 5000 }), (err: unknown) => {
    assert.ok(err instanceof UnavailableError);
    assert.match(err.message, /\(pop3\): STLS not offered \(POP3 capabilities: .*UIDL/);
    return true;
  });
});
