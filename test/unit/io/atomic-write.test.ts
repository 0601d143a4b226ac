// The one atomic writer on real files: exact mode whatever the umask, owner set on the descriptor,
// a symlink at the target replaced (never written through), random temp names, no temp left behind,
// errors as exit 74 naming the path, readers never see a half-written file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeStaleTemps, writeFileAtomic, writeSymlinkAtomic } from '../../../src/io/atomic-write.js';
import { StateIoError } from '../../../src/errors.js';
import { makeTempDir } from '../../harness/tempdir.js';

const isRoot = process.getuid?.() === 0;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = makeTempDir('atomic-write');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('content and mode are exact, whatever the umask', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cert.pem');
  const old = process.umask(0o077);
  try {
    writeFileAtomic(path, 'hello\n', { mode: 0o644 });
  } finally {
    process.umask(old);
  }
  assert.equal(readFileSync(path, 'utf8'), 'hello\n');
  assert.equal(statSync(path).mode & 0o7777, 0o644);
  writeFileAtomic(path, Buffer.from([0, 1, 2]), { mode: 0o600 });
  assert.deepEqual([...readFileSync(path)], [0, 1, 2]);
  assert.equal(statSync(path).mode & 0o7777, 0o600);
});

test('owner and group are set (fchown on the descriptor)', { skip: !isRoot && 'needs root' }, (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'key.pem');
  writeFileAtomic(path, 'k', { mode: 0o640, uid: 65534, gid: 65534 });
  const st = statSync(path);
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [65534, 65534, 0o640]);
  // -1 / undefined: the id stays as created (ours).
  writeFileAtomic(path, 'k2', { mode: 0o600, uid: -1 });
  assert.deepEqual([statSync(path).uid, statSync(path).gid], [0, 0]);
});

test('a symlink at the target is replaced, never written through', (t) => {
  const dir = tempDir(t);
  const sentinel = join(dir, 'sentinel');
  writeFileSync(sentinel, 'precious\n', { mode: 0o644 });
  const path = join(dir, 'cert.pem');
  symlinkSync(sentinel, path);
  writeFileAtomic(path, 'new\n', { mode: 0o600 });
  assert.equal(readFileSync(sentinel, 'utf8'), 'precious\n');
  assert.equal(statSync(sentinel).mode & 0o7777, 0o644);
  assert.ok(lstatSync(path).isFile(), 'the link itself was replaced by a regular file');
  assert.equal(readFileSync(path, 'utf8'), 'new\n');
});

test('temp names are random and never left behind; the old predictable name is not used', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.pem');
  // A planted symlink at the name the old writer used (".<name>.danehook-<pid>") is ignored.
  const sentinel = join(dir, 'sentinel');
  writeFileSync(sentinel, 'precious');
  symlinkSync(sentinel, join(dir, `.x.pem.danehook-${process.pid}`));
  const created: string[] = [];
  const watcher = watch(dir, (_event, name) => name && name.startsWith('.x.pem.danehook-') && !created.includes(name) && created.push(name));
  try {
    for (let i = 0; i < 5; i++) writeFileAtomic(path, `v${i}`, { mode: 0o600 });
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    watcher.close();
  }
  const temps = created.filter((n) => n !== `.x.pem.danehook-${process.pid}`);
  assert.equal(temps.length, 5, `five distinct temp names: ${temps.join(', ')}`);
  for (const n of temps) assert.match(n, /^\.x\.pem\.danehook-[0-9a-f]{24}$/);
  assert.equal(readFileSync(sentinel, 'utf8'), 'precious');
  assert.deepEqual(readdirSync(dir).sort(), ['.x.pem.danehook-' + process.pid, 'sentinel', 'x.pem'].sort());
});

test('errors are exit 74 naming the path; no temp file is left', (t) => {
  const dir = tempDir(t);
  assert.throws(
    () => writeFileAtomic(join(dir, 'missing', 'f'), 'x', { mode: 0o600, what: 'installing' }),
    (e: unknown) => e instanceof StateIoError && e.exitCode === 74 && /^installing .*missing\/f failed \(ENOENT\)$/.test(e.message),
  );
  // rename onto a non-empty directory fails after the temp exists: the temp is removed.
  const target = join(dir, 'busy');
  mkdirSync(target);
  writeFileSync(join(target, 'inside'), '');
  assert.throws(() => writeFileAtomic(target, 'x', { mode: 0o600 }), (e: unknown) => e instanceof StateIoError && /busy failed \((EISDIR|ENOTEMPTY|EEXIST)\)/.test(e.message));
  assert.deepEqual(readdirSync(dir), ['busy']);
});

test('writeSymlinkAtomic puts a link in place of a file', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cert.pem');
  writeFileSync(path, 'file');
  writeSymlinkAtomic(path, '/etc/ssl/certs/ssl-cert-snakeoil.pem');
  assert.equal(readlinkSync(path), '/etc/ssl/certs/ssl-cert-snakeoil.pem');
  assert.deepEqual(readdirSync(dir), ['cert.pem']);
});

test('readers never see a half-written file while writers in 3 processes replace it', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.json');
  const big = (c: string) => c.repeat(256 * 1024);
  writeFileAtomic(path, big('a'), { mode: 0o600 });
  const writerModule = fileURLToPath(new URL('../../../src/io/atomic-write.ts', import.meta.url));
  const script = `import { writeFileAtomic } from ${JSON.stringify(writerModule)};
    for (let i = 0; i < 40; i++) writeFileAtomic(${JSON.stringify(path)}, ${JSON.stringify('')} + process.argv[1].repeat(256 * 1024), { mode: 0o600 });`;
  const writers = ['b', 'c', 'd'].map((c) => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, c], { stdio: 'inherit' }));
  const done = Promise.all(writers.map((w) => new Promise((r) => w.on('close', r))));
  let reads = 0;
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    const text = readFileSync(path, 'utf8');
    assert.equal(text.length, 256 * 1024, 'a whole file');
    assert.ok(/^(a+|b+|c+|d+)$/.test(text), 'one writer’s content');
    reads++;
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(reads > 0);
  assert.deepEqual(readdirSync(dir), ['state.json'], 'no temp file left');
});

test('removeStaleTemps removes only our own leftover temp files of that target', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'key.pem');
  const ours = join(dir, `.key.pem.danehook-${'a1'.repeat(12)}`);
  writeFileSync(ours, 'half a key');
  const keep = [`.key.pem.danehook-${process.pid}`, `.other.pem.danehook-${'b2'.repeat(12)}`, 'key.pem'];
  for (const n of keep) writeFileSync(join(dir, n), 'x');
  const sentinel = join(dir, 'sentinel');
  writeFileSync(sentinel, 'precious');
  symlinkSync(sentinel, join(dir, `.key.pem.danehook-${'c3'.repeat(12)}`));
  assert.deepEqual(removeStaleTemps(path), [ours]);
  assert.deepEqual(readdirSync(dir).sort(), [...keep, `.key.pem.danehook-${'c3'.repeat(12)}`, 'sentinel'].sort());
  assert.equal(readFileSync(sentinel, 'utf8'), 'precious');
});
