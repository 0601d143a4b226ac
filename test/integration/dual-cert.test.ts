// RSA + ECDSA certificates for one name (postfix smtpd_tls_chain_files = ecdsa.pem, rsa.pem), two
// entries with the same domain and port and `tlsa: ["3 1 1", "2 1 1"]`, against real BIND (primary
// + secondary) and postfix: four renewals in turn, each a new key, two with a change of issuer.
// An independent monitor asks postfix for each key type and checks every record either live
// certificate needs is served by every server at every moment; openssl checks DANE per key type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { startPostfix } from '../harness/postfix.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, CLASSIC, makeWorkspace, runCli } from '../harness/cli.js';
import { opensslDaneVerify, presentedSpkiSha256, readTlsa } from '../harness/dane-check.js';
import { startOutageMonitor, type MonitorKeyType } from '../harness/outage-monitor.js';
import { reportFigures } from '../harness/figures.js';

const DOMAIN = 'mx.example.test';
const OWNER = `_25._tcp.${DOMAIN}.`;
const TTL = 2;
const spki = (c: CertFiles) => opensslAssociation(c.certPath, 1, 1);
const ee = (c: CertFiles) => `3 1 1 ${spki(c)}`;
const ta = (ca: CertFiles) => `2 1 1 ${spki(ca)}`;
// openssl s_client's own spelling: each asks postfix for one of its two certificates.
const SIGALGS: Record<MonitorKeyType, string[]> = {
  rsa: ['-sigalgs', 'RSA-PSS+SHA256:RSA+SHA256:RSA+SHA384'],
  ecdsa: ['-sigalgs', 'ECDSA+SHA256:ECDSA+SHA384'],
};

test('dual RSA + ECDSA certificates: renewals and a change of issuer never leave a record either live certificate needs missing', { timeout: 300_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
  const ws = makeWorkspace();
  const root = makeCa('Dual Root');
  t.after(() => { ws.remove(); removeCertDir(root); });
  const interA = makeIntermediate(root, 'Dual Intermediate A');
  const interB = makeIntermediate(root, 'Dual Intermediate B');
  const rsa1 = makeLeaf(interA, [DOMAIN], { keyType: 'rsa' });
  const ec1 = makeLeaf(interA, [DOMAIN], { keyType: 'ecdsa' });
  // The renewals: each a new key; rsa3 and ec3 from another intermediate (a change of issuer).
  const rsa2 = makeLeaf(interA, [DOMAIN], { keyType: 'rsa' });
  const ec2 = makeLeaf(interA, [DOMAIN], { keyType: 'ecdsa' });
  const rsa3 = makeLeaf(interB, [DOMAIN], { keyType: 'rsa' });
  const ec3 = makeLeaf(interB, [DOMAIN], { keyType: 'ecdsa' });

  // What the operator had before danehook: both certificates served, their records published.
  const bind = await startBind(t, {
    zone: 'example.test', ttl: TTL, secondary: true,
    records: [ee(rsa1), ee(ec1), ta(interA)].map((r) => `_25._tcp.mx ${TTL} IN TLSA ${r}`),
  });
  const pf = await startPostfix(t, {
    chains: [{ file: 'ecdsa.pem', pem: readFileSync(ec1.combinedPath, 'utf8') }, { file: 'rsa.pem', pem: readFileSync(rsa1.combinedPath, 'utf8') }],
    ipv6: false,
  });
  const [ecdsaPem, rsaPem] = pf.chainFiles as [string, string];
  const entry = (id: string, combined: string) => ({
    id, domains: [DOMAIN], ports: [25], tlsa: ['3 1 1', '2 1 1'], ...CLASSIC,
    install: { combined },
    reload: ['postfix', '-c', pf.configDir, 'reload'],
    probe: { protocol: 'smtp', addresses: [`127.0.0.1:${pf.smtpPort}`], grace: '5s' },
  });
  const settings = bindConfig(ws, bind, entry('mx-rsa', rsaPem), { ttl: TTL, rollover: { propagationTimeout: '60s' } });
  settings.certificates.push(entry('mx-ec', ecdsaPem));
  const config = ws.writeConfig(settings);

  // Both listeners, each asked for each key type; every combination the config publishes is required.
  const servers = [{ name: 'primary', ...bind.primary }, { name: 'secondary', ...bind.secondary! }];
  const listeners = [['smtp', pf.smtpPort, 'smtp'], ['smtps', pf.smtpsPort!, 'tls']] as const;
  const monitor = startOutageMonitor({
    servers,
    endpoints: listeners.flatMap(([name, port, mode]) => (['rsa', 'ecdsa'] as const).map((keyType) => ({
      name: `${name}/${keyType}`, host: '127.0.0.1', port, mode, owner: OWNER, servername: DOMAIN, keyType,
    }))),
    ttlSeconds: TTL,
    parameters: 'each',
    required: ['3 1 1', '2 1 1'],
  });
  await monitor.waitSamples(3);
  assert.equal(monitor.report().violations, 0, `violations before any renewal:\n${monitor.report().details.join('\n')}`);

  const renewals: [string, CertFiles, string][] = [
    ['mx-rsa', rsa2, 'new RSA key'],
    ['mx-ec', ec2, 'new ECDSA key'],
    ['mx-rsa', rsa3, 'new RSA key from intermediate B'],
    ['mx-ec', ec3, 'new ECDSA key from intermediate B'],
  ];
  const logs: string[] = [];
  let failure: unknown;
  try {
    for (const [id, cert, what] of renewals) {
      const d = await runCli(['deploy', '-c', config, '--id', id, '--pem', cert.combinedPath, '--wait'], { timeoutMs: 120_000 });
      logs.push(`--- ${id}: ${what}\n${d.stderr}`);
      assert.equal(d.code, 0, `${id} (${what}): exit ${d.code}\n${d.stderr}`);
      await monitor.waitSamples(3);
      t.diagnostic(`${id} ${what}: done; violations so far ${monitor.report().violations}`);
    }
  } catch (err) {
    failure = err; // reported after the monitor's figures
  }
  const report = await monitor.stop();
  reportFigures(`dual-cert: renewals=${renewals.length} samples=${report.samples} violations=${report.violations} missing=${report.missing} probeErrors=${report.probeErrors} dnsErrors=${report.dnsErrors}`);
  if (report.violations > 0) t.diagnostic(`monitor details:\n${report.details.join('\n')}\n${logs.join('\n')}`);
  if (failure) throw failure;
  assert.equal(report.violations, 0, `records a live certificate needs went missing:\n${report.details.slice(0, 10).join('\n')}`);
  assert.equal(report.missing, 0);
  // Each key type's certificates, every generation, were seen presented (per key type probing worked).
  for (const c of [rsa1, rsa2, rsa3, ec1, ec2, ec3]) assert.ok(report.presentedSeen.includes(spki(c)), `monitor saw ${c.name}`);
  // Reloads may cost a sample or two; anything more means the key-type probes failed.
  assert.ok(report.probeErrors <= report.samples * 0.05, `probe errors ${report.probeErrors} in ${report.samples} samples`);

  // danehook's probe saw each key type: every activation probed offering its entry's type only.
  const events = readFileSync(join(ws.stateDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const activated = events.filter((e) => e.phase === 'activated');
  assert.deepEqual(activated.map((e) => [e.id, e.probed?.keyType, e.probed?.endpoints]), [['mx-rsa', 'rsa', 1], ['mx-ec', 'ecdsa', 1], ['mx-rsa', 'rsa', 1], ['mx-ec', 'ecdsa', 1]]);
  const stderr = logs.join('\n');
  assert.match(stderr, /"mx-rsa": 1 endpoint\(s\) present the new RSA certificate \(probed offering RSA only\)/);
  assert.match(stderr, /"mx-ec": 1 endpoint\(s\) present the new ECDSA certificate \(probed offering ECDSA only\)/);

  // The end state: exactly the records of the two live certificates and their one issuer.
  await bind.waitForSecondarySync();
  const want = [ee(rsa3), ee(ec3), ta(interB)].sort();
  assert.deepEqual(await readTlsa(bind.primary, OWNER), want);
  assert.deepEqual(await readTlsa(bind.secondary!, OWNER), want);
  // openssl, per key type: the right certificate, DANE verifies with the RRset and with each
  // combination on its own (RFC 7671 §8.1).
  const rrset = await readTlsa(bind.secondary!, OWNER);
  for (const [keyType, live] of [['rsa', rsa3], ['ecdsa', ec3]] as const) {
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort, SIGALGS[keyType]), spki(live), `${keyType}: postfix presents ${live.name}`);
    for (const subset of [rrset, rrset.filter((r) => r.startsWith('3 ')), rrset.filter((r) => r.startsWith('2 '))]) {
      const v = await opensslDaneVerify('127.0.0.1', pf.smtpPort, DOMAIN, subset, SIGALGS[keyType]);
      assert.ok(v.ok, `${keyType} with {${subset.join(', ')}}:\n${v.output}`);
    }
  }
});
