// A full rollover through the CLI with `dns.provider: powerdns` (HTTP API) against real PowerDNS
// 4.7 primary + secondary (NOTIFY/AXFR) and real postfix, under the independent outage monitor;
// another API client adds a record to the same RRset mid-rollover. First a deploy with a wrong
// API key (77, nothing written) and pre-deploy's API check. DNS is read with dig at both servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startPowerDns, type PowerDnsHandle } from '../harness/pdns.js';
import { startPostfix } from '../harness/postfix.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, postfixEntry, runCli } from '../harness/cli.js';
import { presentedSpkiSha256, readTlsa } from '../harness/dane-check.js';
import { startOutageMonitor } from '../harness/outage-monitor.js';
import { reportFigures } from '../harness/figures.js';
import { waitFor } from '../harness/process.js';
import { entryStatus } from '../harness/steps.js';

const TTL = 2;
const DOMAIN = 'mx.example.test';
const OWNER = `_25._tcp.${DOMAIN}.`;
const spki = (c: CertFiles) => opensslAssociation(c.certPath, 1, 1);
const ee = (c: CertFiles) => `3 1 1 ${spki(c)}`;
// Another tool's pin in the same RRset (e.g. a standby key): danehook must never remove it.
const OTHER = `3 1 1 ${'5a'.repeat(32)}`;

/** Another API client: read the RRset, REPLACE it with one more record (what such tools do). */
async function otherWriterAdds(dns: PowerDnsHandle, content: string): Promise<void> {
  const base = `${dns.api!.url}/api/v1/servers/localhost/zones/example.test.`;
  const headers = { 'X-API-Key': dns.api!.key };
  const zone = (await (await fetch(`${base}?rrset_name=${OWNER}&rrset_type=TLSA`, { headers })).json()) as { rrsets: { ttl: number; records: { content: string }[] }[] };
  const current = zone.rrsets[0]!;
  const records = [...current.records.map((r) => r.content), content].map((c) => ({ content: c, disabled: false }));
  const res = await fetch(base, { method: 'PATCH', headers, body: JSON.stringify({ rrsets: [{ name: OWNER, type: 'TLSA', ttl: current.ttl, changetype: 'REPLACE', records }] }) });
  assert.equal(res.status, 204, await res.text());
}

async function servedBoth(dns: PowerDnsHandle): Promise<{ primary: string[]; secondary: string[] }> {
  return { primary: await readTlsa(dns.primary, OWNER), secondary: await readTlsa(dns.secondary!, OWNER) };
}

test('full rollover with provider powerdns (HTTP API), PowerDNS secondary, outage monitor; wrong key 77', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['pdns_server', 'pdnsutil', 'pdns_control', 'sqlite3', 'dig', 'postfix', 'openssl'])) return;
  const ws = makeWorkspace();
  const ca = makeCa('PowerDNS API Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const [a, b] = [makeLeaf(ca, [DOMAIN]), makeLeaf(ca, [DOMAIN])] as [CertFiles, CertFiles];
  // What the operator had: A served by postfix, A's record published.
  const dns = await startPowerDns(t, { zone: 'example.test', ttl: TTL, secondary: true, api: true, records: [`_25._tcp.mx ${TTL} IN TLSA ${ee(a)}`] });
  const pf = await startPostfix(t, { combinedPem: readFileSync(a.combinedPath, 'utf8'), ipv6: false });
  const entry = { ...postfixEntry(pf), live: pf.chainFile };
  const settings = (apiKeyFile?: string) => bindConfig(ws, dns, entry, { ttl: TTL, provider: 'powerdns', apiKeyFile, rollover: { propagationTimeout: '30s' } });
  const config = ws.writeConfig(settings());
  assert.deepEqual(await servedBoth(dns), { primary: [ee(a)], secondary: [ee(a)] });

  const monitor = startOutageMonitor({
    servers: [{ name: 'primary', ...dns.primary }, { name: 'secondary', ...dns.secondary! }],
    endpoints: [{ name: 'smtp', host: '127.0.0.1', port: pf.smtpPort, mode: 'smtp', owner: OWNER, servername: DOMAIN }],
    ttlSeconds: TTL,
  });
  let failure: unknown;
  const logs: string[] = [];
  try {
    await monitor.waitSamples(3);

    // pre-deploy: the API check (a GET of the zone with the key), both servers answer.
    const pre = await runCli(['pre-deploy', '-c', config]);
    logs.push(pre.stderr);
    assert.equal(pre.code, 0, pre.stderr);
    assert.match(pre.stderr, /ok: PowerDNS API http:\/\/127\.0\.0\.1:\d+ \(server localhost\) may write zone example\.test\./);
    assert.doesNotMatch(pre.stderr, /SOA-EDIT-API/, 'the harness zone has SOA-EDIT-API DEFAULT');
    assert.ok(!pre.stderr.includes(dns.api!.key), 'the key is never logged');

    // A wrong API key: 77, nothing written to DNS, A still in service; the renewal stays staged
    // in the state for the timer to retry (as for every DNS failure; faulty-dns.test.ts).
    const wrongKey = join(ws.dir, 'wrong-api.key');
    writeFileSync(wrongKey, 'not-the-api-key\n', { mode: 0o600 });
    const badConfig = join(ws.dir, 'bad.json');
    writeFileSync(badConfig, JSON.stringify(settings(wrongKey)));
    const serial = await dns.serial();
    const zoneBefore = await dns.pdnsutil('primary', ['list-zone', 'example.test']);
    const badPre = await runCli(['pre-deploy', '-c', badConfig]);
    assert.equal(badPre.code, 77, badPre.stderr);
    const bad = await runCli(['deploy', '-c', badConfig, '--pem', b.combinedPath]);
    logs.push(bad.stderr);
    assert.equal(bad.code, 77, bad.stderr);
    assert.match(bad.stderr, /refused the API key: HTTP 401/);
    assert.ok(!bad.stderr.includes('not-the-api-key') && !bad.stdout.includes('not-the-api-key'), 'the key is never logged');
    assert.equal(await dns.serial(), serial, 'SOA serial unchanged');
    assert.equal(await dns.pdnsutil('primary', ['list-zone', 'example.test']), zoneBefore, 'zone unchanged (pdnsutil list-zone)');
    assert.deepEqual(await servedBoth(dns), { primary: [ee(a)], secondary: [ee(a)] });
    const staged = (await entryStatus(config)).rollovers;
    assert.deepEqual(staged.map((r: any) => [r.phase, r.publishedAt]), [['staged', null]], 'staged, never published');
    assert.match(staged[0]?.lastError ?? '', /refused the API key: HTTP 401/);
    for (const bytes of Object.values(ws.snapshotState())) {
      const text = Buffer.from(bytes.split(' ')[1]!, 'base64').toString('latin1');
      assert.ok(!text.includes('not-the-api-key') && !text.includes(dns.api!.key), 'no API key in the state');
    }
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), spki(a), 'A still in service');

    // The key fixed, the timer's run publishes B beside A through one PATCH.
    const d = await runCli(['post-deploy', '-c', config]);
    logs.push(d.stderr);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(await readTlsa(dns.primary, OWNER), [ee(a), ee(b)].sort(), 'live and new side by side');

    // Another API client adds its record to the same RRset after publish, before cleanup.
    await otherWriterAdds(dns, OTHER);
    assert.deepEqual(await readTlsa(dns.primary, OWNER), [ee(a), ee(b), OTHER].sort());

    const started = Date.now();
    const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
    logs.push(w.stderr);
    assert.equal(w.code, 0, w.stderr);
    reportFigures(`powerdns-api rollover: post-deploy --wait ${((Date.now() - started) / 1000).toFixed(1)}s (TTL ${TTL}s)`);
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), spki(b), 'B in service');
    await monitor.waitSamples(3);
  } catch (err) {
    failure = err;
  }
  const report = await monitor.stop();
  reportFigures(`powerdns-api rollover: samples=${report.samples} violations=${report.violations} probeErrors=${report.probeErrors} dnsErrors=${report.dnsErrors}`);
  if (failure) {
    t.diagnostic(logs.join('\n---\n'));
    throw failure;
  }
  assert.equal(report.violations, 0, `DANE violations:\n${report.details.slice(0, 10).join('\n')}`);
  assert.ok(report.presentedSeen.includes(spki(a)) && report.presentedSeen.includes(spki(b)), 'the monitor saw A and then B');

  // The end state on BOTH servers: B's record and the other writer's, nothing else.
  const want = [ee(b), OTHER].sort();
  assert.ok(await waitFor(async () => JSON.stringify(await servedBoth(dns)) === JSON.stringify({ primary: want, secondary: want }), 10_000, 100), `served: ${JSON.stringify(await servedBoth(dns))}`);
  assert.match(await dns.pdnsutil('primary', ['list-zone', 'example.test']), new RegExp(`_25\\._tcp\\.mx\\.example\\.test\\s+${TTL}\\s+IN\\s+TLSA\\s+3 1 1 ${'5a'.repeat(32)}`));
});
