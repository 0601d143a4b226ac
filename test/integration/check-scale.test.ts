// `danehook check` at size (issue 13, "Done when"): 50 entries × 3 ports (150 TLSA owners) on an
// inline-signed zone served by two real BIND servers, a validating Unbound, and every endpoint
// probed (one openssl s_server presenting a certificate that covers all 50 names) — in under 5 s.
// The state is made by danehook deploys, as in production.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { CHECK_RIG_BINARIES } from '../harness/check-rig.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';
import { dig, tlsaOf } from '../harness/dns.js';
import { startDnssecRig } from '../harness/dnssec-rig.js';
import { reportFigures } from '../harness/figures.js';
import { readStatus, sleep } from '../harness/steps.js';
import { startOpensslServer } from '../harness/tls-service-sserver.js';

const ENTRIES = 50;
const PORTS = [25, 465, 587];
const LIMIT_MS = 5000;

test(`check of ${ENTRIES} entries × ${PORTS.length} ports against two servers: exit 0 in under ${LIMIT_MS / 1000} s`, { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, CHECK_RIG_BINARIES)) return;
  const rig = await startDnssecRig(t, { signaturesValidity: 30 * 86_400 });
  const ws = makeWorkspace();
  const ca = makeCa('Scale Root', { days: 365 });
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const names = Array.from({ length: ENTRIES }, (_, i) => `mx${i + 1}.example.test`);
  const leaf = makeLeaf(makeIntermediate(ca, 'Scale Intermediate', { days: 365 }), names, { days: 90 });
  const service = await startOpensslServer(t, { certs: [leaf] });
  const base = bindConfig(ws, rig.child, {}, { ttl: 60, rollover: { propagationTimeout: '60s', cleanupDelay: '0s' } });
  const entries = names.map((name, i) => ({
    id: `mx${i + 1}`, domains: [name], ports: PORTS, live: 'none', nextKey: { mode: 'off' },
    probe: { protocol: 'tls', addresses: [`${service.host}:${service.port}`], timeout: '3s', grace: '1s' },
  }));
  const config = ws.writeConfig({ ...base, certificates: entries, dnssec: { resolver: `${rig.resolver.host}:${rig.resolver.port}` } });

  // State: one deploy per entry (each publishes 3 records and activates once both servers serve them).
  const setupStarted = Date.now();
  const queue = [...entries];
  await Promise.all(Array.from({ length: 6 }, async () => {
    for (let e = queue.shift(); e; e = queue.shift()) {
      const d = await runCli(['deploy', '-c', config, '--id', e.id, '--pem', leaf.combinedPath], { timeoutMs: 120_000 });
      assert.equal(d.code, 0, `deploy ${e.id}: ${d.stderr}`);
    }
  }));
  for (let i = 0; ; i++) {
    const status = await readStatus(config);
    const live = status.certificates.filter((c) => c.live?.spki === opensslAssociation(leaf.certPath, 1, 1)).length;
    if (live === ENTRIES) break;
    assert.ok(i < 30, `only ${live} of ${ENTRIES} entries live after ${i} post-deploy runs`);
    const p = await runCli(['post-deploy', '-c', config], { timeoutMs: 120_000 });
    assert.equal(p.code, 0, p.stderr);
    await sleep(200);
  }
  const want = `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`;
  for (const s of rig.servers) {
    for (const owner of [`_25._tcp.${names[0]}.`, `_587._tcp.${names.at(-1)}.`]) assert.deepEqual(tlsaOf(await dig(s, owner, 'TLSA')), [want], `${owner} at ${s.port}`);
  }
  const setupMs = Date.now() - setupStarted;

  // The measurement: the whole CLI process, as a timer runs it (node start included).
  const prom = join(ws.dir, 'danehook.prom');
  const timings: number[] = [];
  let last;
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    last = await runCli(['check', '-c', config, '--json', '--prometheus', prom], { timeoutMs: 60_000 });
    timings.push(Date.now() - started);
    assert.equal(last.code, 0, `exit ${last.code}\n${last.stdout.slice(0, 4000)}\n${last.stderr}`);
  }
  const nodeStarted = Date.now();
  await runCli(['--version']);
  const nodeMs = Date.now() - nodeStarted;
  const json = JSON.parse(last!.stdout) as { findings: { check: string; severity: string; endpoint?: string }[]; summary: Record<string, number | string> };
  const endpointFindings = json.findings.filter((f) => f.check === 'endpoint');
  const rrsetFindings = json.findings.filter((f) => f.check === 'rrset');
  writeFileSync(join(ws.dir, 'last-check.json'), last!.stdout);
  reportFigures(`check-scale: ${ENTRIES} entries × ${PORTS.length} ports × 2 servers: check ${timings.join('/')} ms (limit ${LIMIT_MS}), danehook --version ${nodeMs} ms, setup ${setupMs} ms, findings ${json.findings.length} (endpoint ${endpointFindings.length}, rrset ${rrsetFindings.length})`);
  assert.equal(endpointFindings.length, ENTRIES * PORTS.length * 2, 'every endpoint judged against each of the two servers');
  assert.ok(json.findings.every((f) => f.severity === 'OK'), 'all OK');
  assert.ok(Math.min(...timings) < LIMIT_MS, `check took ${timings.join('/')} ms`);
  assert.ok(Math.max(...timings) < LIMIT_MS, `check took ${timings.join('/')} ms`);
});
