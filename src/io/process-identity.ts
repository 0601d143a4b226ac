// Who a process is beyond its pid, from /proc: its start time (field 22 of /proc/PID/stat) and the
// boot id. Undefined where /proc does not tell (not Linux, hidepid): callers then rely on the pid.
import { readFileSync } from 'node:fs';
import type { LockOwner, ProcessFacts } from './lock-owner.js';

/** Field 22 (starttime) of a /proc/PID/stat line. The comm field (2) may hold spaces and ")". */
export function parseStatStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After "pid (comm)" come fields 3, 4, ...: field 22 is the 20th of them.
  const value = stat.slice(close + 1).trim().split(/\s+/)[19];
  return value !== undefined && /^\d+$/.test(value) ? value : undefined;
}

export function readProcessStartTime(pid: number): string | undefined {
  try {
    return parseStatStartTime(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

let bootId: string | undefined | null = null; // null: not read yet (it cannot change while we run)

export function readBootId(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim().toLowerCase() || undefined;
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/** This process, as a lock file records it. */
export function readOwnLockOwner(): LockOwner {
  const startTime = readProcessStartTime(process.pid);
  const boot = readBootId();
  return { pid: process.pid, ...(startTime ? { startTime } : {}), ...(boot ? { bootId: boot } : {}) };
}

export function readProcessFacts(pid: number): ProcessFacts {
  const startTime = readProcessStartTime(pid);
  const boot = readBootId();
  // Read the start time first: a process that exits in between is then seen dead, not as a stranger.
  return { alive: isProcessAlive(pid), ...(startTime ? { startTime } : {}), ...(boot ? { bootId: boot } : {}) };
}
