// Certificate intake: bundles in any order with PKCS#8, SEC1 and PKCS#1 keys, RSA and ECDSA; the
// known answers (SPKI, TLSA data) come from openssl. Each malformed input is a CertificateError.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePemBlocks } from '../../../src/core/pem.js';
import { assembleBundle, checkBundle, type CertificateBundle } from '../../../src/core/certificate.js';
import { computeTlsaRdata, parseTlsaParams } from '../../../src/core/tlsa.js';
import { CertificateError } from '../../../src/errors.js';
import { makeCa, makeIntermediate, makeLeaf, makeSelfSignedLeaf, opensslAssociation, removeCertDir, type Ca, type CertFiles } from '../../harness/certs.js';

const openssl = (args: string[], input?: string) => execFileSync('openssl', args, { input }).toString();
const read = (p: string) => readFileSync(p, 'utf8');

function bundleOf(...parts: [string, string][]): CertificateBundle {
  return assembleBundle(parts.flatMap(([text, source]) => parsePemBlocks(text, source)));
}

let root: Ca, inter: Ca, rsa: CertFiles, ec: CertFiles, other: CertFiles, selfSigned: CertFiles;
let sec1Key: string, pkcs1Key: string;

before(() => {
  root = makeCa('Unit Root', { keyType: 'ecdsa' });
  inter = makeIntermediate(root, 'Unit Intermediate');
  rsa = makeLeaf(inter, ['mx.example.com', 'smtp.example.com'], { keyType: 'rsa' });
  ec = makeLeaf(inter, ['*.example.net'], { keyType: 'ecdsa' });
  other = makeLeaf(inter, ['other.example.org'], { keyType: 'ecdsa' });
  selfSigned = makeSelfSignedLeaf(['self.example.com']);
  // SEC1 ("EC PRIVATE KEY") and PKCS#1 ("RSA PRIVATE KEY") as lego and acme.sh write them.
  sec1Key = openssl(['ec', '-in', ec.keyPath], undefined);
  pkcs1Key = openssl(['rsa', '-in', rsa.keyPath, '-traditional']);
  assert.match(sec1Key, /BEGIN EC PRIVATE KEY/);
  assert.match(pkcs1Key, /BEGIN RSA PRIVATE KEY/);
});
after(() => removeCertDir(root));

describe('assembleBundle', () => {
  test('SPKI and DER equal what openssl extracts, RSA and ECDSA', () => {
    for (const leaf of [rsa, ec]) {
      const b = bundleOf([read(leaf.fullchainPath), 'fullchain'], [read(leaf.keyPath), 'key']);
      assert.equal(b.leaf.spki.toString('hex'), opensslAssociation(leaf.certPath, 1, 0));
      assert.equal(b.leaf.der.toString('hex'), opensslAssociation(leaf.certPath, 0, 0));
      assert.equal(b.chain.length, 1);
      assert.equal(b.chain[0]!.der.toString('hex'), opensslAssociation(inter.certPath, 0, 0));
    }
  });

  const orders: [string, () => [string, string][]][] = [
    ['leaf, chain, key', () => [[read(rsa.fullchainPath), 'f'], [read(rsa.keyPath), 'k']]],
    ['key first, then chain (postfix combined file)', () => [[read(rsa.combinedPath), 'combined']]],
    ['chain before leaf', () => [[read(inter.certPath) + read(rsa.certPath) + pkcs1Key, 'reversed']]],
    ['duplicated leaf (cert.pem + fullchain.pem)', () => [[read(rsa.certPath), 'cert'], [read(rsa.fullchainPath), 'fullchain'], [pkcs1Key, 'key']]],
    ['CRLF line ends', () => [[read(rsa.combinedPath).replace(/\n/g, '\r\n'), 'crlf']]],
  ];
  for (const [name, parts] of orders) {
    test(`any order: ${name}`, () => {
      const b = bundleOf(...parts());
      assert.equal(b.leaf.dnsNames.join(','), 'mx.example.com,smtp.example.com');
      assert.equal(b.chain.length, 1);
      assert.equal(b.key?.description, 'RSA 2048');
    });
  }

  const keyForms: [string, () => string, string, () => CertFiles][] = [
    ['PKCS#8 ECDSA', () => read(ec.keyPath), 'pkcs8', () => ec],
    ['SEC1 ECDSA', () => sec1Key, 'sec1', () => ec],
    ['PKCS#1 RSA', () => pkcs1Key, 'pkcs1', () => rsa],
    ['PKCS#8 RSA', () => read(rsa.keyPath), 'pkcs8', () => rsa],
  ];
  for (const [name, key, format, leaf] of keyForms) {
    test(`key form ${name}`, () => {
      const b = bundleOf([read(leaf().fullchainPath), 'f'], [key(), 'k']);
      assert.equal(b.key?.format, format);
    });
  }

  test('EC PARAMETERS blocks (openssl ecparam -genkey) are ignored', () => {
    const params = openssl(['ecparam', '-name', 'prime256v1']);
    const b = bundleOf([params + sec1Key + read(ec.fullchainPath), 'with params']);
    assert.equal(b.key?.format, 'sec1');
  });

  test('a self-signed leaf stands alone', () => {
    const b = bundleOf([read(selfSigned.combinedPath), 'self']);
    assert.equal(b.chain.length, 0);
  });
});

describe('TLSA data equals openssl', () => {
  for (const params of ['3 1 1', '3 0 1', '3 1 2', '3 0 0', '2 1 1', '2 0 1']) {
    test(params, () => {
      for (const leaf of [rsa, ec]) {
        const b = bundleOf([read(leaf.fullchainPath), 'f']);
        const p = parseTlsaParams(params)!;
        const subject = p.usage === 2 ? inter.certPath : leaf.certPath;
        const want = opensslAssociation(subject, p.selector as 0 | 1, p.matchingType as 0 | 1 | 2);
        assert.equal(computeTlsaRdata(b, p).data, want);
      }
    });
  }
  test('2 1 1 with trustAnchor root uses the top of the served chain', () => {
    const deep = makeIntermediate(inter, 'Unit Issuing CA 2');
    const leaf = makeLeaf(deep, ['deep.example.com']);
    const b = bundleOf([read(leaf.fullchainPath), 'f']);
    assert.equal(b.chain.length, 2);
    assert.equal(computeTlsaRdata(b, parseTlsaParams('2 1 1')!, 'root').data, opensslAssociation(inter.certPath, 1, 1));
    assert.equal(computeTlsaRdata(b, parseTlsaParams('2 1 1')!, 'issuer').data, opensslAssociation(deep.certPath, 1, 1));
  });
});

const expectCertError = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CertificateError, `expected CertificateError, got ${String(err)}`);
    assert.equal(err.exitCode, 65);
    assert.match(err.message, message);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });

describe('malformed input is a CertificateError (65) with an actionable message', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['key of another certificate', () => bundleOf([read(rsa.fullchainPath), 'f'], [read(ec.keyPath), 'k.pem']), /private key \(k\.pem\) does not belong to the certificate/],
    ['two unrelated leaves', () => bundleOf([read(rsa.certPath) + read(other.certPath), 'two']), /2 unrelated end-entity certificates/],
    ['chain certificate of another CA', () => bundleOf([read(rsa.certPath), 'c'], [read(root.certPath) + read(makeCa('Stranger CA').certPath), 'chain']), /did not issue .* chain does not belong to this leaf/],
    ['only a key', () => bundleOf([read(rsa.keyPath), 'key.pem']), /no certificate found in key\.pem/],
    ['two different keys', () => bundleOf([read(rsa.fullchainPath), 'f'], [read(rsa.keyPath) + read(ec.keyPath), 'keys']), /2 different private keys/],
    ['encrypted PKCS#8 key', () => bundleOf([read(rsa.fullchainPath), 'f'], [openssl(['pkcs8', '-topk8', '-in', rsa.keyPath, '-passout', 'pass:x', '-v2', 'aes-128-cbc']), 'enc']), /encrypted private keys are not supported/],
    ['legacy encrypted key', () => bundleOf([read(rsa.fullchainPath), 'f'], [openssl(['rsa', '-in', rsa.keyPath, '-traditional', '-aes128', '-passout', 'pass:x']), 'enc']), /encrypted private keys are not supported/],
    ['DER bytes', () => parsePemBlocks(execFileSync('openssl', ['x509', '-in', rsa.certPath, '-outform', 'DER']).toString('latin1'), 'cert.der'), /cert\.der: not PEM text but binary data/],
    ['empty file', () => parsePemBlocks('', 'empty.pem'), /empty\.pem: not a PEM file \(the file is empty\)/],
    ['text without PEM', () => parsePemBlocks('hello world\n', 'x.txt'), /no "-----BEGIN/],
    ['truncated PEM', () => parsePemBlocks(read(rsa.certPath).slice(0, 300), 'cut.pem'), /cut\.pem: (truncated PEM|not a PEM file)/],
    ['mismatched BEGIN/END', () => parsePemBlocks(read(rsa.certPath).replace('END CERTIFICATE', 'END PRIVATE KEY'), 'mix.pem'), /ends with "END PRIVATE KEY"/],
    ['garbage inside a block', () => parsePemBlocks(read(rsa.certPath).replace(/\n([A-Za-z])/, '\n!$1'), 'bad.pem'), /characters outside base64/],
    ['corrupted DER inside a valid PEM', () => bundleOf(['-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n', 'junk.pem']), /junk\.pem: a CERTIFICATE block is not a valid X\.509 certificate/],
    ['unexpected block type', () => bundleOf([read(rsa.certPath) + '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n', 'csr']), /unexpected PEM block "CERTIFICATE REQUEST"/],
    ['CA certificate given as leaf with its chain', () => bundleOf([read(inter.certPath) + read(root.certPath), 'ca']), /is a CA certificate/],
  ];
  for (const [name, fn, message] of cases) test(name, () => expectCertError(fn, message));
});

describe('checkBundle', () => {
  const now = new Date(Date.now() + 60_000); // certificates are made in before(), after this line runs
  const b = () => bundleOf([read(rsa.combinedPath), 'c']);
  test('covers configured domains, wildcard included', () => {
    checkBundle(b(), { domains: ['mx.example.com', 'smtp.example.com'], now, requireKey: true });
    checkBundle(bundleOf([read(ec.combinedPath), 'c']), { domains: ['mx.example.net'], now, requireKey: true });
  });
  const cases: [string, () => unknown, RegExp][] = [
    ['domain not covered', () => checkBundle(b(), { domains: ['mail.example.com'], now, requireKey: false }), /does not cover mail\.example\.com/],
    ['wildcard does not cover apex', () => checkBundle(bundleOf([read(ec.certPath), 'c']), { domains: ['example.net'], now, requireKey: false }), /does not cover example\.net/],
    ['expired', () => checkBundle(b(), { domains: ['mx.example.com'], now: new Date(Date.now() + 400 * 86400e3), requireKey: false }), /expired on/],
    ['not yet valid', () => checkBundle(b(), { domains: ['mx.example.com'], now: new Date(Date.now() - 400 * 86400e3), requireKey: false }), /not valid until .* \(check the clock\)/],
    ['key required but absent', () => checkBundle(bundleOf([read(rsa.fullchainPath), 'f']), { domains: ['mx.example.com'], now, requireKey: true }), /no private key given/],
    ['no subjectAltName', () => {
      const dir = root.dir;
      const key = join(dir, 'nosan.key');
      const cert = join(dir, 'nosan.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=mx.example.com', '-days', '2']);
      writeFileSync(join(dir, 'nosan.combined'), read(key) + read(cert));
      return checkBundle(bundleOf([read(join(dir, 'nosan.combined')), 'nosan']), { domains: ['mx.example.com'], now, requireKey: true });
    }, /has no DNS names in subjectAltName/],
  ];
  for (const [name, fn, message] of cases) test(name, () => expectCertError(fn, message));
});
