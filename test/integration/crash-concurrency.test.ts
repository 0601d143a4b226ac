// Concurrency: two `deploy`s and a `post-deploy` started at the same instant, for the same id and
// for different ids, with and without a stale lock left by a killed run. Every run exits 0 or 75
// (locked), no record is published twice, every deploy that said 0 is in the state or queued, a
// rerun converges to exactly the live certificates' records, and the outage monitor stays clean.
// Last, the lock itself: runs taking over the same stale lock at the same instant never both hold it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinary, requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { startPostfix } from '../harness/postfix.js';
import { dig, rdataOf } from '../harness/dns.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../harness/certs.js';
import { CLI, makeWorkspace, runCli, type CliResult, bindConfig, postfixEntry, CLASSIC } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';
import { fetchPresented, startPostfixOutageMonitor } from '../harness/outage-monitor.js';

const TTL = 1;
const MX = '_25._tcp.mx.example.test.';
const WWW = '_443._tcp.www.example.test.';
const spki = (l: CertFiles) => opensslAssociation(l.certPath, 1, 1);
const tlsa = (l: CertFiles) => `3 1 1 ${spki(l)}`;

/** A pid that certainly belongs to no running process (a child that has exited). */
function deadPid(): number {
  return spawnSync('true').pid!;
}

/** Start several CLI runs at the same instant (spawned back to back, awaited together). */
function together(argvs: string[][]): Promise<CliResult[]> {
  return Promise.all(argvs.map((args) => new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  })));
}

type Ctx = Parameters<typeof startBind>[0];

async function setup(t: Ctx) {
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Concurrency Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const inter = makeIntermediate(ca, 'Concurrency Intermediate');
  const leaves = Array.from({ length: 8 }, () => makeLeaf(inter, ['mx.example.test']));
  const wwwLeaves = Array.from({ length: 3 }, () => makeLeaf(inter, ['www.example.test']));
  const pf = await startPostfix(t, { combinedPem: readFileSync(leaves[0]!.combinedPath, 'utf8'), ipv6: false });
  const settings = bindConfig(ws, bind, postfixEntry(pf), { ttl: TTL, rollover: { propagationTimeout: '60s' } });
  settings.certificates.push({
    ...CLASSIC, id: 'www', domains: ['www.example.test'], ports: [443],
    install: { fullchain: join(ws.dir, 'www-fullchain.pem'), key: join(ws.dir, 'www-key.pem') },
    reload: ['true'],
    probe: { protocol: 'none' }, live: 'none',
  });
  const config = ws.writeConfig(settings);
  const monitor = startPostfixOutageMonitor(bind, pf, MX, TTL);
  let stopped = false;
  t.after(async () => { if (!stopped) await monitor.stop(); });
  const stopMonitor = async () => { stopped = true; return monitor.stop(); };
  const status = async () => {
    const r = await runCli(['status', '--json', '--offline', '-c', config]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { certificates: { id: string; live: { spki: string } | null; rollovers: { phase: string; spki: string; activatedAt?: string }[]; queued: { spki: string }[] }[] };
  };
  /** Every record appears once in the answer (no duplicate RR), on both servers. */
  const assertNoDuplicates = async (owner: string) => {
    for (const ep of [bind.primary, bind.secondary!]) {
      const rdata = rdataOf(await dig(ep, owner, 'TLSA'), 'TLSA').map((x) => x.toLowerCase().replace(/\s+/g, ' '));
      assert.equal(new Set(rdata).size, rdata.length, `${owner} at ${ep.port}: a record is published twice: ${rdata.join(', ')}`);
    }
  };
  /** Rerun the runs that were locked out, then finish everything. */
  const converge = async (lockedOut: string[][]) => {
    for (const args of lockedOut) {
      const r = await runCli(args);
      assert.equal(r.code, 0, `rerun ${args.join(' ')}: ${r.stderr}`);
    }
    const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 90_000 });
    assert.equal(w.code, 0, w.stderr);
  };
  /** After convergence: DNS holds exactly the live certificates' records; postfix presents mx's live one. */
  const assertConverged = async (expect: { mx?: CertFiles; www?: CertFiles }) => {
    const st = await status();
    for (const c of st.certificates) {
      assert.deepEqual(c.rollovers.filter((r) => ['staged', 'published', 'propagated', 'activating', 'activated'].includes(r.phase)), [], `${c.id}: nothing pending`);
      assert.deepEqual(c.queued, [], `${c.id}: nothing queued`);
    }
    assert.ok(await bind.waitForSecondarySync());
    for (const [id, owner] of [['mx', MX], ['www', WWW]] as const) {
      const live = st.certificates.find((c) => c.id === id)?.live;
      const want = expect[id];
      if (want) assert.equal(live?.spki, spki(want), `${id} live`);
      for (const ep of [bind.primary, bind.secondary!]) {
        const served = await readTlsa(ep, owner);
        assert.deepEqual(served, live ? [`3 1 1 ${live.spki}`] : [], `${id}: exactly the live certificate's records (no orphan, none missing)`);
      }
    }
    const mxLive = st.certificates.find((c) => c.id === 'mx')!.live!.spki;
    for (const port of [pf.smtpPort, pf.smtpsPort!]) {
      assert.equal((await fetchPresented({ host: '127.0.0.1', port, mode: port === pf.smtpPort ? 'smtp' : 'tls' })).spkiSha256, mxLive);
    }
    return st;
  };
  return { bind, ws, pf, config, leaves, wwwLeaves, status, assertNoDuplicates, converge, assertConverged, stopMonitor };
}

for (const staleLock of [false, true]) {
  const label = staleLock ? ' (a killed run left its lock)' : '';
  test(`concurrent deploy + deploy + post-deploy${label}: exit 0 or 75, nothing lost or doubled, rerun converges`, { timeout: 240_000 }, async (t) => {
    if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl'])) return;
    const s = await setup(t);
    const { config, leaves, wwwLeaves } = s;
    const lockPath = join(s.ws.stateDir, 'lock');
    mkdirSync(s.ws.stateDir, { recursive: true, mode: 0o700 });
    const deploy = (id: string, l: CertFiles) => ['deploy', '-c', config, '--id', id, '--pem', l.combinedPath];
    const post = ['post-deploy', '-c', config];
    const rounds: { name: string; runs: string[][]; deployed: [string, CertFiles][] }[] = [
      // Same id, two different renewals at once: one supersedes the other (or is locked out).
      { name: 'same id', runs: [deploy('mx', leaves[1]!), deploy('mx', leaves[2]!), post], deployed: [['mx', leaves[1]!], ['mx', leaves[2]!]] },
      // Same id, the same certificate twice: published once.
      { name: 'same certificate', runs: [deploy('mx', leaves[3]!), deploy('mx', leaves[3]!), post], deployed: [['mx', leaves[3]!]] },
      // Different ids at once.
      { name: 'different ids', runs: [deploy('mx', leaves[4]!), deploy('www', wwwLeaves[0]!), post], deployed: [['mx', leaves[4]!], ['www', wwwLeaves[0]!]] },
      { name: 'different ids again', runs: [deploy('www', wwwLeaves[1]!), deploy('mx', leaves[5]!), post], deployed: [['www', wwwLeaves[1]!], ['mx', leaves[5]!]] },
    ];
    const figures: string[] = [];
    for (const round of rounds) {
      if (staleLock) writeFileSync(lockPath, `${deadPid()}\n`);
      const results = await together(round.runs);
      figures.push(`${round.name}: ${results.map((r) => r.code).join('/')}`);
      results.forEach((r, i) => assert.ok(r.code === 0 || r.code === 75, `${round.name}: ${round.runs[i]!.join(' ')} exited ${r.code}:\n${r.stderr}`));
      await s.assertNoDuplicates(MX);
      await s.assertNoDuplicates(WWW);
      // Every deploy that reported success is in the state (a lost update would orphan its records).
      const st = await s.status();
      round.runs.forEach((args, i) => {
        if (args[0] !== 'deploy' || results[i]!.code !== 0) return;
        const id = args[args.indexOf('--id') + 1]!;
        const leaf = round.deployed.find(([d, l]) => d === id && args.includes(l.combinedPath))![1];
        const c = st.certificates.find((x) => x.id === id);
        // Accepted into the state, or queued in the inbox for the next lock holder: never neither.
        assert.ok(c && (c.live?.spki === spki(leaf) || c.rollovers.some((r) => r.spki === spki(leaf)) || c.queued.some((q) => q.spki === spki(leaf))), `${round.name}: deploy of ${id} exited 0 but neither the state nor the inbox knows its certificate (lost update)`);
      });
      await s.converge(round.runs.filter((args, i) => args[0] === 'deploy' && results[i]!.code === 75));
      const final = await s.assertConverged({});
      // The last deploy of each id wins. The other mx renewal was superseded — or, when the machine
      // delayed the second deploy past the first one's whole wait (TTL 1 s), it went live first
      // and was replaced in turn: cleaned, activated before the one now live. Never anything else.
      const mx = final.certificates.find((c) => c.id === 'mx')!;
      const mxDeployed = round.deployed.filter(([id]) => id === 'mx').map(([, l]) => spki(l));
      assert.ok(mxDeployed.includes(mx.live!.spki), `${round.name}: mx live is one of the deployed certificates`);
      const liveRollover = mx.rollovers.find((r) => r.spki === mx.live!.spki);
      for (const other of mxDeployed.filter((x) => x !== mx.live!.spki)) {
        const r = mx.rollovers.find((x) => x.spki === other);
        if (r?.phase === 'cleaned') {
          assert.ok(r.activatedAt && liveRollover?.activatedAt && Date.parse(r.activatedAt) < Date.parse(liveRollover.activatedAt), `${round.name}: the other mx renewal went live before the one now live`);
        } else {
          assert.equal(r?.phase, 'superseded', `${round.name}: the other mx renewal was superseded`);
        }
      }
    }
    const rep = await s.stopMonitor();
    console.log(`crash-concurrency${label}: ${figures.join('; ')}; samples=${rep.samples} violations=${rep.violations}`);
    assert.equal(rep.violations, 0, rep.details.join('\n'));
  });
}

// The lock under contention, directly: processes all find the same stale lock (its pid is dead)
// and take it over; mutual exclusion means their critical sections never overlap. With strace,
// every rename and link a worker makes is delayed (as a preempted process or a slow disk
// would be), which makes any check-then-act window in the takeover wide open: deterministic.
// Without strace the workers meet at a barrier instead and only a lucky interleaving shows a race.
test('lock: runs that take over a stale lock at the same instant never both hold it', { timeout: 240_000 }, async () => {
  const storeUrl = new URL('../../dist/io/state-store.js', import.meta.url).href;
  const dir = mkdtempSync(join(tmpdir(), 'danehook-lockrace-'));
  const strace = findBinary('strace');
  try {
    const worker = join(dir, 'worker.mjs');
    writeFileSync(worker, `
      import { StateStore } from ${JSON.stringify(storeUrl)};
      import { appendFileSync } from 'node:fs';
      const [stateDir, startAt] = process.argv.slice(2);
      const store = new StateStore(stateDir);
      while (Date.now() < Number(startAt)) {} // barrier: everyone reaches lock() together
      try { await store.lock(8000); } catch { process.exit(75); }
      appendFileSync(stateDir + '/log', 'in ' + process.pid + '\\n');
      await new Promise((r) => setTimeout(r, 100));
      appendFileSync(stateDir + '/log', 'out ' + process.pid + '\\n');
      store.unlock();
    `);
    const delayed = 'rename,renameat,renameat2,link,linkat';
    const command = (stateDir: string, startAt: number): [string, string[]] => strace
      ? [strace, ['-f', '-qq', '--seccomp-bpf', '-o', '/dev/null', '-e', `trace=${delayed}`,
          '-e', 'inject=rename,renameat,renameat2:delay_enter=300000', '-e', 'inject=link,linkat:delay_enter=100000',
          process.execPath, worker, stateDir, String(startAt)]]
      : [process.execPath, [worker, stateDir, String(startAt)]];
    const trials = Number(process.env.DANEHOOK_LOCK_TRIALS ?? (strace ? 6 : 30));
    const workers = 3;
    let overlaps = 0;
    const examples: string[] = [];
    for (let i = 0; i < trials; i++) {
      const stateDir = mkdtempSync(join(dir, 't-'));
      writeFileSync(join(stateDir, 'lock'), `${deadPid()}\n`);
      writeFileSync(join(stateDir, 'log'), '');
      const startAt = Date.now() + (strace ? 0 : 700);
      await Promise.all(Array.from({ length: workers }, () => new Promise((res) => {
        const [cmd, args] = command(stateDir, startAt);
        spawn(cmd, args, { stdio: 'ignore' }).on('close', res);
      })));
      const lines = readFileSync(join(stateDir, 'log'), 'utf8').trim().split('\n').filter(Boolean);
      // Well-nested: in, out, in, out, ... — two "in"s in a row mean two holders at once.
      const nested = lines.every((l, j) => l.startsWith(j % 2 === 0 ? 'in ' : 'out '));
      if (!nested) {
        overlaps++;
        if (examples.length < 3) examples.push(lines.join(' | '));
      }
    }
    console.log(`crash-concurrency lock (${strace ? 'strace-delayed syscalls' : 'barrier'}): workers=${workers} trials=${trials} overlaps=${overlaps}`);
    // BUG (reported, with this test as the reproduction): a stale lock taken over by rename-and-verify
    // can still end with two holders: P2 renames P1's fresh lock aside to check it, and while it is
    // aside P3 finds the slot empty and creates its own; P2's put-back then fails and P1's lock is gone.
    assert.equal(overlaps, 0, `two runs held the lock at once in ${overlaps}/${trials} trials, e.g.\n${examples.join('\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
