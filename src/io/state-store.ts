// The state directory: state.json (validated on load, written atomically: temp + fsync + rename +
// directory fsync), a lock file naming its holder (pid, start time, boot id: io/lock-owner.ts) that
// other runs wait on, and the append-only events.jsonl.
import { closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LockBusyError, StateIoError } from '../errors.js';
import { emptyState, STATE_VERSION, stateSchema, type State } from '../core/state.js';
import { formatZodIssues } from '../config/issues.js';
import { migrateState } from '../core/state-migrate.js';
import { writeFileAtomic } from './atomic-write.js';
import { computeLockVerdict, formatLockOwner, parseLockOwner } from './lock-owner.js';
import { readOwnLockOwner, readProcessFacts } from './process-identity.js';

export const LOCK_WAIT_MS = 5000;

/** Lock files this process holds (any StateStore instance): its own pid elsewhere is stale. */
const heldLocks = new Set<string>();

export interface Loaded {
  state: State;
  /** The file's text as read ('' when absent): saving identical text is skipped. */
  text: string;
}

function ioError(what: string, path: string, err: unknown): StateIoError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new StateIoError(`${what} ${path} failed (${code})`, { cause: err });
}

export class StateStore {
  readonly dir: string;
  readonly statePath: string;
  readonly lockPath: string;
  readonly eventsPath: string;
  #locked = false;

  constructor(dir: string) {
    this.dir = dir;
    this.statePath = join(dir, 'state.json');
    this.lockPath = join(dir, 'lock');
    this.eventsPath = join(dir, 'events.jsonl');
  }

  /** Create the state directory (0700) if needed. */
  ensureDir(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError('creating state directory', this.dir, err);
    }
  }

  /** Read and validate state.json; absent means empty. Corrupt is an error, never a silent reset. */
  load(): Loaded {
    let text: string;
    try {
      text = readFileSync(this.statePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState(), text: '' };
      throw ioError('reading state', this.statePath, err);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new StateIoError(`state file ${this.statePath} is not valid JSON (${(err as Error).message}); restore it from backup or move it aside after checking DNS`);
    }
    const version = (raw as { version?: unknown })?.version;
    if (typeof version === 'number' && version > STATE_VERSION) {
      throw new StateIoError(`state file ${this.statePath} has version ${version}, written by a newer danehook (this one reads ${STATE_VERSION}); upgrade danehook`);
    }
    // An older version is migrated in memory; the first save writes the current version.
    const parsed = stateSchema.safeParse(migrateState(raw));
    if (!parsed.success) throw new StateIoError(`state file ${this.statePath} is invalid: ${formatZodIssues(parsed.error.issues)}`);
    return { state: parsed.data, text };
  }

  /** Write atomically (the one writer: io/atomic-write.ts); returns false when the content is unchanged. */
  save(state: State, previousText: string): boolean {
    const text = JSON.stringify(state, null, 2) + '\n';
    if (text === previousText) return false;
    writeFileAtomic(this.statePath, text, { mode: 0o600, what: 'writing state' });
    return true;
  }

  /**
   * Take the lock (O_EXCL file naming this process), waiting up to waitMs for a live holder; a lock
   * whose process is gone, or whose pid now belongs to another process, is taken over.
   */
  async lock(waitMs = LOCK_WAIT_MS): Promise<void> {
    const until = Date.now() + waitMs;
    let guard: string | undefined; // held from removing a stale lock until our next create attempt
    for (;;) {
      let fd: number | undefined;
      try {
        fd = openSync(this.lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        writeSync(fd, formatLockOwner(readOwnLockOwner()));
        closeSync(fd);
        this.#locked = true;
        heldLocks.add(this.lockPath);
        return;
      } catch (err) {
        if (fd !== undefined) {
          // Created but not written (disk full): leave no empty lock behind.
          closeSync(fd);
          rmSync(this.lockPath, { force: true });
        }
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('creating lock', this.lockPath, err);
      } finally {
        if (guard) rmSync(guard, { force: true });
        guard = undefined;
      }
      const seen = this.#readLock();
      if (seen === undefined) continue; // released meanwhile: try again at once
      if (seen.holder === 'stale') {
        // A killed run leaves its lock behind; its process is gone, so the lock protects nothing.
        guard = await this.#takeOverStaleLock(seen.ino);
        continue;
      }
      if (Date.now() >= until) throw new LockBusyError(`another danehook run${seen.holder === 'writing' ? '' : ` (pid ${seen.holder})`} holds ${this.lockPath}; try again later`, seen.holder === 'writing' ? undefined : seen.holder);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Remove a stale lock without ever moving a live one: of all runs that found this lock file
   * (by inode) stale, the one that creates the O_EXCL guard file for it removes it, after checking
   * under the guard that the file there is still that stale one. The others wait and retry.
   */
  async #takeOverStaleLock(ino: number): Promise<string | undefined> {
    const guard = `${this.lockPath}.takeover-${ino}`;
    let fd: number;
    try {
      fd = openSync(guard, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('creating lock guard', guard, err);
      // Another run is taking it over; a guard left by a killed taker expires.
      try {
        if (Date.now() - statSync(guard).mtimeMs > 2000) rmSync(guard, { force: true });
      } catch {
        /* gone */
      }
      await new Promise((r) => setTimeout(r, 50));
      return undefined;
    }
    closeSync(fd);
    try {
      const now = this.#readLock();
      if (now?.holder === 'stale' && now.ino === ino) unlinkSync(this.lockPath);
    } catch (err) {
      rmSync(guard, { force: true });
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('removing stale lock', this.lockPath, err);
      return undefined;
    }
    // The caller keeps the guard until its own create attempt: a slower run that saw the same
    // stale inode must not win a fresh guard and remove a new lock that reused the inode number.
    return guard;
  }

  /** The lock file's inode and holder: a live pid, 'writing' (young and not yet written) or 'stale'. */
  #readLock(): { ino: number; holder: number | 'writing' | 'stale' } | undefined {
    try {
      const st = statSync(this.lockPath);
      const owner = parseLockOwner(readFileSync(this.lockPath, 'utf8'));
      if (owner) {
        const verdict = computeLockVerdict(owner, readProcessFacts(owner.pid), { pid: process.pid, holdsLock: heldLocks.has(this.lockPath) });
        return { ino: st.ino, holder: verdict === 'live' ? owner.pid : 'stale' };
      }
      return { ino: st.ino, holder: Date.now() - st.mtimeMs < 2000 ? 'writing' : 'stale' };
    } catch {
      return undefined;
    }
  }

  unlock(): void {
    if (!this.#locked) return;
    this.#locked = false;
    heldLocks.delete(this.lockPath);
    try {
      // Only our own lock: never remove one another run holds.
      if (parseLockOwner(readFileSync(this.lockPath, 'utf8'))?.pid === process.pid) unlinkSync(this.lockPath);
    } catch {
      /* already gone */
    }
  }

  /** Append one event line (DNS change, phase change) with its timestamp. */
  appendEvent(event: Record<string, unknown>): void {
    try {
      const fd = openSync(this.eventsPath, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
      try {
        // One write(2) with O_APPEND; no fsync: the log is an audit trail, state.json is the truth.
        writeSync(fd, JSON.stringify(event) + '\n');
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw ioError('appending to event log', this.eventsPath, err);
    }
  }
}
