// computeTlsaMatch against chains made by openssl, with association data computed by openssl
// (independent known answers): DANE-EE(3) and DANE-TA(2) per RFC 7671 §5.1–5.2, RFC 7672 §3.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { computeTlsaMatch } from '../../../src/core/tlsa-match.js';
import type { TlsaRdata } from '../../../src/core/tlsa.js';
import { makeCa, makeIntermediate, makeLeaf, makeSelfSignedLeaf, opensslAssociation, removeCertDir, type Ca, type CertFiles } from '../../harness/certs.js';

let root: Ca;
let inter: Ca;
let other: Ca;
let impostor: Ca; // same subject name as `inter`, different key, issued by `other`
let leafEc: CertFiles;
let leafRsa: CertFiles;
let selfSigned: CertFiles;

before(() => {
  root = makeCa('Match Root CA', { keyType: 'ecdsa' });
  inter = makeIntermediate(root, 'Match Intermediate CA', { keyType: 'rsa' });
  other = makeCa('Other Root CA'); // own dir: the impostor's files share the intermediate's name
  // Same name and key type as `inter` and no subjectKeyIdentifier: X509_check_issued accepts it; only the signature tells.
  impostor = makeIntermediate(other, 'Match Intermediate CA', { keyType: 'rsa', extraExtensions: 'subjectKeyIdentifier=none' });
  leafEc = makeLeaf(inter, ['mx.example.com', 'mail.example.com'], { keyType: 'ecdsa' });
  leafRsa = makeLeaf(inter, ['mx.example.com'], { keyType: 'rsa' });
  selfSigned = makeSelfSignedLeaf(['self.example.com'], { dir: root.dir });
});
after(() => {
  removeCertDir(root);
  removeCertDir(other);
});

const formatParams = (r: TlsaRdata) => `${r.usage} ${r.selector} ${r.matchingType}`;

function rr(usage: number, selector: 0 | 1, matchingType: 0 | 1 | 2, certPath: string): TlsaRdata {
  return { usage, selector, matchingType, data: opensslAssociation(certPath, selector, matchingType) };
}

const combos: Array<[0 | 1, 0 | 1 | 2]> = [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]];

for (const keyType of ['ecdsa', 'rsa'] as const) {
  for (const [s, m] of combos) {
    test(`DANE-EE 3 ${s} ${m} matches the ${keyType} leaf and nothing else`, () => {
      const leaf = keyType === 'ecdsa' ? leafEc : leafRsa;
      const otherLeaf = keyType === 'ecdsa' ? leafRsa : leafEc;
      const good = computeTlsaMatch(leaf.chainDer, [rr(3, s, m, leaf.certPath)]);
      assert.equal(good.matched, true);
      assert.equal(good.allParamsMatched, true);
      assert.deepEqual(good.matches.map((x) => [x.kind, x.depth]), [['end-entity', 0]]);
      assert.equal(good.byParams[0]!.params, `3 ${s} ${m}`);
      // Same issuer, other key: must not match.
      assert.equal(computeTlsaMatch(otherLeaf.chainDer, [rr(3, s, m, leaf.certPath)]).matched, false);
      // DANE-EE never matches an issuer (RFC 7671 §5.1).
      assert.equal(computeTlsaMatch(leaf.chainDer, [rr(3, s, m, inter.certPath)]).matched, false);
    });
    test(`DANE-TA 2 ${s} ${m} matches the presented intermediate under a ${keyType} leaf`, () => {
      const leaf = keyType === 'ecdsa' ? leafEc : leafRsa;
      const r = computeTlsaMatch(leaf.chainDer, [rr(2, s, m, inter.certPath)]);
      assert.equal(r.matched, true);
      assert.deepEqual(r.matches.map((x) => [x.kind, x.depth]), [['presented-trust-anchor', 1]]);
      assert.equal(computeTlsaMatch(leaf.chainDer, [rr(2, s, m, other.certPath)]).matched, false);
    });
  }
}

test('DANE-TA for a root matches only when the server presents the root', () => {
  const rec = rr(2, 1, 1, root.certPath);
  assert.equal(computeTlsaMatch(leafEc.chainDer, [rec]).matched, false);
  const r = computeTlsaMatch([...leafEc.chainDer, root.der], [rec]);
  assert.deepEqual(r.matches.map((x) => [x.kind, x.depth]), [['presented-trust-anchor', 2]]);
});

test('DANE-TA 2 0 0 / 2 1 0 carry the anchor: the server may omit it (RFC 7671 §5.2.2–5.2.3)', () => {
  for (const rec of [rr(2, 0, 0, root.certPath), rr(2, 1, 0, root.certPath)]) {
    const r = computeTlsaMatch(leafEc.chainDer, [rec]);
    assert.deepEqual(r.matches.map((x) => [x.kind, x.depth]), [['record-trust-anchor', 1]], `${rec.usage} ${rec.selector} ${rec.matchingType}`);
  }
  // The other root's full key did not sign the intermediate.
  assert.equal(computeTlsaMatch(leafEc.chainDer, [rr(2, 1, 0, other.certPath)]).matched, false);
  // A digest of an omitted anchor cannot be used.
  assert.equal(computeTlsaMatch(leafEc.chainDer, [rr(2, 1, 1, root.certPath)]).matched, false);
});

test('a DANE-TA digest of the leaf does not match: DANE-TA designates an issuer', () => {
  const r = computeTlsaMatch(leafEc.chainDer, [rr(2, 1, 1, leafEc.certPath)]);
  assert.equal(r.matched, false);
  assert.match(r.problems.join('\n'), /matches the leaf; DANE-TA\(2\) designates an issuer/);
});

test('a self-signed leaf: DANE-EE matches, a DANE-TA digest or full certificate does not, its full key does (as openssl decides)', () => {
  const r = computeTlsaMatch(selfSigned.chainDer, [
    rr(3, 1, 1, selfSigned.certPath),
    rr(2, 1, 1, selfSigned.certPath),
    rr(2, 0, 1, selfSigned.certPath),
    rr(2, 0, 0, selfSigned.certPath),
    rr(2, 1, 0, selfSigned.certPath),
  ]);
  assert.deepEqual(r.matches.map((x) => [formatParams(x.record), x.kind, x.depth]), [
    ['3 1 1', 'end-entity', 0],
    ['2 1 0', 'record-trust-anchor', 0],
  ]);
  assert.equal(r.allParamsMatched, false);
  // "2 0 0" of a self-signed leaf: the certificate would only serve as a missing issuer.
  assert.deepEqual(r.byParams.filter((g) => g.matches.length === 0).map((g) => g.params), ['2 1 1', '2 0 1', '2 0 0']);
});

test('an extra certificate that did not issue the leaf is no trust anchor', () => {
  const r = computeTlsaMatch([leafEc.der, other.der, inter.der], [rr(2, 1, 1, other.certPath)]);
  assert.equal(r.matched, false);
  assert.match(r.problems.join('\n'), /#1, which is not an issuer of the leaf/);
  // Out of order after the leaf is fine for the real issuer (RFC 8446 §4.4.2).
  const ok = computeTlsaMatch([leafEc.der, other.der, inter.der], [rr(2, 1, 1, inter.certPath)]);
  assert.deepEqual(ok.matches.map((x) => x.depth), [2]);
});

test('an impostor issuer with the right name but the wrong key is not on the path', () => {
  const r = computeTlsaMatch([leafEc.der, impostor.der], [rr(2, 1, 1, impostor.certPath)]);
  assert.equal(r.matched, false);
  assert.match(r.problems.join('\n'), /not an issuer/);
});

test('reference names: required for DANE-TA, ignored for DANE-EE (RFC 7672 §3.2.3)', () => {
  const ta = rr(2, 1, 1, inter.certPath);
  const ee = rr(3, 1, 1, leafEc.certPath);
  const right = computeTlsaMatch(leafEc.chainDer, [ta], { referenceNames: ['MAIL.example.com.'] });
  assert.deepEqual(right.matches.map((x) => [x.kind, x.nameChecked]), [['presented-trust-anchor', true]]);
  const wrong = computeTlsaMatch(leafEc.chainDer, [ta, ee], { referenceNames: ['smtp.example.net'] });
  assert.deepEqual(wrong.matches.map((x) => x.kind), ['end-entity']);
  assert.equal(wrong.allParamsMatched, false);
  assert.match(wrong.problems.join('\n'), /names none of smtp\.example\.net/);
});

test('per parameter combination: every published combination must match on its own (RFC 7671 §8.1)', () => {
  const records = [rr(3, 1, 1, leafRsa.certPath), rr(3, 1, 1, leafEc.certPath), rr(2, 1, 1, other.certPath)];
  const r = computeTlsaMatch(leafEc.chainDer, records);
  assert.equal(r.matched, true);
  assert.equal(r.allParamsMatched, false);
  assert.deepEqual(r.byParams.map((g) => [g.params, g.records.length, g.matches.length]), [['3 1 1', 2, 1], ['2 1 1', 1, 0]]);
  assert.equal(r.byParams[0]!.matches[0]!.record, records[1]);
});

test('PKIX usages and malformed records are reported unusable, not matched', () => {
  const good = rr(3, 1, 1, leafEc.certPath);
  const r = computeTlsaMatch(leafEc.chainDer, [
    { ...good, usage: 1 },
    { ...rr(0, 1, 1, inter.certPath) },
    { ...good, data: good.data.slice(2) },
    { ...good, matchingType: 3 },
  ]);
  assert.equal(r.matched, false);
  assert.equal(r.allParamsMatched, false);
  assert.equal(r.byParams.length, 0);
  assert.deepEqual(r.unusable.map((u) => u.reason.split(' ').slice(0, 2).join(' ')), ['usage 1', 'usage 0', 'digest length', 'unknown matching']);
});

test('a wrong digest does not match; an empty chain is a caller bug', () => {
  const good = rr(3, 1, 1, leafEc.certPath);
  const flipped = (good.data[0] === '0' ? '1' : '0') + good.data.slice(1);
  assert.equal(computeTlsaMatch(leafEc.chainDer, [{ ...good, data: flipped }]).matched, false);
  assert.throws(() => computeTlsaMatch([], [good]), TypeError);
  assert.throws(() => computeTlsaMatch([Buffer.from('not a cert')], [good]), /not a DER X\.509/);
});
