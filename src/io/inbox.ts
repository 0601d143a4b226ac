// stateDir/inbox: renewals queued without the lock, one file each (0600, dir 0700, written
// atomically under a unique name, so writers need no lock). The lock holder drains it in name order.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateError, StateIoError } from '../errors.js';
import { computeInboxName, formatInboxItem, INBOX_NAME, parseInboxItem, type InboxItem } from '../core/inbox-item.js';
import { writeFileAtomic } from './files.js';
import { INBOX_DIR, readInboxNames } from './inbox-list.js';

export { INBOX_DIR };
/** Items that can never be accepted (entry gone, certificate expired): kept for the operator. */
export const REJECTED_DIR = 'inbox.rejected';
/** A temp file of a writer killed mid-write is removed after this long (a write takes milliseconds). */
export const TEMP_MAX_AGE_MS = 10 * 60_000;

function fail(what: string, path: string, err: unknown): never {
  throw new StateIoError(`${what} ${path} failed (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // the umask may have narrowed the mode, never widen past 0700
  } catch (err) {
    fail('creating', dir, err);
  }
}

/** Queue one renewal; returns its file name. No lock: the name is this renewal's alone. */
export function writeInboxItem(stateDir: string, item: InboxItem, now: Date): string {
  const dir = join(stateDir, INBOX_DIR);
  ensureDir(dir);
  const name = computeInboxName(now, process.pid, randomBytes(6).toString('hex'));
  writeFileAtomic(join(dir, name), formatInboxItem(item), { mode: 0o600, what: 'queueing renewal' });
  return name;
}

/** Queued items in arrival order; one readdir (an absent inbox is empty). Temp files are skipped. */
export function listInboxItems(stateDir: string): string[] {
  try {
    return readInboxNames(stateDir);
  } catch (err) {
    fail('reading', join(stateDir, INBOX_DIR), err);
  }
}

/** Read one item: unreadable is an I/O error (74, retried), damaged is bad data (65, set aside). */
export function readInboxItem(stateDir: string, name: string): InboxItem {
  const path = join(stateDir, INBOX_DIR, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail('reading queued renewal', path, err);
  }
  try {
    return parseInboxItem(text);
  } catch (err) {
    throw new CertificateError(`queued renewal ${path} is damaged: ${(err as Error).message}`);
  }
}

export function removeInboxItem(stateDir: string, name: string): void {
  const path = join(stateDir, INBOX_DIR, name);
  try {
    rmSync(path, { force: true });
  } catch (err) {
    fail('removing queued renewal', path, err);
  }
}

/** Move an item that can never be accepted aside (it would otherwise make every timer run a full run). */
export function rejectInboxItem(stateDir: string, name: string): string {
  const dir = join(stateDir, REJECTED_DIR);
  ensureDir(dir);
  try {
    renameSync(join(stateDir, INBOX_DIR, name), join(dir, name));
  } catch (err) {
    fail('moving aside queued renewal', join(stateDir, INBOX_DIR, name), err);
  }
  return `${REJECTED_DIR}/${name}`;
}

export function listRejectedItems(stateDir: string): string[] {
  try {
    return readdirSync(join(stateDir, REJECTED_DIR)).sort();
  } catch {
    return [];
  }
}

/** Remove temp files left by writers killed mid-write (they hold a private key). */
export function removeStaleInboxTemps(stateDir: string, now: Date): string[] {
  const dir = join(stateDir, INBOX_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names.filter((x) => !INBOX_NAME.test(x))) {
    try {
      if (now.getTime() - statSync(join(dir, n)).mtimeMs > TEMP_MAX_AGE_MS) {
        rmSync(join(dir, n), { force: true });
        removed.push(n);
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return removed;
}
