// A busy or stale lock never loses a renewal (real BIND primary + secondary, TTL 1 s; every claim
// checked with dig): a deploy during a 30 s reload waits and publishes; a deploy SIGKILLed while
// waiting (lego at 120 s) leaves its renewal queued and the lock holder publishes it; a lock held past
// the computed wait makes deploy queue and exit 0 (status shows it, the next post-deploy publishes
// it); a lock naming a pid that is now an unrelated process (other start time, other boot) is taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind, type BindHandle } from '../harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, CLI, makeWorkspace, runCli, type CliResult, type Workspace } from '../harness/cli.js';
import { dig, tlsaOf } from '../harness/dns.js';
import { reportFigures } from '../harness/figures.js';
import { waitFor } from '../harness/process.js';
import type { HarnessContext } from '../harness/tempdir.js';

const OWNER = '_25._tcp.mx.example.test.';
const tlsa = (l: CertFiles) => `3 1 1 ${opensslAssociation(l.certPath, 1, 1)}`;
const served = async (bind: BindHandle, ep = bind.primary) => tlsaOf(await dig(ep, OWNER, 'TLSA')).map((x) => x.toLowerCase()).sort();

interface Rig {
  bind: BindHandle;
  ws: Workspace;
  leaves: CertFiles[];
  fullchain: string;
  config: string;
  /** Makes the next reload touch `started` and sleep `seconds` (later reloads are quick again). */
  armSlowReload(seconds: number): string;
  status(): Promise<{ certificates: { live: { spki: string } | null; rollovers: { phase: string; spki: string }[]; queued: { spki: string; file: string }[] }[] }>;
  /** Both servers serve exactly these records (the secondary once it has caught up). */
  assertServedExactly(leaves: CertFiles[], why: string): Promise<void>;
}

async function setup(t: HarnessContext, entry: Record<string, unknown> = {}, dnsTimeout = '2s'): Promise<Rig> {
  const bind = await startBind(t, { zone: 'example.test', ttl: 1, secondary: true });
  const ws = makeWorkspace();
  mkdirSync(ws.stateDir, { mode: 0o700 });
  const ca = makeCa('Busy Lock Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const leaves = [0, 1, 2].map(() => makeLeaf(ca, ['mx.example.test']));
  const fullchain = join(ws.dir, 'fullchain.pem');
  copyFileSync(leaves[0]!.fullchainPath, fullchain); // A is live: read from the installed file
  const slowFlag = join(ws.dir, 'slow-reload');
  const reload = join(ws.dir, 'reload.sh');
  writeFileSync(reload, `#!/bin/sh\nif [ -e '${slowFlag}' ]; then secs=$(cat '${slowFlag}'); rm -f '${slowFlag}'; touch '${slowFlag}.started'; sleep "$secs"; fi\nexit 0\n`);
  chmodSync(reload, 0o755);
  const config = ws.writeConfig(bindConfig(ws, bind, {
    install: { fullchain, key: join(ws.dir, 'key.pem') }, reload: [reload], probe: { protocol: 'none' }, live: fullchain, ...entry,
  }, { ttl: 1, timeout: dnsTimeout, rollover: { propagationTimeout: '60s' } }));
  return {
    bind, ws, leaves, fullchain, config,
    armSlowReload(seconds) {
      rmSync(`${slowFlag}.started`, { force: true });
      writeFileSync(slowFlag, String(seconds));
      return `${slowFlag}.started`;
    },
    async status() {
      const r = await runCli(['status', '--json', '--offline', '-c', config]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    },
    async assertServedExactly(want, why) {
      assert.ok(await bind.waitForSecondarySync(), 'secondary caught up');
      for (const ep of [bind.primary, bind.secondary!]) assert.deepEqual(await served(bind, ep), want.map(tlsa).sort(), `${why} (port ${ep.port})`);
    },
  };
}

/** The CLI as a client runs it, killable: resolves with the result, or null when we killed it. */
function spawnCli(args: string[]): { done: Promise<CliResult>; kill(): void } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

/** A live process that is not danehook (`sleep 60`), killed after the test. */
function spawnSleeper(t: HarnessContext): { pid: number; stop(): Promise<void> } {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return { pid: child.pid!, stop: async () => { child.kill('SIGKILL'); await exited; } };
}

const startTimeOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'latin1').replace(/^.*\) /s, '').split(' ')[19]!;
const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
const inboxItems = (ws: Workspace) => (existsSync(join(ws.stateDir, 'inbox')) ? readdirSync(join(ws.stateDir, 'inbox')).filter((n) => n.endsWith('.json')) : []);

test('a post-deploy holding the lock through a 30 s reload: a concurrent deploy waits, publishes, and the rollover completes', { timeout: 240_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const rig = await setup(t);
  const [a, b, c] = rig.leaves as [CertFiles, CertFiles, CertFiles];
  const first = await runCli(['deploy', '-c', rig.config, '--pem', b.combinedPath]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(await served(rig.bind), [tlsa(a), tlsa(b)].sort(), 'A (live) and B published');

  // The timer's run: activating B reloads for 30 s, holding the lock all along.
  const started = rig.armSlowReload(30);
  const post = runCli(['post-deploy', '--wait', '-c', rig.config], { timeoutMs: 180_000 });
  assert.ok(await waitFor(() => existsSync(started), 30_000), 'the slow reload began');
  const reloadBegan = Date.now();

  const t0 = Date.now();
  const d = await runCli(['deploy', '-c', rig.config, '--pem', c.combinedPath], { timeoutMs: 150_000 });
  const deployMs = Date.now() - t0;
  assert.equal(d.code, 0, d.stderr);
  assert.ok(deployMs >= 25_000, `deploy waited for the lock (${deployMs} ms), it did not give up or take it over`);
  assert.ok(deployMs < 110_000, `deploy finished inside lego's 120 s (${deployMs} ms)`);
  assert.doesNotMatch(d.stderr, /queued as/);
  assert.ok((await served(rig.bind)).includes(tlsa(c)), 'C is published on the primary when deploy returns');

  // That run finished B (C arrived after its iteration); the next one finishes C.
  const p = await post;
  assert.equal(p.code, 0, p.stderr);
  const w = await runCli(['post-deploy', '--wait', '-c', rig.config], { timeoutMs: 90_000 });
  assert.equal(w.code, 0, w.stderr);
  await rig.assertServedExactly([c], 'only C remains');
  assert.equal(readFileSync(rig.fullchain, 'utf8'), readFileSync(c.fullchainPath, 'utf8'), 'C installed');
  const st = await rig.status();
  assert.equal(st.certificates[0]!.live?.spki, tlsa(c).slice(6));
  assert.deepEqual(st.certificates[0]!.queued, []);
  assert.equal(st.certificates[0]!.rollovers.find((r) => r.spki === tlsa(b).slice(6))?.phase, 'cleaned', 'B completed too');
  reportFigures(`busy-lock: deploy started ${Math.round((t0 - reloadBegan) / 100) / 10} s into a 30 s reload waited ${Math.round(deployMs / 100) / 10} s, exit 0, published`);
});

test('a deploy SIGKILLed while waiting for the lock (as lego does at 120 s): the run holding the lock publishes its renewal', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const rig = await setup(t);
  const [a, b, c] = rig.leaves as [CertFiles, CertFiles, CertFiles];
  assert.equal((await runCli(['deploy', '-c', rig.config, '--pem', b.combinedPath])).code, 0);
  assert.ok(await rig.bind.waitForSecondarySync(), 'B on both servers: the next post-deploy activates it');

  const started = rig.armSlowReload(15);
  const post = runCli(['post-deploy', '-c', rig.config], { timeoutMs: 90_000 }); // a plain timer run
  assert.ok(await waitFor(() => existsSync(started), 30_000), 'the slow reload began');
  const deploy = spawnCli(['deploy', '-c', rig.config, '--pem', c.combinedPath]);
  assert.ok(await waitFor(() => inboxItems(rig.ws).length === 1, 10_000), 'the renewal is queued before the wait');
  await new Promise((r) => setTimeout(r, 1000));
  deploy.kill();
  const killed = await deploy.done;
  assert.equal(killed.code, null, 'killed while waiting');
  assert.deepEqual(await served(rig.bind), [tlsa(a), tlsa(b)].sort(), 'nothing of C published yet');

  const p = await post;
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /accepting queued renewal/);
  assert.ok((await served(rig.bind)).includes(tlsa(c)), 'the same post-deploy run published C after its reload');
  assert.deepEqual(inboxItems(rig.ws), [], 'inbox drained');

  const w = await runCli(['post-deploy', '--wait', '-c', rig.config], { timeoutMs: 90_000 });
  assert.equal(w.code, 0, w.stderr);
  await rig.assertServedExactly([c], 'the killed deploy\'s certificate completed its rollover');
  assert.equal(readFileSync(rig.fullchain, 'utf8'), readFileSync(c.fullchainPath, 'utf8'));
});

test('a lock held past the computed wait: deploy queues and exits 0, status shows it, the next post-deploy publishes it', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  // No reload, 1 s probe and DNS timeouts: a run can legitimately hold the lock 2 × 1 + 6 × 1 = 8 s.
  const rig = await setup(t, { reload: undefined, probe: { protocol: 'none', timeout: '1s', grace: '0s' } }, '1s');
  const [, b] = rig.leaves as [CertFiles, CertFiles];
  assert.equal((await runCli(['post-deploy', '-c', rig.config])).code, 0, 'a first run stamps the config (fast path armed)');
  assert.match((await runCli(['post-deploy', '-v', '-c', rig.config])).stderr, /fast path/, 'nothing due, nothing queued: fast path');
  // A genuinely live holder: pid, start time and boot id all match, so it is never taken over.
  const holder = spawnSleeper(t);
  const lockText = `${holder.pid} ${startTimeOf(holder.pid)} ${bootId()}\n`;
  writeFileSync(join(rig.ws.stateDir, 'lock'), lockText);

  const t0 = Date.now();
  const d = await runCli(['deploy', '-c', rig.config, '--pem', b.combinedPath], { timeoutMs: 60_000 });
  const deployMs = Date.now() - t0;
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, new RegExp(`another danehook run \\(pid ${holder.pid}\\) held the lock for 8s; the renewal is queued as .*inbox/`));
  assert.ok(deployMs >= 7_500 && deployMs < 20_000, `waited the computed 8 s (${deployMs} ms)`);
  assert.equal(readFileSync(join(rig.ws.stateDir, 'lock'), 'utf8'), lockText, 'the live holder keeps its lock');
  assert.deepEqual(await served(rig.bind), [], 'nothing published without the lock');
  const queued = (await rig.status()).certificates[0]!.queued;
  assert.deepEqual(queued.map((q) => q.spki), [tlsa(b).slice(6)], 'status shows the queued renewal');

  // A queued renewal is due: the timer run does not take the fast path (it finds the lock busy: 75, kept).
  const busy = await runCli(['post-deploy', '-v', '-c', rig.config]);
  assert.doesNotMatch(busy.stderr, /fast path/);
  assert.equal(busy.code, 75, busy.stderr);
  assert.equal(inboxItems(rig.ws).length, 1, 'still queued');

  await holder.stop(); // the holder dies: its lock is stale now
  const p = await runCli(['post-deploy', '-c', rig.config], { timeoutMs: 60_000 });
  assert.equal(p.code, 0, p.stderr);
  // It accepted B first and published it (activation follows once the secondary serves it too:
  // under load that may take the next run, so --wait finishes it).
  assert.ok((await served(rig.bind)).includes(tlsa(b)), 'the next post-deploy published B');
  assert.deepEqual((await rig.status()).certificates[0]!.queued, []);
  const w = await runCli(['post-deploy', '--wait', '-c', rig.config], { timeoutMs: 60_000 });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(readFileSync(rig.fullchain, 'utf8'), readFileSync(b.fullchainPath, 'utf8'), 'and activated it');
  await rig.assertServedExactly([b], 'B completed its rollover');
  reportFigures(`busy-lock: deploy against a lock held past its computed wait (8 s) queued after ${Math.round(deployMs / 100) / 10} s, exit 0; published by the next post-deploy`);
});

test('a lock naming a pid that is now an unrelated process (other start time, other boot) is taken over at once', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const rig = await setup(t, { reload: undefined, probe: { protocol: 'none', timeout: '1s', grace: '0s' } }, '1s');
  const [a, b, c] = rig.leaves as [CertFiles, CertFiles, CertFiles];
  const stranger = spawnSleeper(t);
  const rows: [string, string, CertFiles][] = [
    ['other start time', `${stranger.pid} ${Number(startTimeOf(stranger.pid)) + 7} ${bootId()}\n`, b],
    ['other boot', `${stranger.pid} ${startTimeOf(stranger.pid)} 00000000-0000-4000-8000-000000000000\n`, c],
  ];
  const figures: string[] = [];
  for (const [name, text, leaf] of rows) {
    writeFileSync(join(rig.ws.stateDir, 'lock'), text);
    const t0 = Date.now();
    const d = await runCli(['deploy', '-c', rig.config, '--pem', leaf.combinedPath], { timeoutMs: 60_000 });
    const ms = Date.now() - t0;
    figures.push(`${name} ${ms} ms`);
    assert.equal(d.code, 0, `${name}: ${d.stderr}`);
    assert.doesNotMatch(d.stderr, /queued as/, name);
    assert.ok(ms < 5_000, `${name}: taken over at once (${ms} ms; the computed wait is 8 s)`);
    assert.ok((await served(rig.bind)).includes(tlsa(leaf)), `${name}: published`);
    assert.ok(!existsSync(join(rig.ws.stateDir, 'lock')), `${name}: our lock released, the stale one gone`);
  }
  assert.ok(existsSync(`/proc/${stranger.pid}`), 'the unrelated process was left alone');
  const w = await runCli(['post-deploy', '--wait', '-c', rig.config], { timeoutMs: 60_000 });
  assert.equal(w.code, 0, w.stderr);
  await rig.assertServedExactly([c], 'the last renewal won (B superseded)');
  assert.notEqual(readFileSync(rig.fullchain, 'utf8'), readFileSync(a.fullchainPath, 'utf8'));
  reportFigures(`busy-lock: stale-by-identity lock takeover: ${figures.join(', ')}`);
});
