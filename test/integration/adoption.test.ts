// Adoption: postfix already serves certificate X from a file danehook does not install to, and the
// name has no TLSA yet. danehook must learn X (probe, or the operator saying so) before publishing
// anything, publish X's records beside the new Y's, and refuse (78, nothing written) when it cannot.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries, binaryPath } from '../harness/binaries.js';
import { startBind, type BindHandle } from '../harness/bind.js';
import { startPostfix, type PostfixInstance } from '../harness/postfix.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';
import { presentedSpkiSha256, readTlsa } from '../harness/dane-check.js';
import { nsupdate } from '../harness/dns.js';
import { startOutageMonitor } from '../harness/outage-monitor.js';
import { listFilesUnder } from '../harness/tempdir.js';
import { entryStatus, postDeployUntil, sleep } from '../harness/steps.js';
import { reportFigures } from '../harness/figures.js';

const TTL = 2;
const DOMAIN = 'mx.example.test';
// preset: postfix → ports 25, 465, 587
const OWNERS = [25, 465, 587].map((p) => `_${p}._tcp.${DOMAIN}.`);
const BINARIES = ['named', 'dig', 'nsupdate', 'postfix', 'postconf', 'openssl'];
const tlsa = (c: CertFiles) => `3 1 1 ${opensslAssociation(c.certPath, 1, 1)}`;

interface Rig { bind: BindHandle; ws: Workspace; pf: PostfixInstance; x: CertFiles; y: CertFiles; install: string; write(entry: Record<string, unknown>): string }

async function startRig(t: TestContext): Promise<Rig> {
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Adoption Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const inter = makeIntermediate(ca, 'Adoption Intermediate');
  const [x, y] = [makeLeaf(inter, [DOMAIN]), makeLeaf(inter, [DOMAIN])];
  // postfix reads X from its own chain file; danehook's install file does not exist yet.
  const pf = await startPostfix(t, { combinedPem: readFileSync(x.combinedPath, 'utf8'), ipv6: false });
  const install = join(ws.dir, 'danehook-mx.pem');
  // Adoption done by the operator's reload: point postfix at danehook's file, then reload.
  const reload = ['sh', '-c', `${binaryPath('postconf')} -c ${pf.configDir} -e smtpd_tls_chain_files=${install} && postfix -c ${pf.configDir} reload`];
  const write = (entry: Record<string, unknown>) =>
    ws.writeConfig(bindConfig(ws, bind, { ports: undefined, preset: 'postfix', install: { combined: install }, reload, ...entry }, { ttl: TTL, rollover: { propagationTimeout: '60s' } }));
  return { bind, ws, pf, x, y, install, write };
}

const smtpProbe = (pf: PostfixInstance) => ({ protocol: 'smtp', addresses: [`127.0.0.1:${pf.smtpPort}`], grace: '5s' });

async function servedEverywhere(bind: BindHandle): Promise<Record<string, string[]>> {
  assert.ok(await bind.waitForSecondarySync(), 'secondary caught up');
  const out: Record<string, string[]> = {};
  for (const owner of OWNERS) {
    out[`primary ${owner}`] = await readTlsa(bind.primary, owner);
    out[`secondary ${owner}`] = await readTlsa(bind.secondary!, owner);
  }
  return out;
}
const expectEverywhere = (records: string[]) =>
  Object.fromEntries(OWNERS.flatMap((o) => [[`primary ${o}`, [...records].sort()], [`secondary ${o}`, [...records].sort()]]));

/** Nothing written: no TLSA anywhere, the same SOA serial, no rollover, no staged files, no install. */
async function assertNothingWritten(rig: Rig, config: string, serial: number, preexisting: Record<string, string[]>): Promise<void> {
  assert.equal(await rig.bind.serial(), serial, 'no DNS write (SOA serial unchanged)');
  assert.deepEqual(await servedEverywhere(rig.bind), preexisting, 'TLSA RRsets unchanged');
  assert.deepEqual((await entryStatus(config)).rollovers, [], 'the state has no rollover');
  assert.deepEqual(listFilesUnder(join(rig.ws.stateDir, 'staged')), [], 'nothing staged');
  assert.ok(!existsSync(rig.install), 'nothing installed');
}

test('adoption with probing: X (probed) published beside Y; no DANE violation through the full rollover', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const rig = await startRig(t);
  const { bind, pf, x, y } = rig;
  const config = rig.write({ probe: smtpProbe(pf) });
  assert.deepEqual(await servedEverywhere(bind), expectEverywhere([]), 'no TLSA before');
  const monitor = startOutageMonitor({
    servers: [{ name: 'primary', ...bind.primary }, { name: 'secondary', ...bind.secondary! }],
    endpoints: [
      { name: 'smtp+starttls', host: pf.host, port: pf.smtpPort, mode: 'smtp', owner: OWNERS[0]!, servername: DOMAIN },
      { name: 'smtps', host: pf.host, port: pf.smtpsPort!, mode: 'tls', owner: OWNERS[1]!, servername: DOMAIN },
    ],
    ttlSeconds: TTL,
  });
  let phases: string[] = [];
  let rep;
  try {
    await monitor.waitSamples(3);
    const d = await runCli(['deploy', '-c', config, '--pem', y.combinedPath]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(await servedEverywhere(bind), expectEverywhere([tlsa(x), tlsa(y)]), "X's records beside Y's on every owner and server");
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), opensslAssociation(x.certPath, 1, 1), 'postfix still presents X');
    phases = await postDeployUntil(config, 'cleaned');
    // Keep watching for a TTL after cleanup: an {X, Y} answer may still be cached.
    await sleep(TTL * 1000 + 500);
    await monitor.waitSamples(3);
  } finally {
    rep = await monitor.stop();
    reportFigures(`adoption: samples=${rep.samples} violations=${rep.violations} probeErrors=${rep.probeErrors} dnsErrors=${rep.dnsErrors} phases=${phases.join('>')}`);
  }
  assert.equal(rep.violations, 0, rep.details.join('\n'));
  assert.deepEqual(rep.presentedSeen, [x, y].map((c) => opensslAssociation(c.certPath, 1, 1)), 'the monitor saw X, then Y');
  assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), opensslAssociation(y.certPath, 1, 1), 'postfix presents Y');
  assert.deepEqual(await servedEverywhere(bind), expectEverywhere([tlsa(y)]), "only Y's records remain");
});

test('adoption without probing: 78 and nothing written until the live certificate is stated (--live-cert)', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const rig = await startRig(t);
  const { bind, x, y } = rig;
  const config = rig.write({ probe: { protocol: 'none' } });
  const serial = await bind.serial();
  const d = await runCli(['deploy', '-c', config, '--pem', y.combinedPath]);
  assert.equal(d.code, 78, `deploy exited ${d.code}:\n${d.stderr}`);
  // Says what to configure: the live certificate (live: / --live-cert) or a probe.
  assert.match(d.stderr, /live-cert|\blive\b|probe/);
  await assertNothingWritten(rig, config, serial, expectEverywhere([]));

  const stated = await runCli(['deploy', '-c', config, '--pem', y.combinedPath, '--live-cert', x.fullchainPath]);
  assert.equal(stated.code, 0, stated.stderr);
  assert.deepEqual(await servedEverywhere(bind), expectEverywhere([tlsa(x), tlsa(y)]), "X's records beside Y's");
  assert.equal((await entryStatus(config)).live?.spki, opensslAssociation(x.certPath, 1, 1), 'X recorded as live');
});

test('adoption without probing: entry key live: FILE publishes X beside Y', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const rig = await startRig(t);
  const config = rig.write({ probe: { protocol: 'none' }, live: rig.x.fullchainPath });
  const d = await runCli(['deploy', '-c', config, '--pem', rig.y.combinedPath]);
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual(await servedEverywhere(rig.bind), expectEverywhere([tlsa(rig.x), tlsa(rig.y)]), "X's records beside Y's");
});

test('every endpoint refuses: 78 and nothing written where a TLSA RRset exists; publish where none does', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const rig = await startRig(t);
  const { bind, pf, x, y } = rig;
  await pf.stop(); // the service is down: every probe is refused
  const config = rig.write({ probe: smtpProbe(pf) });

  // 1. Someone published X's record by hand at _25: what is served is unknown, and that RRset may be cached.
  const r = await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update add ${OWNERS[0]} ${TTL} TLSA ${tlsa(x)}`]);
  assert.equal(r.code, 0, r.stderr);
  const before = await servedEverywhere(bind);
  assert.deepEqual(before[`secondary ${OWNERS[0]}`], [tlsa(x)]);
  const serial = await bind.serial();
  const d = await runCli(['deploy', '-c', config, '--pem', y.combinedPath]);
  assert.equal(d.code, 78, `deploy exited ${d.code}:\n${d.stderr}`);
  await assertNothingWritten(rig, config, serial, before);

  // 2. No RRset at all: nothing served could be contradicted, so Y's records go out alone.
  const del = await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update delete ${OWNERS[0]} TLSA`]);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(await servedEverywhere(bind), expectEverywhere([]));
  const p = await runCli(['deploy', '-c', config, '--pem', y.combinedPath]);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(await servedEverywhere(bind), expectEverywhere([tlsa(y)]), "only Y's records (nothing is served to protect)");
});
