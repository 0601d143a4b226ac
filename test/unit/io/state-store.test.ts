// StateStore on real files in a temp dir: atomic save / skip-unchanged, load errors (exit 74 with the
// path, file untouched), the lock (wait then 75, takeover of a dead pid or of a pid now naming another
// process — other start time or boot —, live holder respected), events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { StateStore } from '../../../src/io/state-store.js';
import { LockBusyError, StateIoError, TemporaryError } from '../../../src/errors.js';
import { formatLockOwner } from '../../../src/io/lock-owner.js';
import { readBootId, readOwnLockOwner, readProcessStartTime } from '../../../src/io/process-identity.js';
import { emptyState, type State } from '../../../src/core/state.js';
import { makeTempDir } from '../../harness/tempdir.js';

function tempStore(t: { after(fn: () => void): void }): StateStore {
  const dir = makeTempDir('state-store');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return new StateStore(dir);
}

const A = 'a'.repeat(64);
function sampleState(): State {
  return {
    version: 2,
    certificates: {
      mx: {
        live: { spki: A, fingerprint: A, notAfter: '2025-06-01T00:00:00.000Z', records: [{ name: '_25._tcp.mx.example.com.', ttl: 3600, tlsa: `3 1 1 ${A}` }], source: 'installed-files' },
        liveKnown: true,
        rollovers: [],
        owned: [{ name: '_25._tcp.mx.example.com.', ttl: 3600, tlsa: `3 1 1 ${A}` }],
        next: null,
        retiredNext: [],
      },
    },
  };
}

/** Assert `fn` throws a StateIoError with `exitCode` whose message matches every regexp. */
function assertThrowsIo(fn: () => unknown, exitCode: number, ...res: RegExp[]) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StateIoError, `StateIoError expected, got ${String(e)}`);
    assert.equal(e.exitCode, exitCode);
    for (const re of res) assert.match(e.message, re);
    return true;
  });
}

/** What a lock this process takes says: pid, start time, boot id. */
const OWN = formatLockOwner(readOwnLockOwner());

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---------------------------------------------------------------- directory, save, load

test('ensureDir creates a nested state dir with mode 0700', (t) => {
  const base = tempStore(t).dir;
  const store = new StateStore(join(base, 'var', 'lib', 'danehook'));
  store.ensureDir();
  assert.equal(statSync(store.dir).mode & 0o777, 0o700);
  store.ensureDir(); // idempotent
  assert.ok(statSync(store.dir).isDirectory());
});

test('load of an absent state file is the empty state with empty text', (t) => {
  const store = tempStore(t);
  assert.deepEqual(store.load(), { state: emptyState(), text: '' });
  assert.equal(existsSync(store.statePath), false, 'load does not create the file');
});

test('save writes atomically: content round-trips, mode 0600, no temp file left', (t) => {
  const store = tempStore(t);
  const state = sampleState();
  assert.equal(store.save(state, ''), true);
  assert.deepEqual(readdirSync(store.dir), ['state.json']);
  const text = readFileSync(store.statePath, 'utf8');
  assert.equal(text, JSON.stringify(state, null, 2) + '\n');
  assert.equal(statSync(store.statePath).mode & 0o777, 0o600);
  const loaded = store.load();
  assert.deepEqual(loaded.state, state);
  assert.equal(loaded.text, text);
});

test('save of unchanged content returns false and leaves the file (inode, mtime) untouched', async (t) => {
  const store = tempStore(t);
  store.save(sampleState(), '');
  const before = statSync(store.statePath);
  const loaded = store.load();
  await new Promise((r) => setTimeout(r, 30)); // a rewrite would show a later mtime
  assert.equal(store.save(loaded.state, loaded.text), false);
  const after = statSync(store.statePath);
  assert.equal(after.ino, before.ino);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.equal(readFileSync(store.statePath, 'utf8'), loaded.text);
});

test('save of changed content replaces the file by rename (new inode) with the new content', (t) => {
  const store = tempStore(t);
  store.save(sampleState(), '');
  const before = statSync(store.statePath);
  const loaded = store.load();
  loaded.state.certificates.mx!.liveKnown = false;
  assert.equal(store.save(loaded.state, loaded.text), true);
  assert.notEqual(statSync(store.statePath).ino, before.ino);
  assert.equal(store.load().state.certificates.mx!.liveKnown, false);
  assert.deepEqual(readdirSync(store.dir), ['state.json']);
});

test('a failed save is exit 74 naming the path and leaves no temp file', (t) => {
  const store = tempStore(t);
  mkdirSync(store.statePath); // rename onto a directory fails
  assertThrowsIo(() => store.save(sampleState(), ''), 74, new RegExp(`writing state ${escape(store.statePath)} failed \\(E`));
  assert.deepEqual(readdirSync(store.dir), ['state.json']);
});

test('an unreadable state file (a directory) is exit 74 naming the path', (t) => {
  const store = tempStore(t);
  mkdirSync(store.statePath);
  assertThrowsIo(() => store.load(), 74, new RegExp(`reading state ${escape(store.statePath)} failed \\(EISDIR\\)`));
});

// Each row: file content → the message must match (always exit 74, path named, file unchanged).
const corruptRows: Array<[string, string, RegExp]> = [
  ['truncated JSON', '{"version": 1, "certificates": {', /is not valid JSON/],
  ['empty file', '', /is not valid JSON/],
  ['not JSON at all', 'version=1\n', /is not valid JSON/],
  ['future version', JSON.stringify({ version: 3, certificates: {}, somethingNew: [] }), /has version 3, written by a newer danehook \(this one reads 2\); upgrade danehook/],
  ['far future version with unknown shape', JSON.stringify({ version: 17 }), /newer danehook/],
  ['version 0', JSON.stringify({ version: 0, certificates: {} }), /is invalid: version: /],
  ['JSON null', 'null', /is invalid: \(top level\): /],
  ['bad phase', JSON.stringify({ version: 1, certificates: { mx: { live: null, liveKnown: true, owned: [], rollovers: [{ phase: 'nope' }] } } }), /is invalid: .*certificates\.mx\.rollovers\[0\]\.phase: /],
  ['bad owned record', JSON.stringify({ version: 1, certificates: { mx: { live: null, liveKnown: true, rollovers: [], owned: [{ name: 'x.example.', ttl: 1, tlsa: '9 9 9 zz' }] } } }), /is invalid: certificates\.mx\.owned\[0\]\.tlsa: /],
  ['unknown key', JSON.stringify({ version: 1, certificates: {}, lastRun: 'x' }), /is invalid: lastRun: unknown key/],
];

for (const [name, content, re] of corruptRows) {
  test(`load: ${name} → exit 74 with the path, file unchanged`, (t) => {
    const store = tempStore(t);
    writeFileSync(store.statePath, content);
    const before = statSync(store.statePath);
    assertThrowsIo(() => store.load(), 74, new RegExp(`state file ${escape(store.statePath)} `), re);
    const after = statSync(store.statePath);
    assert.equal(readFileSync(store.statePath, 'utf8'), content, 'never silently reset');
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });
}

// ---------------------------------------------------------------- lock

test('lock writes our pid; unlock removes the file; a second unlock is harmless', async (t) => {
  const store = tempStore(t);
  await store.lock(300);
  assert.equal(readFileSync(store.lockPath, 'utf8'), OWN);
  assert.equal(statSync(store.lockPath).mode & 0o777, 0o600);
  store.unlock();
  assert.equal(existsSync(store.lockPath), false);
  store.unlock();
  await store.lock(300); // can be taken again
  store.unlock();
});

test('unlock by a store that does not hold the lock leaves it alone', async (t) => {
  const holder = tempStore(t);
  await holder.lock(300);
  const other = new StateStore(holder.dir);
  other.unlock();
  assert.equal(readFileSync(holder.lockPath, 'utf8'), OWN);
  holder.unlock();
});

test('a second lock(300) while held waits ~300 ms, then TemporaryError 75; the lock stays', async (t) => {
  const holder = tempStore(t);
  await holder.lock(300);
  const second = new StateStore(holder.dir);
  const started = Date.now();
  await assert.rejects(second.lock(300), (e: unknown) => {
    assert.ok(e instanceof TemporaryError);
    assert.equal(e.exitCode, 75);
    assert.match(e.message, new RegExp(`another danehook run \\(pid ${process.pid}\\) holds ${escape(holder.lockPath)}`));
    return true;
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 290 && elapsed < 1000, `waited ${elapsed} ms`);
  assert.equal(readFileSync(holder.lockPath, 'utf8'), OWN);
  holder.unlock();
  await second.lock(300); // free now
  assert.equal(readFileSync(second.lockPath, 'utf8'), OWN);
  second.unlock();
});

test('a lock file holding a dead pid is taken over at once', async (t) => {
  const store = tempStore(t);
  const dead = spawnSync('true');
  assert.ok(dead.pid && dead.pid > 0);
  assert.throws(() => process.kill(dead.pid, 0), /ESRCH/); // really gone
  writeFileSync(store.lockPath, `${dead.pid}\n`);
  const started = Date.now();
  await store.lock(300);
  assert.ok(Date.now() - started < 200, 'no waiting for a dead holder');
  assert.equal(readFileSync(store.lockPath, 'utf8'), OWN);
  store.unlock();
});

test('a lock held by a live process is respected until it exits', async (t) => {
  const store = tempStore(t);
  const child = spawn('sleep', ['5'], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
  });
  writeFileSync(store.lockPath, `${child.pid}\n`);
  await assert.rejects(store.lock(300), (e: unknown) => e instanceof TemporaryError && e.exitCode === 75 && e.message.includes(`pid ${child.pid})`));
  assert.equal(readFileSync(store.lockPath, 'utf8'), `${child.pid}\n`, 'a live holder’s lock is not removed');
  process.kill(child.pid!, 'SIGTERM');
  await exited; // reaped: the pid no longer exists
  await store.lock(300);
  assert.equal(readFileSync(store.lockPath, 'utf8'), OWN);
  store.unlock();
});

test('an empty lock file: young = a writer between open and write (wait), old = stale (take over)', async (t) => {
  const store = tempStore(t);
  writeFileSync(store.lockPath, '');
  await assert.rejects(store.lock(250), (e: unknown) => e instanceof TemporaryError && e.exitCode === 75);
  assert.equal(readFileSync(store.lockPath, 'utf8'), '', 'young empty lock left alone');
  const old = new Date(Date.now() - 10_000);
  utimesSync(store.lockPath, old, old);
  await store.lock(250);
  assert.equal(readFileSync(store.lockPath, 'utf8'), OWN);
  store.unlock();
});

test('a lock file with old garbage is taken over', async (t) => {
  const store = tempStore(t);
  writeFileSync(store.lockPath, 'not a pid\n');
  const old = new Date(Date.now() - 10_000);
  utimesSync(store.lockPath, old, old);
  await store.lock(250);
  assert.equal(readFileSync(store.lockPath, 'utf8'), OWN);
  store.unlock();
});

test('the lock file names this process by pid, start time (/proc/PID/stat field 22) and boot id', async (t) => {
  const store = tempStore(t);
  await store.lock(300);
  const [pid, start, boot] = readFileSync(store.lockPath, 'utf8').trim().split(' ');
  assert.equal(Number(pid), process.pid);
  assert.match(start!, /^\d+$/);
  assert.equal(start, readProcessStartTime(process.pid));
  assert.equal(boot, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  store.unlock();
});

/** A live process that is not danehook, killed after the test. */
function spawnSleeper(t: { after(fn: () => void): void }): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  return child.pid!;
}

// Each row: how the lock file describes a live, unrelated process (`sleep 60`) → taken over or not.
const identityRows: Array<[string, (pid: number) => string, 'taken over' | 'respected']> = [
  ['its pid with a different start time (pid reused)', (pid) => `${pid} ${Number(readProcessStartTime(pid)) + 1} ${readBootId()}\n`, 'taken over'],
  ['its pid with a start time of 0 (a PID-1 container run long ago)', (pid) => `${pid} 0 ${readBootId()}\n`, 'taken over'],
  ['its pid and start time from another boot', (pid) => `${pid} ${readProcessStartTime(pid)} 00000000-0000-4000-8000-000000000000\n`, 'taken over'],
  ['its pid from another boot, start time unknown', (pid) => `${pid} - 00000000-0000-4000-8000-000000000000\n`, 'taken over'],
  ['its pid, start time and boot id (the genuine holder)', (pid) => `${pid} ${readProcessStartTime(pid)} ${readBootId()}\n`, 'respected'],
  ['its pid alone (an older danehook): judged by pid', (pid) => `${pid}\n`, 'respected'],
  ['its pid with unknown start time and boot', (pid) => `${pid} - -\n`, 'respected'],
];

for (const [name, content, expected] of identityRows) {
  test(`a lock naming a live unrelated process by ${name} is ${expected}`, async (t) => {
    const store = tempStore(t);
    const pid = spawnSleeper(t);
    writeFileSync(store.lockPath, content(pid));
    const started = Date.now();
    if (expected === 'taken over') {
      await store.lock(300);
      assert.ok(Date.now() - started < 250, 'taken over at once, no waiting');
      assert.equal(readFileSync(store.lockPath, 'utf8'), OWN);
      store.unlock();
    } else {
      await assert.rejects(store.lock(300), (e: unknown) => e instanceof LockBusyError && e.exitCode === 75 && e.holder === pid);
      assert.equal(readFileSync(store.lockPath, 'utf8'), content(pid), 'a live holder’s lock is not removed');
    }
  });
}

test('a lock naming this very process that it does not hold (a previous PID-1 run) is taken over; one it holds is not', async (t) => {
  const store = tempStore(t);
  writeFileSync(store.lockPath, `${process.pid}\n`);
  await store.lock(300);
  assert.equal(readFileSync(store.lockPath, 'utf8'), OWN);
  // Held now: another StateStore of this process must wait, not take it over.
  await assert.rejects(new StateStore(store.dir).lock(200), (e: unknown) => e instanceof LockBusyError && e.holder === process.pid);
  store.unlock();
  assert.equal(existsSync(store.lockPath), false);
});

test('unlock leaves a lock that names another process (taken over meanwhile) in place', async (t) => {
  const store = tempStore(t);
  await store.lock(300);
  const pid = spawnSleeper(t);
  const theirs = `${pid} ${readProcessStartTime(pid)} ${readBootId()}\n`;
  writeFileSync(store.lockPath, theirs);
  store.unlock();
  assert.equal(readFileSync(store.lockPath, 'utf8'), theirs);
});

test('lock in a missing directory is exit 74, not a wait', async (t) => {
  const base = tempStore(t).dir;
  const store = new StateStore(join(base, 'missing'));
  await assert.rejects(store.lock(300), (e: unknown) => e instanceof StateIoError && e.exitCode === 74 && e.message.includes(`creating lock ${store.lockPath} failed (ENOENT)`));
});

// ---------------------------------------------------------------- events

test('appendEvent appends one JSON line per event, file mode 0600', (t) => {
  const store = tempStore(t);
  const events = [
    { at: '2025-03-01T12:00:00.000Z', id: 'mx', event: 'phase', phase: 'published' },
    { at: '2025-03-01T12:00:05.000Z', id: 'mx', event: 'dns', changes: [{ op: 'create', name: '_25._tcp.mx.example.com.' }] },
    { at: '2025-03-01T12:10:05.000Z', id: 'mx', event: 'note', text: 'line\nbreak' },
  ];
  for (const e of events) store.appendEvent(e);
  const text = readFileSync(store.eventsPath, 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.map((l) => JSON.parse(l)), events);
  assert.equal(statSync(store.eventsPath).mode & 0o777, 0o600);
});

test('appendEvent never rewrites earlier lines', (t) => {
  const store = tempStore(t);
  writeFileSync(store.eventsPath, '{"earlier":true}\n', { mode: 0o600 });
  const ino = statSync(store.eventsPath).ino;
  store.appendEvent({ later: true });
  assert.equal(readFileSync(store.eventsPath, 'utf8'), '{"earlier":true}\n{"later":true}\n');
  assert.equal(statSync(store.eventsPath).ino, ino);
});

test('appendEvent into a missing directory is exit 74 naming the path', (t) => {
  const base = tempStore(t).dir;
  const store = new StateStore(join(base, 'missing'));
  assertThrowsIo(() => store.appendEvent({ x: 1 }), 74, new RegExp(`appending to event log ${escape(store.eventsPath)} failed \\(ENOENT\\)`));
});

test('a version 1 state file (written before next-key mode) loads without loss and is saved as version 2', (t) => {
  const store = tempStore(t);
  const v1 = sampleState() as unknown as Record<string, any>;
  v1.version = 1;
  for (const es of Object.values(v1.certificates) as Record<string, unknown>[]) {
    delete es.next;
    delete es.retiredNext;
  }
  const text = JSON.stringify(v1, null, 2) + '\n';
  writeFileSync(store.statePath, text);
  const loaded = store.load();
  assert.equal(loaded.state.version, 2);
  assert.deepEqual(loaded.state.certificates.mx, { ...v1.certificates.mx, next: null, retiredNext: [] }, 'every version 1 field kept; next-key fields empty');
  assert.equal(store.save(loaded.state, loaded.text), true, 'the migrated state differs from the file: it is written');
  assert.equal(JSON.parse(readFileSync(store.statePath, 'utf8')).version, 2);
});
