// Which install directories and targets root refuses (exit 78), on real directories: writable by
// a group or everyone, owned by another user (the directory or any parent, as written or behind a
// symlink), sticky parents like /tmp accepted; symlink, FIFO and directory targets; the
// allowWritableDir / replaceSymlinks options; extra rules for a directory others may write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computePrefixes, readDirProblems } from '../../../src/io/dir-safety.js';
import { assertInstallSafe, readInstallProblems, type InstallConfig } from '../../../src/io/install-safety.js';
import { computeInstallMeta } from '../../../src/io/install-meta.js';
import { ConfigError } from '../../../src/errors.js';
import { makeTempDir } from '../../harness/tempdir.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const skip = !isRoot && 'needs root (chown)';

function root(t: { after(fn: () => void): void }): string {
  const dir = makeTempDir('safety');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const install = (o: Partial<InstallConfig>): InstallConfig => ({ allowWritableDir: false, replaceSymlinks: false, ...o });

test('computePrefixes walks from / down', () => {
  assert.deepEqual(computePrefixes('/a/b/c'), ['/', '/a', '/a/b', '/a/b/c']);
  assert.deepEqual(computePrefixes('/'), ['/']);
});

test('a root-owned 0755 directory under a sticky /tmp is safe; a missing one has nothing to check', { skip }, (t) => {
  const base = root(t);
  const d = join(base, 'ok');
  mkdirSync(d, { mode: 0o755 });
  assert.deepEqual(readDirProblems(d, 0), []);
  assert.deepEqual(readDirProblems(join(base, 'missing', 'deeper'), 0), []);
});

const unsafeRows: Array<[string, (d: string) => void, RegExp]> = [
  ['group-writable', (d) => chmodSync(d, 0o775), /is writable by group 0 \(root\) \(mode 0775; chmod g-w,o-w /],
  ['world-writable', (d) => chmodSync(d, 0o757), /is writable by everyone \(mode 0757/],
  ['sticky world-writable as the target’s own directory', (d) => chmodSync(d, 0o1777), /is writable by group 0 \(root\) and everyone \(mode 01777/],
  ['owned by another user, even 0755', (d) => chownSync(d, NOBODY, 0), /is owned by uid 65534 \(nobody\) \(chown root /],
];
for (const [name, mutate, want] of unsafeRows) {
  test(`unsafe directory: ${name}`, { skip }, (t) => {
    const d = join(root(t), 'dir');
    mkdirSync(d, { mode: 0o755 });
    mutate(d);
    const problems = readDirProblems(d, 0);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, want);
    assert.ok(problems[0]!.includes(d));
  });
}

test('a parent owned by another user, or writable without the sticky bit, makes every directory below unsafe', { skip }, (t) => {
  const base = root(t);
  const parent = join(base, 'parent');
  const d = join(parent, 'certs');
  mkdirSync(d, { recursive: true, mode: 0o755 });
  chmodSync(parent, 0o777);
  assert.match(readDirProblems(d, 0).join('\n'), new RegExp(`${parent} is writable by group 0 \\(root\\) and everyone`));
  chmodSync(parent, 0o1777); // sticky, like /tmp: no one else can rename "certs"
  assert.deepEqual(readDirProblems(d, 0), []);
  chmodSync(parent, 0o755);
  chownSync(parent, NOBODY, 0);
  assert.match(readDirProblems(d, 0).join('\n'), new RegExp(`${parent} is owned by uid 65534`));
  // The user danehook runs as may own them.
  assert.deepEqual(readDirProblems(d, NOBODY), []);
});

test('a symlinked directory is checked where it leads too', { skip }, (t) => {
  const base = root(t);
  const real = join(base, 'real');
  mkdirSync(real);
  chmodSync(real, 0o775);
  const link = join(base, 'link');
  symlinkSync(real, link);
  assert.match(readDirProblems(link, 0).join('\n'), new RegExp(`${real} is writable by group`));
});

test('targets: symlink refused unless replaceSymlinks; FIFO and directory refused', { skip }, (t) => {
  const d = join(root(t), 'etc');
  mkdirSync(d, { mode: 0o755 });
  symlinkSync('/etc/hostname', join(d, 'cert.pem'));
  mkdirSync(join(d, 'key.pem'));
  const p = readInstallProblems(install({ certificate: join(d, 'cert.pem'), key: join(d, 'key.pem') }), 0);
  assert.equal(p.length, 2, p.join('\n'));
  assert.match(p[0]!, /install\.certificate .*cert\.pem is a symlink: danehook never writes through one; point install\.certificate at the file it leads to, or set install\.replaceSymlinks: true/);
  assert.match(p[1]!, /install\.key .*key\.pem is a directory, not a regular file/);
  assert.deepEqual(readInstallProblems(install({ certificate: join(d, 'cert.pem'), replaceSymlinks: true }), 0), []);
});

test('allowWritableDir accepts the directory, but not a foreign-owned or hard-linked target in it', { skip }, (t) => {
  const base = root(t);
  const d = join(base, 'svc');
  mkdirSync(d, { mode: 0o770 });
  chownSync(d, NOBODY, NOBODY);
  const key = join(d, 'key.pem');
  writeFileSync(key, 'k', { mode: 0o600 });
  chownSync(key, NOBODY, NOBODY);
  assert.ok(readInstallProblems(install({ key }), 0).length >= 2, 'refused without the option');
  const allowed = readInstallProblems(install({ key, allowWritableDir: true }), 0);
  assert.equal(allowed.length, 1, allowed.join('\n'));
  assert.match(allowed[0]!, /is owned by uid 65534 \(nobody\) in a directory others can write; set install\.owner/);
  assert.deepEqual(readInstallProblems(install({ key, allowWritableDir: true, owner: 'nobody' }), 0), []);
  linkSync(key, join(d, 'other-link'));
  assert.match(readInstallProblems(install({ key, allowWritableDir: true, owner: 'nobody' }), 0).join(), /has 2 hard links/);
});

test('assertInstallSafe: ConfigError 78 naming the id, the paths and the option', { skip }, (t) => {
  const d = join(root(t), 'w');
  mkdirSync(d, { mode: 0o777 });
  chmodSync(d, 0o777);
  assert.throws(
    () => assertInstallSafe('mx', install({ fullchain: join(d, 'f.pem') })),
    (e: unknown) => e instanceof ConfigError && e.exitCode === 78 && /^"mx": refusing to install: install\.fullchain .*f\.pem: .* is writable by group 0 \(root\) and everyone/.test(e.message) && /allowWritableDir: true/.test(e.hint ?? ''),
  );
  assert.doesNotThrow(() => assertInstallSafe('mx', install({ fullchain: join(d, 'f.pem'), allowWritableDir: true })));
  assert.doesNotThrow(() => assertInstallSafe('mx', undefined));
});

test('computeInstallMeta: configured wins, else kept, else a new file is 0600 with our ids', () => {
  const file = { type: 'file' as const, data: Buffer.alloc(0), nlink: 1, uid: 0, gid: 112, mode: 0o640 };
  assert.deepEqual(computeInstallMeta(file, {}), { mode: 0o640, uid: 0, gid: 112 });
  assert.deepEqual(computeInstallMeta(file, { mode: 0o600, gid: -1 }), { mode: 0o600, uid: 0, gid: 112 });
  assert.deepEqual(computeInstallMeta(file, { uid: 5, gid: 6 }), { mode: 0o640, uid: 5, gid: 6 });
  assert.deepEqual(computeInstallMeta({ type: 'absent' }, {}), { mode: 0o600, uid: undefined, gid: undefined });
  const link = { type: 'symlink' as const, linkTarget: '/x', uid: 7, gid: 7, mode: 0o777 };
  assert.deepEqual(computeInstallMeta(link, {}), { mode: 0o600, uid: undefined, gid: undefined }, 'a replaced link copies nothing');
});
