// The lock file's one line, "PID STARTTIME BOOTID", and when it is stale. A pid alone names an
// unrelated process after a reboot or in a container where every run is PID 1; start time and boot
// id do not repeat. A line with the pid alone (older danehook, or no /proc) is judged by pid. Pure.

export interface LockOwner {
  pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot when the process started. */
  startTime?: string;
  /** /proc/sys/kernel/random/boot_id of the boot the process ran in. */
  bootId?: string;
}

/** What can be observed now about the recorded pid (and this boot). */
export interface ProcessFacts {
  alive: boolean;
  startTime?: string;
  bootId?: string;
}

const UNKNOWN = '-';

export function formatLockOwner(o: LockOwner): string {
  if (!o.startTime && !o.bootId) return `${o.pid}\n`;
  return `${o.pid} ${o.startTime ?? UNKNOWN} ${o.bootId ?? UNKNOWN}\n`;
}

/** The owner a lock file names, or undefined for anything else (empty, garbage, a torn write). */
export function parseLockOwner(text: string): LockOwner | undefined {
  const tokens = text.trim().split(/\s+/);
  if (tokens.length > 3 || !/^[1-9]\d{0,9}$/.test(tokens[0] ?? '')) return undefined;
  const pid = Number(tokens[0]);
  const [, start = UNKNOWN, boot = UNKNOWN] = tokens;
  if (start !== UNKNOWN && !/^\d{1,20}$/.test(start)) return undefined;
  if (boot !== UNKNOWN && !/^[0-9a-f-]{8,64}$/i.test(boot)) return undefined;
  return {
    pid,
    ...(start !== UNKNOWN ? { startTime: start } : {}),
    ...(boot !== UNKNOWN ? { bootId: boot.toLowerCase() } : {}),
  };
}

/**
 * Live or stale. Only what both sides know is compared: a field missing on either side (an old
 * lock file, no /proc) falls back to the pid check. `self` is this process: it knows whether it
 * holds the lock, so its own pid in a lock it does not hold (a previous PID-1 container run) is stale.
 */
export function computeLockVerdict(owner: LockOwner, facts: ProcessFacts, self: { pid: number; holdsLock: boolean }): 'live' | 'stale' {
  if (owner.pid === self.pid) return self.holdsLock ? 'live' : 'stale';
  if (!facts.alive) return 'stale';
  if (owner.bootId && facts.bootId && owner.bootId !== facts.bootId) return 'stale';
  if (owner.startTime && facts.startTime && owner.startTime !== facts.startTime) return 'stale';
  return 'live';
}
