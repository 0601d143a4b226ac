// The inbox on real files: one 0600 file per queued renewal in a 0700 dir, listed in arrival
// order, temp files of a writer in progress ignored (and removed once old), damaged items are bad
// data (65), unacceptable ones are moved aside so the fast path sees an empty inbox again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listInboxItems, listRejectedItems, readInboxItem, rejectInboxItem, removeInboxItem, removeStaleInboxTemps, writeInboxItem } from '../../../src/io/inbox.js';
import { computeInboxName, type InboxItem } from '../../../src/core/inbox-item.js';
import { CertificateError } from '../../../src/errors.js';
import { makeTempDir } from '../../harness/tempdir.js';

function tempStateDir(t: { after(fn: () => void): void }): string {
  const dir = makeTempDir('inbox');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const item = (id: string): InboxItem => ({
  version: 1, id, client: 'lego-v4', receivedAt: '2026-03-01T12:00:00.000Z', spki: 'a'.repeat(64), fingerprint: 'b'.repeat(64),
  pem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
});

test('an absent inbox is empty (no directory is created by looking)', (t) => {
  const dir = tempStateDir(t);
  assert.deepEqual(listInboxItems(dir), []);
  assert.equal(existsSync(join(dir, 'inbox')), false);
});

test('writeInboxItem: 0600 file in a 0700 dir, round-trips, one file per renewal in arrival order', (t) => {
  const dir = tempStateDir(t);
  const a = writeInboxItem(dir, item('mx'), new Date(1_000));
  const b = writeInboxItem(dir, item('www'), new Date(2_000));
  const c = writeInboxItem(dir, item('mx'), new Date(2_000)); // same millisecond: still its own file
  assert.equal(new Set([a, b, c]).size, 3);
  assert.deepEqual(listInboxItems(dir), [a, b, c].sort());
  assert.equal(listInboxItems(dir)[0], a, 'the earliest first');
  assert.equal(statSync(join(dir, 'inbox')).mode & 0o777, 0o700);
  for (const n of [a, b, c]) assert.equal(statSync(join(dir, 'inbox', n)).mode & 0o777, 0o600);
  assert.deepEqual(readInboxItem(dir, b), item('www'));
  assert.deepEqual(readdirSync(join(dir, 'inbox')).sort(), [a, b, c].sort(), 'no temp file left');
  removeInboxItem(dir, a);
  assert.deepEqual(listInboxItems(dir), [b, c].sort());
});

test('computeInboxName sorts by time across digit counts', () => {
  assert.ok(computeInboxName(new Date(999), 1, 'ff') < computeInboxName(new Date(1_000), 1, '00'));
  assert.match(computeInboxName(new Date(1_700_000_000_000), 42, 'abc123'), /^1700000000000-42-abc123\.json$/);
});

test('temp files of a writer are not items; old ones are removed, young ones kept', (t) => {
  const dir = tempStateDir(t);
  const name = writeInboxItem(dir, item('mx'), new Date());
  const young = join(dir, 'inbox', `.${name}.danehook-99999`);
  const old = join(dir, 'inbox', '.1234.danehook-1');
  writeFileSync(young, 'partial');
  writeFileSync(old, 'partial');
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(old, past, past);
  assert.deepEqual(listInboxItems(dir), [name]);
  assert.deepEqual(removeStaleInboxTemps(dir, new Date()), ['.1234.danehook-1']);
  assert.ok(existsSync(young));
  assert.ok(!existsSync(old));
});

for (const [name, text] of <[string, string][]>[['not JSON', '{"version":1,'], ['wrong version', '{"version":2}'], ['missing pem', JSON.stringify({ ...item('mx'), pem: '' })]]) {
  test(`a damaged item (${name}) is bad data (65) naming the file`, (t) => {
    const dir = tempStateDir(t);
    const n = writeInboxItem(dir, item('mx'), new Date());
    writeFileSync(join(dir, 'inbox', n), text);
    assert.throws(() => readInboxItem(dir, n), (e: unknown) => e instanceof CertificateError && e.exitCode === 65 && e.message.includes(n));
  });
}

test('rejectInboxItem moves the item aside (0700 dir): the inbox is empty again', (t) => {
  const dir = tempStateDir(t);
  const n = writeInboxItem(dir, item('gone'), new Date());
  assert.equal(rejectInboxItem(dir, n), `inbox.rejected/${n}`);
  assert.deepEqual(listInboxItems(dir), []);
  assert.deepEqual(listRejectedItems(dir), [n]);
  assert.equal(statSync(join(dir, 'inbox.rejected')).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'inbox.rejected', n)).mode & 0o777, 0o600);
});
