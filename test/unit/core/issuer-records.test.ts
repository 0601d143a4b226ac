// Records with an issuer set (RFC 7671 §5.2): one DANE-TA record per CA in the set, a renewal from
// a CA outside it refused, the live certificate always covered. Known answers from openssl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePemBlocks } from '../../../src/core/pem.js';
import { assembleBundle, parseCertificate, type CertificateBundle } from '../../../src/core/certificate.js';
import { computeCertificateRecords, computeDesiredRecords, formatCrowdedWarnings, MAX_RECORDS_PER_NAME, type EntryShape } from '../../../src/core/desired.js';
import { computeIssuerSummaries, dedupeIssuers, toIssuerCert, type IssuerCert } from '../../../src/core/issuers.js';
import { formatTlsaRdata, type TlsaRecord } from '../../../src/core/tlsa.js';
import { CertificateError } from '../../../src/errors.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type Ca, type CertFiles } from '../../harness/certs.js';

const N25 = '_25._tcp.mx.example.com.';
const N465 = '_465._tcp.mx.example.com.';
const bundleOf = (c: CertFiles): CertificateBundle => assembleBundle(parsePemBlocks(readFileSync(c.fullchainPath, 'utf8'), c.fullchainPath));
const issuerOf = (c: Ca): IssuerCert => toIssuerCert(parseCertificate(parsePemBlocks(c.certPem, c.certPath)[0]!), c.certPath);
const texts = (records: TlsaRecord[], name = N25) => records.filter((r) => r.name === name).map((r) => formatTlsaRdata(r.rdata)).sort();
// Independent known answers: `openssl x509 -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256`.
const ta211 = (c: CertFiles) => `2 1 1 ${opensslAssociation(c.certPath, 1, 1)}`;
const ta201 = (c: CertFiles) => `2 0 1 ${opensslAssociation(c.certPath, 0, 1)}`;
const ee311 = (c: CertFiles) => `3 1 1 ${opensslAssociation(c.certPath, 1, 1)}`;

let root: Ca, otherRoot: Ca, a: Ca, b: Ca, c: Ca, aCross: Ca, leafA: CertFiles, leafB: CertFiles, leafC: CertFiles, leafCross: CertFiles;
let crossDir: string;

before(() => {
  root = makeCa('Issuer Root');
  a = makeIntermediate(root, 'Issuer A');
  b = makeIntermediate(root, 'Issuer B', { keyType: 'rsa' });
  c = makeIntermediate(root, 'Issuer C');
  // The same CA as A (same name, same key) certified by another root: a cross-signed copy.
  otherRoot = makeCa('Other Root');
  crossDir = mkdtempSync(join(tmpdir(), 'danehook-cross-'));
  aCross = makeIntermediate(otherRoot, 'Issuer A', { keyPath: a.keyPath, dir: crossDir });
  leafA = makeLeaf(a, ['mx.example.com']);
  leafB = makeLeaf(b, ['mx.example.com'], { keyPath: leafA.keyPath }); // a renewal with the same key
  leafC = makeLeaf(c, ['mx.example.com'], { keyPath: leafA.keyPath });
  leafCross = makeLeaf(aCross, ['mx.example.com'], { dir: crossDir });
});
after(() => {
  for (const ca of [root, otherRoot]) removeCertDir(ca);
  rmSync(crossDir, { recursive: true, force: true });
});

const entry = (over: Partial<EntryShape> = {}): EntryShape => ({
  id: 'mx', domains: ['mx.example.com'], ports: [25, 465], protocol: 'tcp', tlsa: ['3 1 1', '2 1 1'], trustAnchor: 'issuer', issuers: [issuerOf(a), issuerOf(b)], ...over,
});

describe('computeCertificateRecords with an issuer set', () => {
  test('a 2 1 1 record for every CA in the set, at every owner, beside the leaf 3 1 1', () => {
    const records = computeCertificateRecords(entry(), bundleOf(leafA), 300);
    const want = [ee311(leafA), ta211(a), ta211(b)].sort();
    assert.deepEqual(texts(records, N25), want);
    assert.deepEqual(texts(records, N465), want);
    assert.ok(records.every((r) => r.ttl === 300));
  });

  test('a renewal with the same key signed by the other CA has exactly the same records', () => {
    assert.deepEqual(texts(computeCertificateRecords(entry(), bundleOf(leafB), 300)), texts(computeCertificateRecords(entry(), bundleOf(leafA), 300)));
  });

  test('without a set, the chain\'s own issuer only (the control: B\'s record is new then)', () => {
    assert.deepEqual(texts(computeCertificateRecords(entry({ issuers: undefined }), bundleOf(leafA), 300)), [ee311(leafA), ta211(a)].sort());
    assert.deepEqual(texts(computeCertificateRecords(entry({ issuers: [] }), bundleOf(leafB), 300)), [ee311(leafB), ta211(b)].sort());
  });

  test('selector 0 and matching type 2 per CA, from openssl', () => {
    const records = computeCertificateRecords(entry({ tlsa: ['2 0 1', '2 1 2'] }), bundleOf(leafA), 300);
    const want = [ta201(a), ta201(b), `2 1 2 ${opensslAssociation(a.certPath, 1, 2)}`, `2 1 2 ${opensslAssociation(b.certPath, 1, 2)}`].sort();
    assert.deepEqual(texts(records), want);
  });

  test('a CA listed twice (or in two overlapping sets) gives one record', () => {
    const issuers = dedupeIssuers([issuerOf(a), issuerOf(b), issuerOf(a)]);
    assert.equal(issuers.length, 2);
    assert.deepEqual(texts(computeCertificateRecords(entry({ issuers: [issuerOf(a), issuerOf(a), issuerOf(b)] }), bundleOf(leafA), 300)), [ee311(leafA), ta211(a), ta211(b)].sort());
  });

  test('a renewal whose issuer is not in the set is refused, naming the issuer', () => {
    assert.throws(() => computeCertificateRecords(entry(), bundleOf(leafC), 300), (e: unknown) => {
      assert.ok(e instanceof CertificateError, String(e));
      assert.equal(e.exitCode, 65);
      assert.match(e.message, /"mx": the issuer of the certificate, "CN=Issuer C" \(SPKI SHA-256 [0-9a-f]{16}…\), is not in the configured issuer set \("CN=Issuer A", "CN=Issuer B"\)/);
      return true;
    });
  });

  test('the live certificate stays covered whatever signed it: the set\'s records plus its own', () => {
    const records = computeDesiredRecords(entry(), [bundleOf(leafC)], 300, 'live');
    assert.deepEqual(texts(records), [ee311(leafC), ta211(a), ta211(b), ta211(c)].sort());
  });

  test('a cross-signed copy of a CA in the set: 2 1 1 matches (same key), 2 0 1 is refused (other certificate)', () => {
    const crossBundle = bundleOf(leafCross);
    assert.equal(crossBundle.chain[0]!.der.toString('hex'), opensslAssociation(aCross.certPath, 0, 0));
    assert.deepEqual(texts(computeCertificateRecords(entry(), crossBundle, 300)), [ee311(leafCross), ta211(a), ta211(b)].sort());
    assert.equal(ta211(aCross), ta211(a));
    assert.throws(() => computeCertificateRecords(entry({ tlsa: ['3 1 1', '2 0 1'] }), crossBundle, 300), /"CN=Issuer A", is in the issuer set, but the chain carries a different certificate for it .*RFC 7671 §5\.2\.2.*selector 1/);
  });

  test('the trust anchor must be in the served chain: a leaf without its chain is refused', () => {
    const leafOnly = assembleBundle(parsePemBlocks(readFileSync(leafA.certPath, 'utf8'), leafA.certPath));
    assert.throws(() => computeCertificateRecords(entry(), leafOnly, 300), (e: unknown) => e instanceof CertificateError && /served chain must carry \(RFC 7671 §5\.2\.2\)/.test(e.message));
  });

  test('trustAnchor: root matches the top of the chain against the set', () => {
    const top = makeIntermediate(a, 'Issuer A Sub');
    const leaf = makeLeaf(top, ['mx.example.com']);
    // chain = [A Sub, A]; with trustAnchor root the TA is A, which is in the set.
    assert.deepEqual(texts(computeCertificateRecords(entry({ trustAnchor: 'root' }), bundleOf(leaf), 300)), [ee311(leaf), ta211(a), ta211(b)].sort());
    assert.throws(() => computeCertificateRecords(entry(), bundleOf(leaf), 300), /the issuer of the certificate, "CN=Issuer A Sub"/);
  });

  test('3 1 1 alone ignores the set (the schema refuses that combination anyway)', () => {
    assert.deepEqual(texts(computeCertificateRecords(entry({ tlsa: ['3 1 1'] }), bundleOf(leafC), 300)), [ee311(leafC)]);
  });
});

describe('issuer summaries and the crowded-name warning', () => {
  test('summary per CA: subject, SPKI SHA-256 and records from openssl, which CA signed the certificate', () => {
    const s = computeIssuerSummaries([issuerOf(a), issuerOf(b)], ['3 1 1', '2 1 1', '2 0 1'], bundleOf(leafB).chain[0]!);
    assert.deepEqual(s.map((x) => [x.subject, x.spki, x.records, x.signedThis]), [
      ['CN=Issuer A', opensslAssociation(a.certPath, 1, 1), [ta211(a), ta201(a)], false],
      ['CN=Issuer B', opensslAssociation(b.certPath, 1, 1), [ta211(b), ta201(b)], true],
    ]);
    assert.equal(s[0]!.source, a.certPath);
  });

  test(`more than ${MAX_RECORDS_PER_NAME} records at a name is a warning naming it and the count`, () => {
    const rec = (name: string, i: number): TlsaRecord => ({ name, ttl: 300, rdata: { usage: 2, selector: 1, matchingType: 1, data: i.toString(16).padStart(64, '0') } });
    const twelve = Array.from({ length: 12 }, (_, i) => rec(N25, i));
    assert.deepEqual(formatCrowdedWarnings('mx', [...twelve, rec(N465, 1)]), []);
    const w = formatCrowdedWarnings('mx', [...twelve, rec(N25, 12), rec(N465, 1)]);
    assert.equal(w.length, 1);
    assert.match(w[0]!, /"mx": _25\._tcp\.mx\.example\.com\. would hold 13 TLSA records; some large receivers use only the first 12/);
  });
});
