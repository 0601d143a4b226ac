// installMaterial / restoreMaterial on real files: each target keeps its own owner, group and mode
// unless the entry sets them; new files are 0600; a rollback restores the backup's own metadata
// (not the configured one); absent targets are removed again; planted symlinks at targets and
// backup paths are never followed; torn backups are not restored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { installMaterial, restoreMaterial, type CertMaterial } from '../../../src/io/files.js';
import { readBackup } from '../../../src/io/backup.js';
import { readPathNoFollow } from '../../../src/io/read-nofollow.js';
import { StateIoError } from '../../../src/errors.js';
import { makeTempDir } from '../../harness/tempdir.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

const material: CertMaterial = { certificate: 'CERT\n', chain: 'CHAIN\n', fullchain: 'CERT\nCHAIN\n', key: 'KEY\n', combined: 'KEY\nCERT\nCHAIN\n' };

function setup(t: { after(fn: () => void): void }) {
  const dir = makeTempDir('install');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etc = join(dir, 'etc');
  mkdirSync(etc, { mode: 0o755 });
  return { dir, etc, backup: join(dir, 'state', 'backup', 'mx', 'r1') };
}

/** uid gid octal-mode, as stat(1) prints them: an independent tool. */
const statOf = (p: string) => execFileSync('stat', ['-c', '%u %g %a', p], { encoding: 'utf8' }).trim();

test('an existing target keeps its owner, group and mode; a new one is 0600', { skip: !isRoot && 'needs root' }, (t) => {
  const { etc, backup } = setup(t);
  const fullchain = join(etc, 'fullchain.pem');
  const key = join(etc, 'key.pem');
  writeFileSync(fullchain, 'OLD\n', { mode: 0o640 });
  chownSync(fullchain, 0, NOBODY);
  installMaterial({ fullchain, key }, material, backup);
  assert.equal(readFileSync(fullchain, 'utf8'), material.fullchain);
  assert.equal(statOf(fullchain), `0 ${NOBODY} 640`);
  assert.equal(statOf(key), '0 0 600');
});

test('what the entry sets wins over what the target had', { skip: !isRoot && 'needs root' }, (t) => {
  const { etc, backup } = setup(t);
  const fullchain = join(etc, 'fullchain.pem');
  writeFileSync(fullchain, 'OLD\n', { mode: 0o644 });
  installMaterial({ fullchain }, material, backup, { mode: 0o640, gid: NOBODY });
  assert.equal(statOf(fullchain), `0 ${NOBODY} 640`);
});

test('restore puts back the backup’s own content, owner, group and mode — not the configured ones', { skip: !isRoot && 'needs root' }, (t) => {
  const { etc, backup } = setup(t);
  const fullchain = join(etc, 'fullchain.pem');
  const key = join(etc, 'key.pem');
  writeFileSync(fullchain, 'OLD CHAIN\n', { mode: 0o640 });
  chownSync(fullchain, 0, NOBODY);
  writeFileSync(key, 'OLD KEY\n', { mode: 0o600 });
  installMaterial({ fullchain, key }, material, backup, { mode: 0o644, uid: NOBODY });
  assert.equal(statOf(fullchain), `${NOBODY} ${NOBODY} 644`);
  const restored = restoreMaterial({ fullchain, key }, backup);
  assert.deepEqual(restored, [fullchain, key]);
  assert.equal(readFileSync(fullchain, 'utf8'), 'OLD CHAIN\n');
  assert.equal(statOf(fullchain), `0 ${NOBODY} 640`);
  assert.equal(readFileSync(key, 'utf8'), 'OLD KEY\n');
  assert.equal(statOf(key), '0 0 600');
  // The backup itself is private whatever the original's mode.
  assert.equal(statOf(join(backup, 'fullchain.data')), '0 0 600');
  assert.equal(statOf(join(backup, 'fullchain.json')), '0 0 600');
});

test('a target that did not exist is removed again by restore', (t) => {
  const { etc, backup } = setup(t);
  const key = join(etc, 'key.pem');
  installMaterial({ key }, material, backup);
  assert.ok(existsSync(key));
  restoreMaterial({ key }, backup);
  assert.ok(!existsSync(key));
  restoreMaterial({ key }, backup); // idempotent: a crash during restore just repeats it
  assert.ok(!existsSync(key));
});

test('a symlink target: refused unless replaceSymlinks; then replaced, and restore puts the link back', (t) => {
  const { dir, etc, backup } = setup(t);
  const sentinel = join(dir, 'sentinel');
  writeFileSync(sentinel, 'precious\n', { mode: 0o644 });
  const fullchain = join(etc, 'fullchain.pem');
  symlinkSync(sentinel, fullchain);
  assert.throws(() => installMaterial({ fullchain }, material, backup), (e: unknown) => e instanceof StateIoError && /symlink/.test(e.message));
  assert.equal(readlinkSync(fullchain), sentinel);
  installMaterial({ fullchain }, material, backup, { replaceSymlinks: true });
  assert.ok(lstatSync(fullchain).isFile());
  assert.equal(statSync(fullchain).mode & 0o777, 0o600, 'a replaced link is a new file: 0600');
  assert.equal(readFileSync(sentinel, 'utf8'), 'precious\n');
  restoreMaterial({ fullchain }, backup);
  assert.equal(readlinkSync(fullchain), sentinel);
  assert.equal(readFileSync(sentinel, 'utf8'), 'precious\n');
  assert.equal(statSync(sentinel).mode & 0o777, 0o644);
});

test('symlinks planted at the backup paths are replaced, not followed', (t) => {
  const { dir, etc, backup } = setup(t);
  const sentinel = join(dir, 'sentinel');
  writeFileSync(sentinel, 'precious\n', { mode: 0o644 });
  const key = join(etc, 'key.pem');
  writeFileSync(key, 'OLD KEY\n', { mode: 0o600 });
  mkdirSync(backup, { recursive: true, mode: 0o700 });
  symlinkSync(sentinel, join(backup, 'key.data'));
  symlinkSync(sentinel, join(backup, 'key.json'));
  installMaterial({ key }, material, backup);
  assert.equal(readFileSync(sentinel, 'utf8'), 'precious\n');
  assert.ok(lstatSync(join(backup, 'key.data')).isFile());
  restoreMaterial({ key }, backup);
  assert.equal(readFileSync(key, 'utf8'), 'OLD KEY\n');
});

test('a backup that is torn, foreign or of another path is not restored', (t) => {
  const { dir, etc, backup } = setup(t);
  const key = join(etc, 'key.pem');
  writeFileSync(key, 'OLD KEY\n', { mode: 0o600 });
  installMaterial({ key }, material, backup);
  // Data no longer matches the record's hash (a torn write, or someone else's file).
  writeFileSync(join(backup, 'key.data'), 'OTHER');
  assert.equal(readBackup(backup, 'key'), undefined);
  assert.deepEqual(restoreMaterial({ key }, backup), []);
  assert.equal(readFileSync(key, 'utf8'), material.key, 'left as it is');
  // A record that is a symlink is not read through.
  rmSync(join(backup, 'key.json'));
  symlinkSync(join(dir, 'elsewhere.json'), join(backup, 'key.json'));
  assert.equal(readBackup(backup, 'key'), undefined);
  // A backup recorded for another path (the config changed since) is not this target's.
  const other = join(etc, 'other.pem');
  writeFileSync(other, 'X');
  installMaterial({ key: other }, material, backup);
  assert.deepEqual(restoreMaterial({ key }, backup), []);
});

test('a FIFO at a target is refused without blocking', (t) => {
  const { etc, backup } = setup(t);
  const fifo = join(etc, 'key.pem');
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => installMaterial({ key: fifo }, material, backup), /a FIFO/);
  assert.equal(readPathNoFollow(fifo).type, 'other');
});
