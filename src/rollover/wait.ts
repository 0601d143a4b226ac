// `--wait`: keep advancing until no rollover of the ids is pending, sleeping until the next due
// time (or a short poll interval while propagation is checked). The lock is released while asleep
// so timer runs and other hooks are not blocked; taking it again waits as long as another run can
// legitimately hold it, and each time queued renewals are accepted first. A countdown on a TTY.
import type { LoadedConfig } from '../config/load.js';
import type { CommandContext } from '../commands/context.js';
import { ExitCode, LockBusyError, PropagationTimeoutError, worstExitCode, type DanehookError } from '../errors.js';
import { formatDuration } from '../config/duration.js';
import { advanceRollovers } from './advance.js';
import { drainInbox } from './inbox-drain.js';
import { computeLockHoldMs } from './lock-wait.js';
import { closeSession, openSession, type Session } from './session.js';

export const POLL_INTERVAL_MS = 1000;

function showCountdown(ms: number, what: string): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(`\r\x1b[K${what} in ${formatDuration(ms)}`);
}

export async function waitForRollovers(ctx: CommandContext, loaded: LoadedConfig, ids: string[] | 'all'): Promise<number> {
  const lockWaitMs = computeLockHoldMs(loaded.config);
  for (;;) {
    let s: Session;
    try {
      s = await openSession(ctx, loaded, { lock: true, lockWaitMs });
    } catch (err) {
      // Held longer than any legitimate run holds it: something is stuck. Nothing is lost (the state
      // and the inbox keep every renewal); the next post-deploy continues.
      if (err instanceof LockBusyError) throw new LockBusyError(`${err.message.replace(/; try again later$/, '')} after ${formatDuration(lockWaitMs)}; the next "danehook post-deploy" continues`, err.holder);
      throw err;
    }
    let errors: DanehookError[];
    let sleepMs: number;
    try {
      const drained = await drainInbox(s);
      const targets = ids === 'all' ? Object.keys(s.state.certificates).filter((id) => loaded.config.certificates.some((c) => c.id === id)) : ids;
      const res = await advanceRollovers(s, targets);
      // A queued renewal of a target that failed is this wait's failure too (as it would be deploy's).
      errors = [...drained.filter((d) => d.error && d.id !== undefined && targets.includes(d.id)).map((d) => d.error!), ...res.errors];
      if (res.pending === 0 || ctx.options.dryRun) return worstExitCode(errors);
      // Only passing trouble (a busy lock) is worth waiting through; past propagationTimeout the
      // timer's next run retries, so a background --wait does not linger for ever.
      if (errors.some((e) => e.exitCode !== ExitCode.temporary || e instanceof PropagationTimeoutError)) return worstExitCode(errors);
      const dueIn = res.nextDueAt ? res.nextDueAt.getTime() - s.now().getTime() : Infinity;
      sleepMs = Math.max(50, Math.min(res.polling ? POLL_INTERVAL_MS : Infinity, dueIn, 60_000));
      if (!Number.isFinite(sleepMs)) sleepMs = POLL_INTERVAL_MS;
    } finally {
      closeSession(s);
    }
    const until = Date.now() + sleepMs;
    while (Date.now() < until) {
      showCountdown(until - Date.now(), 'next step');
      await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
    }
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  }
}
