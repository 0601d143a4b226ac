// probeEndpoint against a real postfix: SMTP STARTTLS (RFC 3207) and implicit TLS, compared with
// what `openssl s_client -showcerts` sees; a certificate switch + reload seen through probeUntil;
// computeTlsaMatch verdicts cross-checked with openssl's own DANE verification (RFC 7671/7672).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { probeEndpoint, probeUntil } from '../../src/io/probe.js';
import { computeTlsaMatch } from '../../src/core/tlsa-match.js';
import { formatTlsaRdata, type TlsaRdata } from '../../src/core/tlsa.js';
import { UnavailableError } from '../../src/errors.js';
import { requireBinaries } from '../harness/binaries.js';
import { makeCa, makeIntermediate, makeLeaf, makeSelfSignedLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { startPostfix } from '../harness/postfix.js';
import { opensslDaneVerify, opensslPresentedChain } from '../harness/tls-service-openssl.js';

const NAME = 'mx.test.example';

function certs(t: { after(fn: () => void): void }) {
  const root = makeCa('Probe Root CA');
  const inter = makeIntermediate(root, 'Probe Intermediate CA', { keyType: 'rsa' });
  const ec = makeLeaf(inter, [NAME], { keyType: 'ecdsa' });
  const rsa = makeLeaf(inter, [NAME], { keyType: 'rsa' });
  t.after(() => removeCertDir(root));
  return { root, inter, ec, rsa };
}

const sameDer = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((x, i) => x.equals(b[i]!));

test('SMTP STARTTLS and smtps: the probe sees exactly the chain openssl sees', async (t) => {
  if (!requireBinaries(t, ['postfix', 'openssl'])) return;
  const { inter, ec } = certs(t);
  const pf = await startPostfix(t, { combinedPem: readFileSync(ec.combinedPath, 'utf8') });

  const r = await probeEndpoint({ host: '127.0.0.1', port: pf.smtpPort, protocol: 'smtp', servername: NAME, timeoutMs: 5000 });
  assert.equal(r.protocol, 'smtp');
  assert.equal(r.address, '127.0.0.1');
  assert.equal(r.chain.length, 2);
  assert.ok(r.chain[0]!.equals(ec.der), 'leaf is the installed certificate');
  assert.ok(r.chain[1]!.equals(inter.der), 'then its issuer');
  const seen = await opensslPresentedChain('127.0.0.1', pf.smtpPort, 'smtp', NAME);
  assert.ok(sameDer(r.chain, seen), 'same chain as openssl s_client -starttls smtp -showcerts');

  const v6 = await probeEndpoint({ host: '::1', port: pf.smtpPort, protocol: 'smtp', timeoutMs: 5000 });
  assert.equal(v6.address, '::1');
  assert.ok(sameDer(v6.chain, seen));

  const implicit = await probeEndpoint({ host: '127.0.0.1', port: pf.smtpsPort!, protocol: 'tls', servername: NAME, timeoutMs: 5000 });
  assert.ok(sameDer(implicit.chain, await opensslPresentedChain('127.0.0.1', pf.smtpsPort!, undefined, NAME)));
  assert.ok(implicit.chain[0]!.equals(ec.der));
});

test('after installing a new certificate and reloading, probeUntil sees it within a short grace', async (t) => {
  if (!requireBinaries(t, ['postfix', 'openssl'])) return;
  const { ec, rsa } = certs(t);
  const pf = await startPostfix(t, { combinedPem: readFileSync(ec.combinedPath, 'utf8') });
  const target = { host: '127.0.0.1', port: pf.smtpPort, protocol: 'smtp' as const, timeoutMs: 5000 };
  assert.ok((await probeEndpoint(target)).chain[0]!.equals(ec.der));

  pf.installCert(readFileSync(rsa.combinedPath, 'utf8'));
  // Before the reload the service keeps serving the old certificate.
  assert.ok((await probeEndpoint(target)).chain[0]!.equals(ec.der), 'old certificate until reload');
  // And the grace can run out: a predicate that never holds is reported, not waited on forever.
  const never = await probeUntil(target, () => false, { graceMs: 200, intervalMs: 50 });
  assert.equal(never.accepted, false);
  assert.ok(never.attempts >= 2);

  await pf.reload();
  const until = await probeUntil(target, (r) => r.chain[0]!.equals(rsa.der), { graceMs: 5000, intervalMs: 25 });
  t.diagnostic(`new certificate seen after ${until.elapsedMs} ms, ${until.attempts} probe(s)`);
  assert.equal(until.accepted, true);
  assert.ok(until.result.chain[0]!.equals(rsa.der));
  const openssl = await opensslPresentedChain('127.0.0.1', pf.smtpPort, 'smtp');
  assert.ok(openssl[0]!.equals(rsa.der), 'openssl agrees the new certificate is live');
});

interface Case {
  label: string;
  records: () => TlsaRdata[];
}

function rr(usage: number, selector: 0 | 1, matchingType: 0 | 1 | 2, c: CertFiles): TlsaRdata {
  return { usage, selector, matchingType, data: opensslAssociation(c.certPath, selector, matchingType) };
}

test('computeTlsaMatch on the probed chain agrees with openssl s_client -dane_tlsa_rrdata', async (t) => {
  if (!requireBinaries(t, ['postfix', 'openssl'])) return;
  const { root, inter, ec, rsa } = certs(t);
  const pf = await startPostfix(t, { combinedPem: readFileSync(ec.combinedPath, 'utf8') });
  const probed = await probeEndpoint({ host: '127.0.0.1', port: pf.smtpPort, protocol: 'smtp', servername: NAME, timeoutMs: 5000 });

  const cases: Case[] = [
    { label: '3 1 1 of the served leaf', records: () => [rr(3, 1, 1, ec)] },
    { label: '3 0 1 of the served leaf', records: () => [rr(3, 0, 1, ec)] },
    { label: '3 1 2 of the served leaf', records: () => [rr(3, 1, 2, ec)] },
    { label: '3 1 1 of another key', records: () => [rr(3, 1, 1, rsa)] },
    { label: 'current + next (3 1 1 ×2)', records: () => [rr(3, 1, 1, rsa), rr(3, 1, 1, ec)] },
    { label: '2 1 1 of the presented intermediate', records: () => [rr(2, 1, 1, inter)] },
    { label: '2 0 1 of the presented intermediate', records: () => [rr(2, 0, 1, inter)] },
    { label: '2 1 1 of the root the server does not send', records: () => [rr(2, 1, 1, root)] },
    { label: '2 0 0 full root certificate', records: () => [rr(2, 0, 0, root)] },
    { label: '2 1 0 full root public key', records: () => [rr(2, 1, 0, root)] },
    { label: '2 1 1 of the (CA-issued) leaf', records: () => [rr(2, 1, 1, ec)] },
    { label: '3 1 1 of the intermediate', records: () => [rr(3, 1, 1, inter)] },
  ];
  for (const c of cases) {
    const records = c.records();
    const ours = computeTlsaMatch(probed.chain, records, { referenceNames: [NAME] });
    const theirs = await opensslDaneVerify('127.0.0.1', pf.smtpPort, 'smtp', NAME, records.map(formatTlsaRdata));
    t.diagnostic(`${c.label}: ours ${ours.matched} [${ours.matches.map((m) => `${m.kind}@${m.depth}`).join(',')}], openssl ${theirs.ok} (${theirs.detail})`);
    assert.equal(ours.matched, theirs.ok, `${c.label}: danehook says ${ours.matched}, openssl says ${theirs.ok}: ${theirs.detail}`);
  }
});

test('a self-signed server certificate: DANE-EE and DANE-TA of itself, decided as openssl does', async (t) => {
  if (!requireBinaries(t, ['postfix', 'openssl'])) return;
  const self = makeSelfSignedLeaf([NAME], { keyType: 'rsa' });
  t.after(() => removeCertDir(self));
  const pf = await startPostfix(t, { combinedPem: readFileSync(self.combinedPath, 'utf8') });
  const probed = await probeEndpoint({ host: '127.0.0.1', port: pf.smtpPort, protocol: 'smtp', timeoutMs: 5000 });
  assert.equal(probed.chain.length, 1, 'the walk stops at a self-signed certificate');
  assert.ok(probed.chain[0]!.equals(self.der));
  const expected: Array<[TlsaRdata, boolean]> = [
    [rr(3, 1, 1, self), true],
    [rr(3, 0, 1, self), true],
    [rr(2, 1, 1, self), false], // a DANE-TA digest never matches the leaf itself
    [rr(2, 0, 1, self), false],
    [rr(2, 0, 0, self), false], // a full certificate would only act as a missing issuer
    [rr(2, 1, 0, self), true], // a full key is checked as the leaf's signer
  ];
  for (const [record, want] of expected) {
    const label = formatTlsaRdata(record).slice(0, 5);
    const ours = computeTlsaMatch(probed.chain, [record], { referenceNames: [NAME] });
    const theirs = await opensslDaneVerify('127.0.0.1', pf.smtpPort, 'smtp', NAME, [formatTlsaRdata(record)]);
    t.diagnostic(`${label}: ours ${ours.matched}, openssl ${theirs.ok} (${theirs.detail})`);
    assert.equal(ours.matched, theirs.ok, `${label}: danehook ${ours.matched}, openssl ${theirs.detail}`);
    assert.equal(ours.matched, want, label);
  }
});

test('a postfix without TLS: STARTTLS not offered → UnavailableError (69)', async (t) => {
  if (!requireBinaries(t, ['postfix'])) return;
  const pf = await startPostfix(t, {});
  await assert.rejects(
    probeEndpoint({ host: '127.0.0.1', port: pf.smtpPort, protocol: 'smtp', timeoutMs: 5000 }),
    (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.exitCode, 69);
      assert.match(err.message, new RegExp(`^probe 127\\.0\\.0\\.1:${pf.smtpPort} \\(smtp\\): STARTTLS not offered \\(EHLO keywords: .*PIPELINING`));
      return true;
    },
  );
});
