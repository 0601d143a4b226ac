// Backups of install targets under stateDir/backup/<id>/<rollover>/: per target its bytes
// (<kind>.data) and a record of what was there with its own owner, group and mode (<kind>.json,
// written last: a record without its data, or with data whose hash differs, is no backup).
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StateIoError } from '../errors.js';
import { fsyncDirSync, writeFileAtomic, writeSymlinkAtomic } from './atomic-write.js';
import type { MaterialKind } from './material.js';
import { readPathNoFollow, type PathSnapshot } from './read-nofollow.js';

export type BackupRecord =
  | { target: string; type: 'absent' }
  | { target: string; type: 'file'; uid: number; gid: number; mode: number; sha256: string }
  | { target: string; type: 'symlink'; linkTarget: string };

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const recordPath = (dir: string, kind: MaterialKind) => join(dir, `${kind}.json`);
const dataPath = (dir: string, kind: MaterialKind) => join(dir, `${kind}.data`);

/** I/O: back up one target as `snapshot` saw it (data first, then the record). */
export function writeBackup(dir: string, kind: MaterialKind, target: string, snapshot: PathSnapshot): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StateIoError(`creating backup directory ${dir} failed (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
  let record: BackupRecord;
  if (snapshot.type === 'file') {
    // Private keys: the backup is 0600 whatever the original's mode (its mode is in the record).
    writeFileAtomic(dataPath(dir, kind), snapshot.data, { mode: 0o600, what: 'backing up' });
    record = { target, type: 'file', uid: snapshot.uid, gid: snapshot.gid, mode: snapshot.mode, sha256: sha256(snapshot.data) };
  } else if (snapshot.type === 'symlink') {
    record = { target, type: 'symlink', linkTarget: snapshot.linkTarget };
  } else if (snapshot.type === 'absent') {
    record = { target, type: 'absent' };
  } else {
    throw new StateIoError(`cannot back up ${target}: it is ${snapshot.what}`);
  }
  writeFileAtomic(recordPath(dir, kind), JSON.stringify(record) + '\n', { mode: 0o600, what: 'backing up' });
}

function parseRecord(text: string): BackupRecord | undefined {
  try {
    const r = JSON.parse(text) as BackupRecord;
    if (typeof r?.target !== 'string') return undefined;
    if (r.type === 'absent') return r;
    if (r.type === 'symlink' && typeof r.linkTarget === 'string') return r;
    if (r.type === 'file' && [r.uid, r.gid, r.mode].every(Number.isInteger) && typeof r.sha256 === 'string') return r;
  } catch {
    /* torn or foreign */
  }
  return undefined;
}

/** I/O: the complete backup of `kind`, or undefined (none, torn, or not ours — never followed). */
export function readBackup(dir: string, kind: MaterialKind): { record: BackupRecord; data?: Buffer } | undefined {
  const rec = readPathNoFollow(recordPath(dir, kind), 'reading backup');
  if (rec.type !== 'file') return undefined;
  const record = parseRecord(rec.data.toString('utf8'));
  if (!record) return undefined;
  if (record.type !== 'file') return { record };
  const data = readPathNoFollow(dataPath(dir, kind), 'reading backup');
  if (data.type !== 'file' || sha256(data.data) !== record.sha256) return undefined;
  return { record, data: data.data };
}

/** I/O: put `target` back as the backup recorded it, with the backup's own owner, group and mode. */
export function restoreFromBackup(target: string, backup: { record: BackupRecord; data?: Buffer }): void {
  const r = backup.record;
  if (r.type === 'file') {
    writeFileAtomic(target, backup.data!, { mode: r.mode, uid: r.uid, gid: r.gid, what: 'restoring' });
  } else if (r.type === 'symlink') {
    writeSymlinkAtomic(target, r.linkTarget);
  } else {
    try {
      unlinkSync(target); // removes the name only, never what a link points to
      fsyncDirSync(dirname(target));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateIoError(`removing ${target} failed (${(err as NodeJS.ErrnoException).code})`, { cause: err });
    }
  }
}

/** I/O: drop every backup in `dir` (rm never follows symlinks). */
export function removeBackups(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    throw new StateIoError(`removing old backups ${dir} failed (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
}
