// The probe per key type against real TLS stacks: postfix with RSA and ECDSA chain files and
// openssl s_server with -cert/-dcert (TLS 1.3, and TLS 1.2 only, where the cipher suite decides)
// present the certificate of the offered type, as `openssl s_client -sigalgs` sees; a service
// without a certificate of the offered type fails the handshake and the verdict says what it has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { probeEndpoint, type ProbeTarget } from '../../src/io/probe.js';
import { probeEndpoints, type EndpointTarget } from '../../src/kinds/tls/probe.js';
import { parseTlsaRdata } from '../../src/core/tlsa.js';
import type { KeyType } from '../../src/core/key-type.js';
import { UnavailableError } from '../../src/errors.js';
import { requireBinaries } from '../harness/binaries.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { startPostfix } from '../harness/postfix.js';
import { startOpensslServer } from '../harness/tls-service-sserver.js';
import { opensslPresentedChain } from '../harness/tls-service-openssl.js';

const NAME = 'mx.example.test';
const OWNER = `_25._tcp.${NAME}.`;

// openssl's own "ALG+HASH" spelling, not the probe's IANA names: an independent way to ask.
const SCLIENT_SIGALGS: Record<'rsa' | 'ecdsa', string> = {
  rsa: 'RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512:RSA+SHA256:RSA+SHA384:RSA+SHA512',
  ecdsa: 'ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512',
};

function certs(t: { after(fn: () => void): void }) {
  const root = makeCa('Key Type Root');
  // Each leaf under an issuer of the *other* key type: the chain's signatures must not matter,
  // only the leaf's key (the probe sends no signature_algorithms_cert, RFC 8446 §4.2.3).
  const interRsa = makeIntermediate(root, 'Key Type RSA Intermediate', { keyType: 'rsa' });
  const interEc = makeIntermediate(root, 'Key Type ECDSA Intermediate', { keyType: 'ecdsa' });
  const rsa = makeLeaf(interEc, [NAME], { keyType: 'rsa' });
  const ec = makeLeaf(interRsa, [NAME], { keyType: 'ecdsa' });
  const ed = makeLeaf(interEc, [NAME], { keyType: 'ed25519' });
  t.after(() => removeCertDir(root));
  return { rsa, ec, ed };
}

const leafOf = async (target: ProbeTarget) => (await probeEndpoint({ timeoutMs: 5000, ...target })).chain[0]!;
const tlsa311 = (c: CertFiles) => parseTlsaRdata(`3 1 1 ${opensslAssociation(c.certPath, 1, 1)}`)!;

test('postfix with ECDSA and RSA chain files: each key type is probed, as openssl s_client -sigalgs sees it', async (t) => {
  if (!requireBinaries(t, ['postfix', 'openssl'])) return;
  const { rsa, ec } = certs(t);
  const pf = await startPostfix(t, {
    chains: [{ file: 'ecdsa.pem', pem: readFileSync(ec.combinedPath, 'utf8') }, { file: 'rsa.pem', pem: readFileSync(rsa.combinedPath, 'utf8') }],
    ipv6: false,
  });
  const listeners: [number, 'smtp' | 'tls'][] = [[pf.smtpPort, 'smtp'], [pf.smtpsPort!, 'tls']];
  for (const [port, protocol] of listeners) {
    for (const [keyType, want] of [['rsa', rsa], ['ecdsa', ec]] as const) {
      const r = await probeEndpoint({ host: '127.0.0.1', port, protocol, servername: NAME, keyType, timeoutMs: 5000 });
      assert.ok(r.chain[0]!.equals(want.der), `${protocol} offering ${keyType}: the ${keyType} certificate`);
      assert.equal(r.keyType, keyType);
      assert.equal(r.offered, keyType);
      const theirs = await opensslPresentedChain('127.0.0.1', port, protocol === 'smtp' ? 'smtp' : undefined, NAME, ['-sigalgs', SCLIENT_SIGALGS[keyType]]);
      assert.ok(theirs[0]!.equals(want.der), `openssl s_client -sigalgs ${keyType} agrees on ${protocol}`);
    }
    // Unrestricted, postfix (OpenSSL) shows one of them only: the reason for the restriction.
    const any = await probeEndpoint({ host: '127.0.0.1', port, protocol, timeoutMs: 5000 });
    t.diagnostic(`${protocol} unrestricted: ${any.keyType} certificate (${any.tlsVersion})`);
  }
  // The verdict the rollover uses: RSA records judged against the RSA certificate, ECDSA against ECDSA.
  const target: EndpointTarget = { host: '127.0.0.1', port: pf.smtpPort, protocol: 'smtp', servername: NAME, owner: OWNER, local: true, timeoutMs: 5000 };
  for (const [keyType, want] of [['rsa', rsa], ['ecdsa', ec]] as const) {
    const [v] = await probeEndpoints([target], [{ name: OWNER, ttl: 60, rdata: tlsa311(want) }], { graceMs: 0, allParams: true, keyTypes: [keyType] });
    assert.equal(v!.ok, true, v!.detail);
    assert.equal(v!.keyType, keyType);
  }
});

test('openssl s_server with RSA + ECDSA, TLS 1.3 and TLS 1.2 only: the offered key type decides', async (t) => {
  if (!requireBinaries(t, ['openssl'])) return;
  const { rsa, ec } = certs(t);
  for (const tls12Only of [false, true]) {
    const srv = await startOpensslServer(t, { certs: [rsa, ec], tls12Only });
    for (const [keyType, want] of [['rsa', rsa], ['ecdsa', ec]] as const) {
      const r = await probeEndpoint({ host: srv.host, port: srv.port, protocol: 'tls', keyType, timeoutMs: 5000 });
      assert.equal(r.tlsVersion, tls12Only ? 'TLSv1.2' : 'TLSv1.3');
      assert.ok(r.chain[0]!.equals(want.der), `${r.tlsVersion} offering ${keyType}`);
    }
  }
});

test('one certificate only: offering its key type works (RSA, ECDSA, Ed25519); offering another fails clearly', async (t) => {
  if (!requireBinaries(t, ['postfix', 'openssl'])) return;
  const { rsa, ec, ed } = certs(t);
  const cases: [KeyType, CertFiles, KeyType][] = [['rsa', rsa, 'ecdsa'], ['ecdsa', ec, 'rsa'], ['ed25519', ed, 'ecdsa']];
  for (const [keyType, cert, other] of cases) {
    const srv = await startOpensslServer(t, { certs: [cert] });
    const target = { host: srv.host, port: srv.port, protocol: 'tls' as const, timeoutMs: 5000 };
    assert.ok((await leafOf({ ...target, keyType })).equals(cert.der), `${keyType} offered, ${keyType} served`);
    await assert.rejects(probeEndpoint({ ...target, keyType: other }), (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.match(err.message, /TLS handshake failed offering only (ECDSA|RSA) signature algorithms \(does the service have an (ECDSA|RSA) certificate\?\)/);
      return true;
    });
  }
  // The rollover's verdict on such an endpoint says what it does present instead, and fails.
  const pf = await startPostfix(t, { combinedPem: readFileSync(rsa.combinedPath, 'utf8'), ipv6: false });
  const target: EndpointTarget = { host: '127.0.0.1', port: pf.smtpPort, protocol: 'smtp', servername: NAME, owner: OWNER, local: true, timeoutMs: 5000 };
  const [v] = await probeEndpoints([target], [{ name: OWNER, ttl: 60, rdata: tlsa311(ec) }], { graceMs: 0, allParams: false, keyTypes: ['ecdsa'] });
  assert.equal(v!.ok, false);
  assert.match(v!.detail, /offering only ECDSA signature algorithms.*; offered every key type, it presents an RSA certificate$/s);
  // Two expected key types (live RSA, new ECDSA): one matching is enough.
  const [both] = await probeEndpoints([target], [{ name: OWNER, ttl: 60, rdata: tlsa311(rsa) }, { name: OWNER, ttl: 60, rdata: tlsa311(ec) }], { graceMs: 0, allParams: false, keyTypes: ['ecdsa', 'rsa'] });
  assert.equal(both!.ok, true, both!.detail);
  assert.equal(both!.keyType, 'rsa');
});
