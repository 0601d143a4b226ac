// Crash anywhere: many rollovers against real BIND (primary + secondary, TTL 1 s, delayFactor 2) and
// real postfix, with `deploy` / `post-deploy` SIGKILLed at random moments (seeded PRNG) and rerun
// until the rollover converges. An independent monitor (dig + node:tls, no danehook code) samples
// DNS and the presented certificate every ~100 ms; a sampler checks that state.json always parses
// and that staged key files are never group/world-readable. After every rollover: status shows it
// cleaned, postfix presents the new certificate on both listeners, and both servers serve exactly
// its records.
//
// DANEHOOK_CRASH_ROLLOVERS (default 50), DANEHOOK_CRASH_SEED (default: time-based, printed),
// DANEHOOK_CRASH_PER_INSTANCE (rollovers per BIND/postfix instance, default 25),
// DANEHOOK_CRASH_PARALLEL (instances running at once, default 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATE_VERSION } from '../../src/core/state.js';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { listFilesUnder } from '../harness/tempdir.js';
import { isPidAlive } from '../harness/process.js';
import { reportFigures } from '../harness/figures.js';
import { startBind } from '../harness/bind.js';
import { startPostfix } from '../harness/postfix.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { CLI, makeWorkspace, bindConfig, postfixEntry } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';
import { fetchPresented, startPostfixOutageMonitor, type OutageReport } from '../harness/outage-monitor.js';

const TTL = 1;
const OWNER = '_25._tcp.mx.example.test.';
const ROLLOVERS = Number(process.env.DANEHOOK_CRASH_ROLLOVERS ?? 50);
const PER_INSTANCE = Number(process.env.DANEHOOK_CRASH_PER_INSTANCE ?? 25);
const PARALLEL = Number(process.env.DANEHOOK_CRASH_PARALLEL ?? 2);
const SEED = Number(process.env.DANEHOOK_CRASH_SEED ?? (Date.now() % 2 ** 31));
const KILL_PROBABILITY = 0.45;
const MAX_KILLS_PER_ROLLOVER = 5;
const SUPERSEDE_PROBABILITY = 0.15;
// Only for checking that this test can fail: DANEHOOK_CRASH_MUTATION=unlisted-secondary configures
// danehook with the primary alone while the secondary is held back during each rollover, so
// danehook activates while the secondary still serves the old RRset: the monitor must object.
const MUTATION = process.env.DANEHOOK_CRASH_MUTATION;
const ROLLOVER_DEADLINE_MS = 60_000;

/** mulberry32: small, seedable, good enough to pick kill moments. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Invocation {
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
  killAfterMs?: number;
  stderr: string;
  stdout: string;
}

/** Spawn the CLI ourselves so we can SIGKILL it `killAfterMs` after start. */
function invoke(args: string[], killAfterMs: number | undefined, timeoutMs = 60_000): Promise<Invocation> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = killAfterMs === undefined ? undefined : setTimeout(() => { killed = child.kill('SIGKILL'); }, killAfterMs);
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      clearTimeout(guard);
      resolve({ code, signal, killed: killed && signal === 'SIGKILL', killAfterMs, stdout, stderr });
    });
  });
}

interface Totals {
  rollovers: number;
  kills: number;
  deployKills: number;
  postDeployKills: number;
  invocations: number;
  locked75: number;
  staleLocksSeen: number;
  stateSamples: number;
  stateProblems: string[];
  keyModeProblems: string[];
  monitor: OutageReport[];
  orphanStagedDirs: number;
  superseding: number;
}

const totals: Totals = {
  rollovers: 0, kills: 0, deployKills: 0, postDeployKills: 0, invocations: 0, locked75: 0, staleLocksSeen: 0,
  stateSamples: 0, stateProblems: [], keyModeProblems: [], monitor: [], orphanStagedDirs: 0, superseding: 0,
};

async function runInstance(t: Parameters<typeof startBind>[0], rand: () => number, count: number, instance: number): Promise<void> {
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa(`Crash Root ${instance}`);
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const inter = makeIntermediate(ca, `Crash Intermediate ${instance}`);
  // Made before the monitor starts: openssl runs synchronously and would stall the sampler.
  const leaves: CertFiles[] = Array.from({ length: count + 1 }, () => makeLeaf(inter, ['mx.example.test']));
  // Renewals that a newer one supersedes before activation (some rollovers start with one).
  const doomedPool: CertFiles[] = Array.from({ length: Math.ceil(count * SUPERSEDE_PROBABILITY) + 2 }, () => makeLeaf(inter, ['mx.example.test']));
  const tlsaOf = new Map(leaves.map((l) => [l, `3 1 1 ${opensslAssociation(l.certPath, 1, 1)}`]));
  const pf = await startPostfix(t, { combinedPem: readFileSync(leaves[0]!.combinedPath, 'utf8'), ipv6: false });
  const config = ws.writeConfig(bindConfig(
    ws,
    // The mutation leaves the secondary out of the nameservers: the test must then fail.
    MUTATION === 'unlisted-secondary' ? { ...bind, secondary: undefined } : bind,
    // margin 1 s: the margin is for real caches (dane-sender.test.ts); this monitor asks the servers.
    postfixEntry(pf), { ttl: TTL, rollover: { propagationTimeout: '60s', margin: '1s' } },
  ));

  const monitor = startPostfixOutageMonitor(bind, pf, OWNER, TTL);
  // State and key-file sampler: state.json always parses with a version; staged files are 0600-ish.
  let sampling = true;
  const statePath = join(ws.stateDir, 'state.json');
  const sampler = (async () => {
    while (sampling) {
      totals.stateSamples++;
      if (existsSync(statePath)) {
        try {
          const s = JSON.parse(readFileSync(statePath, 'utf8'));
          if (s.version !== STATE_VERSION) totals.stateProblems.push(`state.json version ${s.version}`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') totals.stateProblems.push(`state.json unreadable: ${(err as Error).message}`);
        }
      }
      for (const sub of ['staged', 'backup']) {
        for (const f of listFilesUnder(join(ws.stateDir, sub))) {
          if ((f.mode & 0o077) !== 0) totals.keyModeProblems.push(`${f.path} mode ${f.mode.toString(8)}`);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const failWith = async (msg: string): Promise<never> => {
    sampling = false;
    const rep = await monitor.stop();
    await sampler;
    throw new assert.AssertionError({ message: `${msg}\nseed=${SEED}\nmonitor: ${JSON.stringify(rep, null, 1)}` });
  };

  const history: string[] = [];
  const run = async (kind: 'deploy' | 'post-deploy', args: string[], killsSoFar: number): Promise<Invocation> => {
    const kill = killsSoFar < MAX_KILLS_PER_ROLLOVER && rand() < KILL_PROBABILITY ? Math.floor(rand() * 800) : undefined;
    const r = await invoke(args, kill);
    totals.invocations++;
    history.push(`${kind}${args.includes('--wait') ? ' --wait' : ''}: ${r.killed ? `KILLED after ${r.killAfterMs} ms` : `exit ${r.code}`}`);
    if (r.killed) {
      totals.kills++;
      if (kind === 'deploy') totals.deployKills++;
      else totals.postDeployKills++;
      const lockPath = join(ws.stateDir, 'lock');
      if (existsSync(lockPath)) {
        const pid = Number(readFileSync(lockPath, 'utf8').trim().split(' ')[0]); // "PID STARTTIME BOOTID"
        if (!(Number.isInteger(pid) && pid > 0 && isPidAlive(pid))) totals.staleLocksSeen++;
      }
      // A killed run must leave a state every later run can load.
      const st = await invoke(['status', '--json', '--offline', '-c', config], undefined);
      if (st.code !== 0) await failWith(`status after a kill (${kind} killed after ${r.killAfterMs} ms) exited ${st.code}: ${st.stderr}`);
      try {
        JSON.parse(st.stdout);
      } catch {
        await failWith(`status --json after a kill printed invalid JSON: ${st.stdout}`);
      }
      return r;
    }
    if (r.code === 75) totals.locked75++;
    else if (r.code !== 0) await failWith(`${kind} exited ${r.code} (not killed):\n${r.stderr}\nhistory: ${history.slice(-12).join(' | ')}`);
    return r;
  };

  const status = async () => {
    const st = await invoke(['status', '--json', '--offline', '-c', config], undefined);
    if (st.code !== 0) await failWith(`status exited ${st.code}: ${st.stderr}`);
    return JSON.parse(st.stdout).certificates.find((c: { id: string }) => c.id === 'mx');
  };

  for (let n = 1; n <= count; n++) {
    const leaf = leaves[n]!;
    const spki = opensslAssociation(leaf.certPath, 1, 1);
    const started = Date.now();
    let kills = 0;
    let consecutive75 = 0;
    history.length = 0;
    // Sometimes a renewal comes first that this one supersedes before it can be activated (never on
    // an instance's first rollover: with no RRset before, activation follows propagation at once).
    if (MUTATION === 'unlisted-secondary') await bind.holdSecondary();
    const doomed = n > 1 && doomedPool.length > 0 && rand() < SUPERSEDE_PROBABILITY ? doomedPool.pop()! : undefined;
    if (doomed) {
      totals.superseding++;
      const r = await run('deploy', ['deploy', '-c', config, '--pem', doomed.combinedPath], kills);
      if (r.killed) kills++;
      const p = await run('post-deploy', ['post-deploy', '-c', config], kills);
      if (p.killed) kills++;
    }
    // Deploy until one run finishes (a rerun of a deploy that got as far as staging is a no-op).
    for (;;) {
      const r = await run('deploy', ['deploy', '-c', config, '--pem', leaf.combinedPath], kills);
      if (r.killed) kills++;
      else if (r.code === 75) consecutive75++;
      else break;
      if (consecutive75 > 6) await failWith(`deploy locked out ${consecutive75} times in a row (stale lock not taken over?)`);
      if (Date.now() - started > ROLLOVER_DEADLINE_MS) await failWith(`rollover ${n}: deploy did not finish in time; history: ${history.join(' | ')}`);
    }
    // post-deploy (sometimes --wait) until the rollover is cleaned.
    consecutive75 = 0;
    for (;;) {
      const st = await status();
      const mine = st?.rollovers.find((r: { spki: string }) => r.spki === spki);
      const active = (st?.rollovers ?? []).filter((r: { phase: string }) => ['staged', 'published', 'propagated', 'activating', 'activated'].includes(r.phase));
      if (mine?.phase === 'cleaned' && st.live?.spki === spki && active.length === 0) break;
      if (mine && ['rolled-back', 'superseded'].includes(mine.phase)) await failWith(`rollover ${n} ended ${mine.phase}: ${mine.lastError}; history: ${history.join(' | ')}`);
      if (Date.now() - started > ROLLOVER_DEADLINE_MS) await failWith(`rollover ${n} did not converge within ${ROLLOVER_DEADLINE_MS} ms: ${JSON.stringify(st)}; history: ${history.join(' | ')}`);
      const wait = rand() < 0.25;
      const r = await run('post-deploy', ['post-deploy', ...(wait ? ['--wait'] : []), '-c', config], kills);
      if (r.killed) kills++;
      if (!r.killed && r.code === 75) {
        if (++consecutive75 > 6) await failWith(`post-deploy locked out ${consecutive75} times in a row (stale lock not taken over?); history: ${history.join(' | ')}`);
      } else consecutive75 = 0;
      if (!wait) await new Promise((r) => setTimeout(r, 100 + Math.floor(rand() * 200)));
    }
    if (doomed) {
      const st = await status();
      const d = st.rollovers.find((r: { spki: string }) => r.spki === opensslAssociation(doomed.certPath, 1, 1));
      if (d && d.phase !== 'superseded') await failWith(`rollover ${n}: the superseded renewal ended ${d.phase}; history: ${history.join(' | ')}`);
    }
    // Converged: both listeners present the new certificate; both servers serve exactly its records.
    for (const port of [pf.smtpPort, pf.smtpsPort!]) {
      const p = await fetchPresented({ host: '127.0.0.1', port, mode: port === pf.smtpPort ? 'smtp' : 'tls', servername: 'mx.example.test' });
      if (p.spkiSha256 !== spki) await failWith(`rollover ${n}: port ${port} presents ${p.spkiSha256}, expected ${spki}`);
    }
    if (MUTATION === 'unlisted-secondary') await bind.releaseSecondary();
    if (!(await bind.waitForSecondarySync())) await failWith('secondary did not catch up');
    for (const [name, ep] of [['primary', bind.primary], ['secondary', bind.secondary!]] as const) {
      const served = await readTlsa(ep, OWNER);
      if (JSON.stringify(served) !== JSON.stringify([tlsaOf.get(leaf)])) {
        await failWith(`rollover ${n}: ${name} serves ${JSON.stringify(served)}, expected only ${tlsaOf.get(leaf)} (orphan or missing records); history: ${history.join(' | ')}`);
      }
    }
    const lockPath = join(ws.stateDir, 'lock');
    if (existsSync(lockPath)) {
      const pid = Number(readFileSync(lockPath, 'utf8').trim().split(' ')[0]); // "PID STARTTIME BOOTID"
      // A stale lock is fine as long as the next run takes it over (checked by the 75 counters);
      // a live holder after convergence would be a leaked process.
      if (Number.isInteger(pid) && pid > 0 && isPidAlive(pid)) await failWith(`lock held by live pid ${pid} after convergence`);
    }
    totals.rollovers++;
  }

  sampling = false;
  const rep = await monitor.stop();
  await sampler;
  totals.monitor.push(rep);
  // Staged directories no rollover in the state refers to: key material nobody will ever remove.
  const state = JSON.parse(readFileSync(statePath, 'utf8'));
  const referenced = new Set(Object.values(state.certificates).flatMap((e: any) => e.rollovers.map((r: any) => r.stagedDir)));
  const stagedRoot = join(ws.stateDir, 'staged', 'mx');
  const leftovers = existsSync(stagedRoot) ? readdirSync(stagedRoot).filter((d) => !referenced.has(`staged/mx/${d}`)) : [];
  totals.orphanStagedDirs += leftovers.length;
  assert.equal(rep.violations, 0, `monitor violations (seed ${SEED}):\n${rep.details.join('\n')}`);
  assert.ok(rep.samples > 0, 'the monitor took samples');
  assert.ok(rep.presentedSeen.length >= count, `the monitor saw every certificate presented (${rep.presentedSeen.length} of ${count + 1})`);
}

test(`crash anywhere: ${ROLLOVERS} rollovers with random SIGKILLs converge without a DANE outage`, { timeout: Math.max(600_000, ROLLOVERS * 30_000) }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
  console.log(`crash-anywhere: seed=${SEED} (DANEHOOK_CRASH_SEED=${SEED} reproduces the kill schedule)`);
  const started = Date.now();
  // Instances run PARALLEL at a time (each its own BIND pair, postfix, state dir and PRNG stream
  // seeded from SEED and its number): most of a rollover is waiting out TTLs, not CPU.
  const counts: number[] = [];
  for (let left = ROLLOVERS; left > 0; left -= PER_INSTANCE) counts.push(Math.min(PER_INSTANCE, left));
  for (let i = 0; i < counts.length; i += PARALLEL) {
    await Promise.all(counts.slice(i, i + PARALLEL).map((count, j) => runInstance(t, prng(SEED + 7919 * (i + j + 1)), count, i + j + 1)));
  }
  const samples = totals.monitor.reduce((a, r) => a + r.samples, 0);
  const violations = totals.monitor.reduce((a, r) => a + r.violations, 0);
  const probeErrors = totals.monitor.reduce((a, r) => a + r.probeErrors, 0);
  const dnsErrors = totals.monitor.reduce((a, r) => a + r.dnsErrors, 0);
  reportFigures(
    `crash-anywhere: rollovers=${totals.rollovers} kills=${totals.kills} samples=${samples} violations=${violations}` +
      ` (seed=${SEED} deployKills=${totals.deployKills} postDeployKills=${totals.postDeployKills} invocations=${totals.invocations} superseded=${totals.superseding}` +
      ` exit75=${totals.locked75} staleLocksTakenOver=${totals.staleLocksSeen} stateSamples=${totals.stateSamples}` +
      ` probeErrors=${probeErrors} dnsErrors=${dnsErrors} orphanStagedDirs=${totals.orphanStagedDirs} seconds=${Math.round((Date.now() - started) / 1000)})`,
  );
  assert.equal(totals.rollovers, ROLLOVERS);
  assert.equal(totals.orphanStagedDirs, 0, 'no staged key left behind once converged');
  assert.ok(totals.kills > 0, 'some runs were killed');
  assert.deepEqual(totals.stateProblems, [], 'state.json always parses');
  assert.deepEqual(totals.keyModeProblems.slice(0, 5), [], 'staged key files never group/world-readable');
  assert.equal(violations, 0);
});
