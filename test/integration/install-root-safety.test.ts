// Installing as root, against real BIND and real files, witnessed with stat(1), sha256sum(1) and
// openssl: an install directory an unprivileged user controls is refused (78) at deploy and at
// activation with nothing written; with allowWritableDir, symlinks that user plants at the targets
// (and symlinks at the backup paths) are never followed; root:ssl-cert 0640 targets keep owner and
// mode through install and rollback; a run SIGKILLed between the two renames of one activation (strace
// fault injection) or during a slow `activate` command leaves key and certificate matching next run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind, type BindHandle } from '../harness/bind.js';
import { makeCa, makeLeaf, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, CLI, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';
import { describeFile, ensureGroup, ensureUnprivilegedUser, runAs, type Account } from '../harness/accounts.js';
import { certSpkiSha256, keySpkiSha256 } from '../harness/e2e.js';
import type { HarnessContext } from '../harness/tempdir.js';

const isRoot = process.getuid?.() === 0;
const BINARIES = ['named', 'dig', 'openssl', 'stat', 'setpriv'];

interface Rig {
  bind: BindHandle;
  ws: Workspace;
  a: CertFiles;
  b: CertFiles;
  c: CertFiles;
  user: Account;
  /** A directory for install targets: root 0755 unless a test changes it. */
  srv: string;
  write(entry: Record<string, unknown>): string;
  status(): Promise<any>;
}

async function setup(t: HarnessContext, name: string): Promise<Rig> {
  const bind = await startBind(t, { zone: 'example.test', ttl: 1, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa(`Install ${name}`);
  t.after(() => { ws.remove(); removeCertDir(ca); });
  chmodSync(ws.dir, 0o711); // the unprivileged user may reach its directory, not list ours
  const [a, b, c] = [1, 2, 3].map(() => makeLeaf(ca, ['mx.example.test']));
  const srv = join(ws.dir, 'srv');
  mkdirSync(srv);
  chmodSync(srv, 0o755);
  const user = ensureUnprivilegedUser(t);
  let config = '';
  return {
    bind, ws, a: a!, b: b!, c: c!, user, srv,
    write(entry) {
      // No probe: the operator states what is served now (certificate A, installed by each test).
      config = ws.writeConfig(bindConfig(ws, bind, { reload: ['true'], probe: { protocol: 'none' }, live: a!.fullchainPath, ...entry }, { ttl: 1, timeout: '1s', rollover: { propagationTimeout: '30s' } }));
      return config;
    },
    status: async () => JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout).certificates[0],
  };
}

/** Every file in `dir` described by stat(1)/sha256sum(1), for "nothing changed" assertions. */
function describeDir(dir: string): string {
  return spawnSync('sh', ['-c', 'for f in "$1"/* "$1"/.[!.]*; do [ -e "$f" ] || [ -L "$f" ] && printf "%s %s\\n" "$f" "$(stat -c "%U:%G %a %F %s" "$f")"; done', 'sh', dir], { encoding: 'utf8' }).stdout;
}

/** openssl: do the installed certificate and key belong together? */
function pairMatches(certPath: string, keyPath: string): boolean {
  return certSpkiSha256(certPath) === keySpkiSha256(keyPath);
}

test('an install directory an unprivileged user controls: deploy, pre-deploy and activation refuse (78) and write nothing', { timeout: 120_000, skip: !isRoot && 'needs root' }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const r = await setup(t, 'unsafe');
  const fullchain = join(r.srv, 'fullchain.pem');
  const key = join(r.srv, 'key.pem');
  copyFileSync(r.a.fullchainPath, fullchain);
  copyFileSync(r.a.keyPath, key);
  const config = r.write({ install: { fullchain, key } });
  // The service account owns the directory and its group may write it.
  chownSync(r.srv, r.user.uid, r.user.gid);
  chmodSync(r.srv, 0o770);
  const before = describeDir(r.srv);
  const serial = await r.bind.serial();

  const d = await runCli(['deploy', '-c', config, '--pem', r.b.combinedPath]);
  assert.equal(d.code, 78, d.stderr);
  assert.match(d.stderr, new RegExp(`refusing to install: install\\.fullchain ${fullchain}: ${r.srv} is owned by uid ${r.user.uid} \\(${r.user.name}\\)`));
  assert.match(d.stderr, /is writable by group .* \(mode 0770; chmod g-w,o-w /);
  assert.match(d.stderr, /install\.allowWritableDir: true/);
  assert.ok(!existsSync(r.ws.stateDir), 'no state written');
  assert.equal(await r.bind.serial(), serial, 'no DNS write');
  assert.equal(describeDir(r.srv), before);
  const pre = await runCli(['pre-deploy', '-c', config]);
  assert.equal(pre.code, 78, pre.stderr);
  assert.match(pre.stderr, /install targets of "mx"/);

  // Safe at deploy, taken over before activation: refused at activation, nothing installed.
  chownSync(r.srv, 0, 0);
  chmodSync(r.srv, 0o755);
  assert.equal((await runCli(['deploy', '-c', config, '--pem', r.b.combinedPath])).code, 0);
  chownSync(r.srv, r.user.uid, r.user.gid);
  chmodSync(r.srv, 0o770);
  const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(w.code, 78, w.stderr);
  assert.equal(describeDir(r.srv), before, 'targets untouched');
  const st = await r.status();
  assert.equal(st.rollovers.at(-1).phase, 'propagated', 'not activating: retried once the directory is fixed');
  assert.match(st.rollovers.at(-1).lastError, /refusing to install/);
  assert.ok(!existsSync(join(r.ws.stateDir, 'backup')), 'not even a backup was taken');

  chownSync(r.srv, 0, 0);
  chmodSync(r.srv, 0o755);
  const ok = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(pairMatches(fullchain, key));
  assert.equal(certSpkiSha256(fullchain), certSpkiSha256(r.b.certPath));
});

test('allowWritableDir: symlinks the unprivileged user plants at the targets, and symlinks at the backup paths, are never followed', { timeout: 120_000, skip: !isRoot && 'needs root' }, async (t) => {
  if (!requireBinaries(t, [...BINARIES, 'ln'])) return;
  const r = await setup(t, 'symlinks');
  const sslCert = ensureGroup(t, 'ssl-cert');
  // Root's files elsewhere that the attack aims at: a certificate file and a key-like file.
  const sentinels = [1, 2].map(() => `/etc/danehook-sentinel-${randomBytes(4).toString('hex')}`);
  t.after(() => sentinels.forEach((s) => rmSync(s, { force: true })));
  writeFileSync(sentinels[0]!, readFileSync(r.a.fullchainPath));
  writeFileSync(sentinels[1]!, 'root secret\n');
  for (const s of sentinels) {
    chownSync(s, 0, sslCert);
    chmodSync(s, 0o640);
  }
  const witness = () => sentinels.map(describeFile);
  const before = witness();
  chownSync(r.srv, r.user.uid, r.user.gid);
  chmodSync(r.srv, 0o770);
  const fullchain = join(r.srv, 'fullchain.pem');
  const key = join(r.srv, 'key.pem');
  runAs(r.user, ['ln', '-s', sentinels[0]!, fullchain]);
  runAs(r.user, ['ln', '-s', sentinels[1]!, key]);

  // Allowed directory, but a symlink target is refused by default.
  let config = r.write({ install: { fullchain, key, allowWritableDir: true } });
  const d = await runCli(['deploy', '-c', config, '--pem', r.b.combinedPath]);
  assert.equal(d.code, 78, d.stderr);
  assert.match(d.stderr, new RegExp(`install\\.fullchain ${fullchain} is a symlink: danehook never writes through one`));
  assert.match(d.stderr, /install\.replaceSymlinks: true/);
  assert.deepEqual(witness(), before);

  // replaceSymlinks: the links are replaced by regular files; the sentinels stay as they were.
  config = r.write({ install: { fullchain, key, allowWritableDir: true, replaceSymlinks: true } });
  const d2 = await runCli(['deploy', '-c', config, '--pem', r.b.combinedPath]);
  assert.equal(d2.code, 0, d2.stderr);
  // Symlinks planted at this rollover's backup paths (as if the state dir were reachable): the
  // activation clears them (unlink, never followed) before writing its own backups.
  const rolloverId = (await r.status()).rollovers.at(-1).id;
  const backupDir = join(r.ws.stateDir, 'backup', 'mx', rolloverId);
  mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  for (const kind of ['fullchain', 'key']) {
    symlinkSync(sentinels[0]!, join(backupDir, `${kind}.data`));
    symlinkSync(sentinels[1]!, join(backupDir, `${kind}.json`));
  }
  const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(w.code, 0, w.stderr);
  assert.deepEqual(witness(), before, 'sentinels keep content, owner and mode');
  assert.match(describeFile(fullchain), /^root:root 600 regular file /);
  assert.match(describeFile(key), /^root:root 600 regular file /);
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(r.b.fullchainPath, 'utf8'));
  assert.ok(pairMatches(fullchain, key));
});

test('root:ssl-cert 0640 targets keep owner, group and mode after install and after a rollback', { timeout: 120_000, skip: !isRoot && 'needs root' }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const r = await setup(t, 'metadata');
  const sslCert = ensureGroup(t, 'ssl-cert');
  const fullchain = join(r.srv, 'fullchain.pem');
  const key = join(r.srv, 'key.pem');
  for (const [src, dst] of [[r.a.fullchainPath, fullchain], [r.a.keyPath, key]] as const) {
    copyFileSync(src, dst);
    chownSync(dst, 0, sslCert);
    chmodSync(dst, 0o640);
  }
  const meta = (p: string) => describeFile(p).split(' ').slice(0, 2).join(' ');
  let config = r.write({ install: { fullchain, key } });
  assert.equal((await runCli(['deploy', '-c', config, '--pem', r.b.combinedPath])).code, 0);
  const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(meta(fullchain), 'root:ssl-cert 640', 'install kept the target’s metadata');
  assert.equal(meta(key), 'root:ssl-cert 640');
  assert.equal(certSpkiSha256(fullchain), certSpkiSha256(r.b.certPath));
  const installed = [fullchain, key].map(describeFile);

  // A failing reload rolls back: the restored files have their own metadata, not root 0600.
  config = r.write({ install: { fullchain, key }, reload: ['false'] });
  assert.equal((await runCli(['deploy', '-c', config, '--pem', r.c.combinedPath])).code, 0);
  const rb = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(rb.code, 69, rb.stderr);
  assert.match(rb.stderr, /rolled back/);
  assert.deepEqual([fullchain, key].map(describeFile), installed, 'content, owner, group and mode as before the attempt');
  assert.ok(pairMatches(fullchain, key));
});

/** Run the CLI under strace, SIGKILLed on its first openat(2) of `dir` (after the rename into it). */
function runKilledAtDirOpen(dir: string, args: string[]): { status: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const r = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-P', dir, '-e', 'trace=openat,open', '-e', 'inject=openat,open:error=EIO:signal=KILL', process.execPath, CLI, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeout: 60_000,
  });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

test('killed between the two renames of one activation: not superseded by a newer renewal; the next run restores and activates; key and certificate match', { timeout: 120_000, skip: !isRoot && 'needs root' }, async (t) => {
  if (!requireBinaries(t, [...BINARIES, 'strace'])) return;
  const r = await setup(t, 'crash-rename');
  // Certificate and key in different directories: the writer fsyncs the certificate's directory
  // right after renaming the certificate, before it touches the key — that open is where it dies.
  const certDir = join(r.srv, 'certs');
  const keyDir = join(r.srv, 'private');
  for (const d of [certDir, keyDir]) mkdirSync(d, { mode: 0o755 });
  const fullchain = join(certDir, 'fullchain.pem');
  const key = join(keyDir, 'key.pem');
  copyFileSync(r.a.fullchainPath, fullchain);
  copyFileSync(r.a.keyPath, key);
  const config = r.write({ install: { fullchain, key } });
  assert.equal((await runCli(['deploy', '-c', config, '--pem', r.b.combinedPath])).code, 0);

  const killed = runKilledAtDirOpen(certDir, ['post-deploy', '--wait', '-c', config]);
  assert.ok(killed.signal === 'SIGKILL' || killed.status === 137, `killed by SIGKILL (status ${killed.status}, signal ${killed.signal}): ${killed.stderr}`);
  // The crash window was hit: the new certificate beside the old key, and the state says so.
  assert.equal(certSpkiSha256(fullchain), certSpkiSha256(r.b.certPath), 'certificate renamed');
  assert.equal(keySpkiSha256(key), keySpkiSha256(r.a.keyPath), 'key not yet');
  assert.ok(!pairMatches(fullchain, key));
  assert.equal((await r.status()).rollovers.at(-1).phase, 'activating');

  // A newer renewal arrives before the next run: it must not supersede the half-installed
  // rollover (nothing would then restore its files until the newer one activated).
  const bId = (await r.status()).rollovers.at(-1).id;
  assert.equal((await runCli(['deploy', '-c', config, '--pem', r.c.combinedPath])).code, 0);
  assert.equal((await r.status()).rollovers.find((x: { id: string }) => x.id === bId).phase, 'activating', 'not superseded');

  const next = await runCli(['post-deploy', '-c', config], { timeoutMs: 60_000 });
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stderr, /stopped while installing rollover .*restored .*fullchain\.pem/);
  assert.ok(pairMatches(fullchain, key), 'key and certificate match after the recovering run');
  const rest = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(rest.code, 0, rest.stderr);
  assert.ok(pairMatches(fullchain, key));
  assert.equal(certSpkiSha256(fullchain), certSpkiSha256(r.c.certPath), 'the newer renewal is live in the end');
  assert.ok((await r.status()).rollovers.every((x: { phase: string }) => x.phase === 'cleaned'));
  const phases = readFileSync(join(r.ws.stateDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'phase' && e.rollover === bId).map((e) => e.phase);
  assert.deepEqual(phases.slice(phases.indexOf('activating')), ['activating', 'propagated', 'activating', 'activated', 'cleaned']);
});

test('killed during a slow activate command: the next run restores first, so a failing re-activation rolls back to the files from before', { timeout: 120_000, skip: !isRoot && 'needs root' }, async (t) => {
  if (!requireBinaries(t, BINARIES)) return;
  const r = await setup(t, 'crash-activate');
  const fullchain = join(r.srv, 'fullchain.pem');
  const key = join(r.srv, 'key.pem');
  copyFileSync(r.a.fullchainPath, fullchain);
  copyFileSync(r.a.keyPath, key);
  const pidFile = join(r.ws.dir, 'activate.pid');
  const slow = join(r.ws.dir, 'slow');
  writeFileSync(slow, '');
  const activate = ['sh', '-c', `echo $$ > ${pidFile}; if [ -e ${slow} ]; then exec sleep 60; fi`];
  const config = r.write({ install: { fullchain, key }, activate });
  assert.equal((await runCli(['deploy', '-c', config, '--pem', r.b.combinedPath])).code, 0);

  const child = spawn(process.execPath, [CLI, 'post-deploy', '--wait', '-c', config], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: 'ignore' });
  const closed = new Promise((res) => child.on('close', res));
  for (let i = 0; i < 300 && !existsSync(pidFile); i++) await new Promise((res) => setTimeout(res, 100));
  assert.ok(existsSync(pidFile), 'the activate command started');
  child.kill('SIGKILL');
  await closed;
  try { process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
  assert.equal((await r.status()).rollovers.at(-1).phase, 'activating');
  assert.ok(pairMatches(fullchain, key), 'both installed before the kill');

  rmSync(slow);
  // The next activation fails (reload): the rollback must restore the files from before the
  // killed run, not the ones that run had installed.
  const failing = r.write({ install: { fullchain, key }, activate, reload: ['false'] });
  const next = await runCli(['post-deploy', '--wait', '-c', failing], { timeoutMs: 60_000 });
  assert.equal(next.code, 69, next.stderr);
  assert.match(next.stderr, /stopped while installing/);
  assert.ok(pairMatches(fullchain, key));
  assert.equal(certSpkiSha256(fullchain), certSpkiSha256(r.a.certPath), 'the certificate from before the attempt');
  assert.equal((await r.status()).rollovers.at(-1).phase, 'rolled-back');
  // Fixed and retried: converges.
  r.write({ install: { fullchain, key }, activate });
  assert.equal((await runCli(['deploy', '--retry', '--id', 'mx', '-c', config])).code, 0);
  const ok = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(pairMatches(fullchain, key));
  assert.equal(certSpkiSha256(fullchain), certSpkiSha256(r.b.certPath));
  assert.equal((await r.status()).rollovers.at(-1).phase, 'cleaned');
});
