// The one atomic writer for every file danehook writes (state, staged keys, installed certificates,
// backups): a crypto-random temp name created O_CREAT|O_EXCL|O_NOFOLLOW beside the target, owner and
// mode set on the descriptor, fsync, rename, fsync of the directory. Readers see old or new, never half.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StateIoError } from '../errors.js';

export interface WriteOptions {
  /** Permission bits of the new file (applied with fchmod: the umask does not narrow them). */
  mode: number;
  /** Owner and group of the new file; undefined or -1 leaves that id as created (our euid/egid). */
  uid?: number;
  gid?: number;
  /** Start of the error message, e.g. "writing state"; default "writing". */
  what?: string;
}

// A guessed name is what lets another account pre-create a symlink or file root then writes
// through (CWE-377/CWE-59). 96 random bits make guessing hopeless; O_EXCL|O_NOFOLLOW make a
// planted name fail (EEXIST/ELOOP) instead of being followed, and we simply draw another name.
const TEMP_ATTEMPTS = 8;

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.danehook-${randomBytes(12).toString('hex')}`);
}

/**
 * I/O: remove temp files a killed writer left beside `path` (they may hold a private key). Only
 * names of exactly our pattern that are regular files owned by us; unlink never follows a link.
 */
export function removeStaleTemps(path: string): string[] {
  const prefix = `.${basename(path)}.danehook-`;
  const uid = process.geteuid?.() ?? 0;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^[0-9a-f]{24}$/.test(name.slice(prefix.length))) continue;
    const p = join(dirname(path), name);
    try {
      const st = lstatSync(p);
      if (!st.isFile() || st.uid !== uid) continue;
      unlinkSync(p);
      removed.push(p);
    } catch {
      /* gone meanwhile */
    }
  }
  return removed;
}

function ioFailure(what: string, path: string, err: unknown): StateIoError {
  if (err instanceof StateIoError) return err;
  return new StateIoError(`${what} ${path} failed (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
}

/**
 * Draw temp names beside `path` until `create` makes one; `create` must fail with EEXIST or ELOOP
 * on a name that already exists (O_EXCL|O_NOFOLLOW, symlink(2)), so nothing planted is ever used.
 */
function createTempSync<T>(path: string, create: (tmp: string) => T): { tmp: string; made: T } {
  for (let i = 0; ; i++) {
    const tmp = tempPathFor(path);
    try {
      return { tmp, made: create(tmp) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EEXIST' && code !== 'ELOOP') || i + 1 >= TEMP_ATTEMPTS) throw err;
    }
  }
}

/** Put a prepared temp in place of `path` and make the rename durable. */
function commitTempSync(tmp: string, path: string): void {
  renameSync(tmp, path);
  fsyncDirSync(dirname(path));
}

/** fsync a directory so a rename in it survives a power cut (rename is atomic, not durable). */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write `data` to `path` atomically. rename(2) replaces whatever name is at `path` — a symlink
 * planted there is replaced, never written through. Owner and mode are set with fchown/fchmod on
 * our own descriptor: path-based chown/chmod follow symlinks, so a swapped name would make root
 * chown someone else's file (the classic install race).
 */
export function writeFileAtomic(path: string, data: string | Buffer, opts: WriteOptions): void {
  const what = opts.what ?? 'writing';
  let tmp: string | undefined;
  try {
    // 0600 from the start: a key is never readable by others, even for an instant.
    const created = createTempSync(path, (t) => openSync(t, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
    tmp = created.tmp;
    const fd = created.made;
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
      // chown first: it may clear set-id bits, and the mode we set afterwards is then exact.
      // Only when it changes something: an unprivileged run may keep its own ids without CAP_CHOWN.
      const uid = opts.uid ?? -1;
      const gid = opts.gid ?? -1;
      const st = fstatSync(fd);
      if ((uid !== -1 && uid !== st.uid) || (gid !== -1 && gid !== st.gid)) fchownSync(fd, uid, gid);
      fchmodSync(fd, opts.mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    commitTempSync(tmp, path);
  } catch (err) {
    if (tmp) removeQuietly(tmp);
    throw ioFailure(what, path, err);
  }
}

/** Put a symlink at `path` atomically (restoring a link that install.replaceSymlinks replaced). */
export function writeSymlinkAtomic(path: string, linkTarget: string, what = 'restoring symlink'): void {
  let tmp: string | undefined;
  try {
    tmp = createTempSync(path, (t) => symlinkSync(linkTarget, t)).tmp; // EEXIST like O_EXCL
    commitTempSync(tmp, path);
  } catch (err) {
    if (tmp) removeQuietly(tmp);
    throw ioFailure(what, path, err);
  }
}

/** unlink(2) removes the name itself, never what a symlink points to. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
