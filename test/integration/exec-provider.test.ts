// `dns.provider: exec` with the shipped nsupdate adapter (examples/providers/) against real BIND
// (primary + secondary) and postfix, under the outage monitor: a full rollover, then adapters that
// hang, crash or print garbage — each `deploy` exits 69/76 within the timeout, changes no DNS and
// leaves the renewal staged, as does an adapter holding a wrong TSIG key (77) — and, with the
// good adapter back, the timer's `post-deploy` runs complete it. A record another writer adds to
// the RRset mid-rollover survives both cleanups. DNS is read back with dig at both servers; the served certificate with openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { dig, nsupdate } from '../harness/dns.js';
import { createExecProvider } from '../../src/providers/exec/index.js';
import { startPostfix } from '../harness/postfix.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, nsupdateAdapterSection, postfixEntry, runCli, type ExecSection } from '../harness/cli.js';
import { presentedSpkiSha256, readTlsa } from '../harness/dane-check.js';
import { startPostfixOutageMonitor } from '../harness/outage-monitor.js';
import { entryStatus, postDeployUntil } from '../harness/steps.js';
import { reportFigures } from '../harness/figures.js';
import { isPidGone } from '../harness/process.js';

const TTL = 2;
const DOMAIN = 'mx.example.test';
const OWNER = `_25._tcp.${DOMAIN}.`;
const EXEC_TIMEOUT_MS = 2000;
const GRACE_MS = 2000; // the provider's SIGTERM → SIGKILL grace
const spki = (c: CertFiles) => opensslAssociation(c.certPath, 1, 1);
const tlsa = (c: CertFiles) => `3 1 1 ${spki(c)}`;

test('exec provider + nsupdate adapter: full rollover without violation; hanging/crashing/garbage adapters exit 69/76, write nothing, leave the renewal staged for the timer', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'nsupdate', 'postfix', 'openssl'])) return;
  const ws = makeWorkspace();
  const ca = makeCa('Exec Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const inter = makeIntermediate(ca, 'Exec Intermediate');
  const [a, b, c] = [1, 2, 3].map(() => makeLeaf(inter, [DOMAIN])) as [CertFiles, CertFiles, CertFiles];
  // Before danehook: postfix serves A and A's record is published.
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true, records: [`_25._tcp.mx ${TTL} IN TLSA ${tlsa(a)}`] });
  const pf = await startPostfix(t, { combinedPem: readFileSync(a.combinedPath, 'utf8'), ipv6: false });

  const good = nsupdateAdapterSection(bind, { timeout: '10s' });
  const write = (exec: ExecSection) => ws.writeConfig(bindConfig(ws, bind, postfixEntry(pf), { ttl: TTL, exec, rollover: { propagationTimeout: '60s' } }));
  const config = write(good);
  const served = async () => ({ primary: await readTlsa(bind.primary, OWNER), secondary: await readTlsa(bind.secondary!, OWNER) });
  const both = (...records: string[]) => ({ primary: [...records].sort(), secondary: [...records].sort() });
  // Another writer's record in the same RRset (not danehook's to delete).
  const other = `3 1 1 ${'5a'.repeat(32)}`;

  const monitor = startPostfixOutageMonitor(bind, pf, OWNER, TTL);
  let failure: unknown;
  const failed: string[] = [];
  try {
    await monitor.waitSamples(3);
    // 1. A → B through the adapter; while B's records wait, another writer adds its own record.
    const started = Date.now();
    const d1 = await runCli(['deploy', '-c', config, '--pem', b.combinedPath], { timeoutMs: 60_000 });
    assert.equal(d1.code, 0, d1.stderr);
    assert.deepEqual((await readTlsa(bind.primary, OWNER)), [tlsa(a), tlsa(b)].sort(), 'B published beside A');
    const add = await nsupdate(bind.primary, 'example.test', bind.keyFilePath, [`update add ${OWNER} ${TTL} TLSA ${other}`]);
    assert.equal(add.code, 0, add.stderr);
    await postDeployUntil(config, 'cleaned', { maxRuns: 80 });
    t.diagnostic(`A → B via exec adapter: ${Date.now() - started} ms`);
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), spki(b));
    assert.ok(await bind.waitForSecondarySync());
    assert.deepEqual(await served(), both(tlsa(b), other), "only B and the other writer's record left on both servers");

    // 2. Broken adapters: each deploy of C fails fast with its code and writes nothing.
    const pidsFile = join(ws.dir, 'hang-pids.json');
    const script = (name: string, body: string) => {
      const path = join(ws.dir, `${name}.mjs`);
      writeFileSync(path, `import { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\n${body}\n`);
      return { command: [process.execPath, path], timeout: `${EXEC_TIMEOUT_MS / 1000}s` };
    };
    // The adapter's own credentials are wrong: same key name, another secret → NOTAUTH(BADSIG).
    const wrongKey = join(ws.dir, 'wrong.key');
    writeFileSync(wrongKey, readFileSync(bind.keyFilePath, 'utf8').replace(/secret "[^"]+"/, `secret "${randomBytes(32).toString('base64')}"`), { mode: 0o600 });
    const broken: [string, ExecSection, number][] = [
      ['wrong key', nsupdateAdapterSection(bind, { keyFile: wrongKey }), 77],
      ['hang', script('hang', `process.on('SIGTERM', () => {}); const k = spawn('/bin/sh', ['-c', 'trap "" TERM; while :; do /bin/sleep 0.1; done'], { stdio: 'inherit' }); writeFileSync(${JSON.stringify(pidsFile)}, JSON.stringify([process.pid, k.pid])); setInterval(() => {}, 1000);`), 69],
      ['crash', script('crash', `process.stderr.write('adapter: segfault (simulated)\\n'); process.kill(process.pid, 'SIGKILL');`), 69],
      ['exit 1', script('exit1', `process.exit(1);`), 69],
      ['garbage', script('garbage', `process.stdout.write('<html>502 Bad Gateway</html>');`), 76],
    ];
    const serial = await bind.serial();
    for (const [name, exec, code] of broken) {
      const cfg = write(exec);
      const t0 = Date.now();
      const d = await runCli(['deploy', '-c', cfg, '--pem', c.combinedPath], { timeoutMs: 30_000 });
      const ms = Date.now() - t0;
      failed.push(`${name}: exit ${d.code} in ${ms} ms`);
      t.diagnostic(`${name}: ${d.stderr.trim().split('\n').filter((l) => / error: /.test(l)).join(' / ')}`);
      assert.equal(d.code, code, `${name}: ${d.stderr}`);
      assert.match(d.stderr, /exec adapter/);
      // Node start-up of the CLI plus one adapter run; the hang one waits out timeout + grace once.
      assert.ok(ms < EXEC_TIMEOUT_MS + GRACE_MS + 4000, `${name}: deploy took ${ms} ms`);
      assert.equal(await bind.serial(), serial, `${name}: no DNS write (SOA serial unchanged)`);
      assert.deepEqual(await served(), both(tlsa(b), other), `${name}: records unchanged`);
      const last = (await entryStatus(cfg)).rollovers.at(-1);
      assert.equal(last?.phase, 'staged', `${name}: the renewal stays staged`);
      assert.equal(last?.spki, spki(c));
      assert.ok(last?.lastError, `${name}: status shows the error`);
      if (name === 'hang') {
        const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as number[];
        for (const pid of pids) assert.ok(isPidGone(pid), `hang adapter process ${pid} was stopped`);
      }
    }
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), spki(b), 'postfix still serves B');
    t.diagnostic(failed.join('; '));

    // 3. The good adapter back: the timer's post-deploy runs finish C.
    write(good);
    const phases = await postDeployUntil(config, 'cleaned', { maxRuns: 80 });
    t.diagnostic(`timer runs: ${phases.join(' → ')}`);
    assert.equal(await presentedSpkiSha256('127.0.0.1', pf.smtpPort), spki(c));
    assert.ok(await bind.waitForSecondarySync());
    assert.deepEqual(await served(), both(tlsa(c), other), "only C and the other writer's record left on both servers");
    await monitor.waitSamples(3);
  } catch (err) {
    failure = err;
  }
  const report = await monitor.stop();
  reportFigures(`exec-provider: samples=${report.samples} violations=${report.violations} probeErrors=${report.probeErrors} dnsErrors=${report.dnsErrors} broken=[${failed.join('; ')}]`);
  if (failure) throw failure;
  assert.equal(report.violations, 0, report.details.slice(0, 10).join('\n'));
  for (const x of [a, b, c]) assert.ok(report.presentedSeen.includes(spki(x)), `monitor saw ${x.name}`);
});

test('nsupdate adapter: a plan beyond one 64 KiB UPDATE goes out as several messages, all applied, reported non-atomic', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'nsupdate'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL });
  const warnings: string[] = [];
  const p = createExecProvider({
    command: nsupdateAdapterSection(bind).command, timeoutMs: 30_000, passEnv: [], env: {}, server: bind.primary, zones: ['example.test'],
    log: { info: () => {}, debug: () => {}, error: () => {}, warn: (m: string) => void warnings.push(m) },
  });
  // 1,500 SHA-256 TLSA adds: one nsupdate `send` of them fails with "ran out of space" (measured).
  const names = Array.from({ length: 500 }, (_, i) => `_25._tcp.h${i}.example.test.`);
  const data = (i: number, j: number) => createHash('sha256').update(`${i}/${j}`).digest('hex');
  const changes = names.flatMap((name, i) => [0, 1, 2].map((j) => ({ op: 'create' as const, name, ttl: TTL, rdata: { usage: 3, selector: 1, matchingType: 1, data: data(i, j) } })));
  await p.apply({ changes });
  // Known answer from dig: every record is served by the primary.
  const axfr = (await dig(bind.primary, 'example.test', 'AXFR')).answers.filter((l) => /\sTLSA\s/.test(l));
  assert.equal(axfr.length, 1500, 'all 1,500 records in the zone (AXFR)');
  assert.ok(axfr.some((l) => l.toLowerCase().includes(data(499, 2))), 'the last one too');
  assert.equal(warnings.filter((w) => /all-or-nothing/.test(w)).length, 1, 'danehook was told the apply was not atomic');
});
