// How probes fail — refused, timeout, IPv6, SMTP dialect errors — each an UnavailableError (69)
// naming host:port; probeAll order and bounded concurrency. The silent and scripted SMTP servers
// are node stubs (tls-service.ts, tls-service-stub.ts): no Debian server misbehaves on demand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultProbeProtocol, probeAll, probeEndpoint, probeUntil } from '../../src/io/probe.js';
import { formatHostPort } from '../../src/io/host-port.js';
import { UnavailableError } from '../../src/errors.js';
import { requireBinaries } from '../harness/binaries.js';
import { makeCa, makeLeaf, removeCertDir } from '../harness/certs.js';
import { startPostfix } from '../harness/postfix.js';
import { closedPort, startSilentServer } from '../harness/tls-service.js';
import { startSmtpStub } from '../harness/tls-service-stub.js';

function unavailable(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UnavailableError, `not an UnavailableError: ${String(err)}`);
    assert.equal(err.exitCode, 69);
    assert.match(err.message, pattern);
    return true;
  };
}

test('defaultProbeProtocol and formatHostPort', () => {
  assert.deepEqual([25, 587, 143, 110, 465, 993, 995, 443, 8443].map(defaultProbeProtocol), ['smtp', 'smtp', 'imap', 'pop3', 'tls', 'tls', 'tls', 'tls', 'tls']);
  assert.equal(formatHostPort({ host: '192.0.2.1', port: 25 }), '192.0.2.1:25');
  assert.equal(formatHostPort({ host: '2001:db8::1', port: 25 }), '[2001:db8::1]:25');
  assert.equal(formatHostPort({ host: 'mx.example.com', port: 465 }), 'mx.example.com:465');
});

test('a refused port is UnavailableError (69) naming host:port', async () => {
  const port = await closedPort();
  for (const protocol of ['smtp', 'tls'] as const) {
    await assert.rejects(probeEndpoint({ host: '127.0.0.1', port, protocol, timeoutMs: 3000 }), unavailable(new RegExp(`^probe 127\\.0\\.0\\.1:${port} \\(${protocol}\\): connection refused`)));
  }
  const v6 = await closedPort('::1');
  await assert.rejects(probeEndpoint({ host: '::1', port: v6, protocol: 'smtp', timeoutMs: 3000 }), unavailable(new RegExp(`^probe \\[::1\\]:${v6} \\(smtp\\): connection refused`)));
});

test('a server that never answers times out with the stage it stuck in', async (t) => {
  const silent = await startSilentServer(t);
  const cases = [
    ['smtp', /\(smtp\): timed out after 300 ms waiting for the SMTP greeting$/],
    ['imap', /\(imap\): timed out after 300 ms waiting for the IMAP greeting$/],
    ['pop3', /\(pop3\): timed out after 300 ms waiting for the POP3 greeting$/],
    ['tls', /\(tls\): timed out after 300 ms during the TLS handshake$/],
  ] as const;
  for (const [protocol, pattern] of cases) {
    const started = Date.now();
    await assert.rejects(probeEndpoint({ host: silent.host, port: silent.port, protocol, timeoutMs: 300 }), unavailable(pattern));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 1500, `${protocol}: gave up after ${elapsed} ms`);
  }
  assert.equal(silent.accepted, cases.length);
  // Every probe closed its socket: nothing stays connected to the silent server.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(silent.open, 0);
});

test('probeAll: outcomes in input order, failures as values, concurrency bounded', async (t) => {
  if (!requireBinaries(t, ['postfix', 'openssl'])) return;
  const ca = makeCa('ProbeAll CA');
  t.after(() => removeCertDir(ca));
  const leaf = makeLeaf(ca, ['mx.test.example']);
  const pf = await startPostfix(t, { combinedPem: readFileSync(leaf.combinedPath, 'utf8') });
  const silent = await startSilentServer(t);
  const refused = await closedPort();
  const targets = [
    { host: '127.0.0.1', port: pf.smtpPort, protocol: 'smtp' as const, timeoutMs: 5000 },
    { host: silent.host, port: silent.port, protocol: 'smtp' as const, timeoutMs: 400 },
    { host: '::1', port: pf.smtpPort, protocol: 'smtp' as const, timeoutMs: 5000 },
    { host: silent.host, port: silent.port, protocol: 'tls' as const, timeoutMs: 400 },
    { host: '127.0.0.1', port: refused, protocol: 'smtp' as const, timeoutMs: 5000 },
    { host: silent.host, port: silent.port, protocol: 'imap' as const, timeoutMs: 400 },
    { host: '127.0.0.1', port: pf.smtpsPort!, protocol: 'tls' as const, timeoutMs: 5000 },
  ];
  const started = Date.now();
  const outcomes = await probeAll(targets, { concurrency: 2 });
  const elapsed = Date.now() - started;
  assert.deepEqual(outcomes.map((o) => o.ok), [true, false, true, false, false, false, true]);
  assert.deepEqual(outcomes.map((o) => o.target), targets);
  for (const o of outcomes) {
    if (o.ok) assert.ok(o.result.chain[0]!.equals(leaf.der));
    else assert.equal(o.error.exitCode, 69);
  }
  assert.match((outcomes[4] as { error: Error }).error.message, /connection refused/);
  // Three 400 ms timeouts with two workers cannot all overlap, and never more than two at once.
  assert.ok(silent.maxConcurrent <= 2, `silent server saw ${silent.maxConcurrent} at once`);
  assert.ok(elapsed >= 750, `finished in ${elapsed} ms`);
  // Unbounded, the three silent probes overlap.
  const silentOnly = [targets[1]!, targets[3]!, targets[5]!];
  const t0 = Date.now();
  assert.deepEqual(await probeAll([], { concurrency: 8 }), []);
  await probeAll(silentOnly, { concurrency: 8 });
  assert.ok(Date.now() - t0 < 750);
  assert.ok(silent.maxConcurrent >= 3, `unbounded: ${silent.maxConcurrent} at once`);
});

test('probeUntil rethrows when the service is down for the whole grace', async () => {
  const port = await closedPort();
  const started = Date.now();
  await assert.rejects(probeUntil({ host: '127.0.0.1', port, protocol: 'smtp', timeoutMs: 1000 }, () => true, { graceMs: 300, intervalMs: 50 }), unavailable(/connection refused/));
  assert.ok(Date.now() - started >= 250);
});

test('a port that is not a port is UnavailableError, not a crash', async () => {
  await assert.rejects(probeEndpoint({ host: '127.0.0.1', port: 70000, protocol: 'tls' }), unavailable(/invalid port/));
});

test('SMTP dialect edge cases against a scripted stub (multi-line greeting, refusals, injection)', async (t) => {
  if (!requireBinaries(t, ['openssl'])) return;
  const ca = makeCa('Stub CA');
  t.after(() => removeCertDir(ca));
  const leaf = makeLeaf(ca, ['stub.test.example']);
  const tlsFiles = { key: readFileSync(leaf.keyPath, 'utf8'), cert: readFileSync(leaf.fullchainPath, 'utf8') };
  const ehlo = '250-stub.test.example\r\n250-PIPELINING\r\n250-starttls\r\n250 8BITMIME\r\n';
  const probe = async (script: { greeting: string; ehlo?: string; starttls?: string; inject?: string }) => {
    const stub = await startSmtpStub(t, { ehlo, starttls: '220 2.0.0 go ahead\r\n', ...tlsFiles, ...script });
    return probeEndpoint({ host: stub.host, port: stub.port, protocol: 'smtp', timeoutMs: 3000 });
  };
  // RFC 5321 §4.2.1 multi-line greeting; keywords are case-insensitive.
  const ok = await probe({ greeting: '220-stub.test.example ESMTP\r\n220-second line\r\n220 last line\r\n' });
  assert.ok(ok.chain[0]!.equals(leaf.der));
  await assert.rejects(probe({ greeting: '554 5.3.2 no service for you\r\n' }), unavailable(/\(smtp\): SMTP greeting is not 220: 554 5\.3\.2 no service for you$/));
  await assert.rejects(probe({ greeting: '220 ok\r\n', starttls: '454 4.7.0 TLS not available\r\n' }), unavailable(/STARTTLS refused: 454 4\.7\.0 TLS not available$/));
  await assert.rejects(probe({ greeting: '220 ok\r\n', ehlo: '250-stub\r\n251 changed code\r\n' }), unavailable(/code changed within a multi-line reply/));
  await assert.rejects(probe({ greeting: 'hello\r\n' }), unavailable(/malformed SMTP reply line: hello$/));
  // RFC 3207 §6: plaintext after the go-ahead must not reach the TLS session (CVE-2011-0411).
  await assert.rejects(probe({ greeting: '220 ok\r\n', inject: '250 injected\r\n' }), unavailable(/unexpected data after the STARTTLS go-ahead/));
});
