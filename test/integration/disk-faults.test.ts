// The state directory on a tiny tmpfs: full while staging, then read-only. Each run exits 74 with
// the path, writes nothing to DNS (serial unchanged), leaves state.json as it was, and the run
// after the disk recovers converges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, removeCertDir } from '../harness/certs.js';
import { makeWorkspace, runCli } from '../harness/cli.js';

test('disk full and read-only state dir: 74, nothing written, recovery', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'mount', 'umount'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: 1 });
  const ws = makeWorkspace();
  const ca = makeCa('Disk Root');
  const mnt = join(ws.dir, 'mnt');
  mkdirSync(mnt);
  // Root in this sandbox may mount tmpfs; in CI a failure here fails the test (never skipped).
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mnt]);
  t.after(() => {
    try { execFileSync('umount', [mnt]); } catch { /* already */ }
    ws.remove();
    removeCertDir(ca);
  });
  const stateDir = join(mnt, 'state');
  const config = ws.writeConfig({
    stateDir,
    dns: { server: `127.0.0.1:${bind.primary.port}`, tsig: { name: 'danehook-key', keyFile: bind.keyFilePath }, nameservers: [`127.0.0.1:${bind.primary.port}`], ttl: 1, timeout: '1s' },
    certificates: [{ nextKey: { mode: 'off' }, id: 'mx', domains: ['mx.example.test'], ports: [25], install: { fullchain: join(ws.dir, 'fullchain.pem') }, reload: ['true'], probe: { protocol: 'none' }, live: 'none' }],
  });
  const leaf = makeLeaf(ca, ['mx.example.test']);
  mkdirSync(stateDir, { mode: 0o700 });
  writeFileSync(join(stateDir, 'state.json'), '{"version":1,"certificates":{}}\n');
  const stateBefore = readFileSync(join(stateDir, 'state.json'), 'utf8');
  const serial = await bind.serial();

  // Full: fill the filesystem, leaving a few bytes (the lock file still fits, staged keys do not).
  const filler = join(mnt, 'filler');
  try { execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1k', 'count=1000'], { stdio: 'ignore' }); } catch { /* ENOSPC is the point */ }
  const full = await runCli(['deploy', '-c', config, '--pem', leaf.combinedPath]);
  assert.equal(full.code, 74, full.stderr);
  assert.match(full.stderr, new RegExp(`${mnt}.*ENOSPC`));
  assert.equal(await bind.serial(), serial, 'no DNS write while the disk is full');
  assert.equal(readFileSync(join(stateDir, 'state.json'), 'utf8'), stateBefore, 'state unchanged');

  // Read-only.
  rmSync(filler);
  execFileSync('mount', ['-o', 'remount,ro', mnt]);
  const ro = await runCli(['deploy', '-c', config, '--pem', leaf.combinedPath]);
  assert.equal(ro.code, 74, ro.stderr);
  assert.match(ro.stderr, /EROFS/);
  assert.equal(await bind.serial(), serial, 'no DNS write on a read-only state dir');

  // Recovered.
  execFileSync('mount', ['-o', 'remount,rw', mnt]);
  const ok = await runCli(['deploy', '--wait', '-c', config, '--pem', leaf.combinedPath], { timeoutMs: 60_000 });
  assert.equal(ok.code, 0, ok.stderr);
  assert.notEqual(await bind.serial(), serial);
  assert.equal(readFileSync(join(ws.dir, 'fullchain.pem'), 'utf8'), readFileSync(leaf.fullchainPath, 'utf8'));
});
