// Read what is at a path without following a final symlink (O_NOFOLLOW) and without opening
// anything but a regular file (a FIFO would block, a device open can have effects): the content
// and its own owner, group and mode, taken from the very descriptor the content came from.
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { StateIoError } from '../errors.js';

export interface FileMeta {
  uid: number;
  gid: number;
  /** Permission bits only (0o777): set-id and sticky bits are never carried over. */
  mode: number;
}

export type PathSnapshot =
  | { type: 'absent' }
  | ({ type: 'file'; data: Buffer; nlink: number } & FileMeta)
  | ({ type: 'symlink'; linkTarget: string } & FileMeta)
  | { type: 'other'; what: string; uid: number };

export function describeFileType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function failure(what: string, path: string, err: unknown): StateIoError {
  return new StateIoError(`${what} ${path} failed (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
}

/** I/O: what is at `path` now; a regular file is read in full. */
export function readPathNoFollow(path: string, what = 'reading', attempt = 0): PathSnapshot {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { type: 'absent' };
    throw failure(what, path, err);
  }
  if (st.isSymbolicLink()) {
    try {
      return { type: 'symlink', linkTarget: readlinkSync(path), uid: st.uid, gid: st.gid, mode: st.mode & 0o777 };
    } catch (err) {
      throw failure(what, path, err);
    }
  }
  if (!st.isFile()) return { type: 'other', what: describeFileType(st), uid: st.uid };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    // Swapped for a symlink between lstat and open: O_NOFOLLOW refused it. Read it again.
    if ((err as NodeJS.ErrnoException).code === 'ELOOP' && attempt < 3) return readPathNoFollow(path, what, attempt + 1);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { type: 'absent' };
    throw failure(what, path, err);
  }
  try {
    const fst = fstatSync(fd);
    if (!fst.isFile()) return { type: 'other', what: describeFileType(fst), uid: fst.uid };
    const data = readFileSync(fd);
    return { type: 'file', data, nlink: fst.nlink, uid: fst.uid, gid: fst.gid, mode: fst.mode & 0o777 };
  } catch (err) {
    throw failure(what, path, err);
  } finally {
    closeSync(fd);
  }
}
