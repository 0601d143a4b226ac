// `danehook post-deploy`: accept renewals queued in the inbox (deploy found the lock busy), then
// advance every pending rollover whose time has come (poll propagation, activate, clean up), then
// accept what was queued meanwhile. A run with nothing due and nothing queued writes nothing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { writeFileAtomic } from '../io/files.js';
import { computeConfigStamp, STAMP_FILE } from './noop-check.js';
import type { RolloverPolicy } from '../core/rollover.js';
import { isEntryDue } from '../core/due.js';
import type { State } from '../core/state.js';
import { UsageError, worstExitCode } from '../errors.js';
import { StateStore } from '../io/state-store.js';
import { listInboxItems } from '../io/inbox.js';
import { advanceRollovers } from '../rollover/advance.js';
import { drainInbox } from '../rollover/inbox-drain.js';
import { closeSession, openSession } from '../rollover/session.js';
import { waitForRollovers } from '../rollover/wait.js';
import type { CommandContext } from './context.js';

/** Ids with a step due now: rollover or next key (a no-op run stops here: no lock, no DNS). */
function findDueIds(state: State, ids: string[], policy: RolloverPolicy, now: Date): string[] {
  return ids.filter((id) => isEntryDue(state.certificates[id], policy, now));
}

/** Remember that this exact config validated, so the next no-op run can skip validation. */
function writeConfigStamp(store: StateStore, configPath: string): void {
  const stamp = computeConfigStamp(configPath, readFileSync(configPath, 'utf8'));
  const path = join(store.dir, STAMP_FILE);
  if (existsSync(store.dir) && (!existsSync(path) || readFileSync(path, 'utf8').trim() !== stamp)) writeFileAtomic(path, stamp + '\n', { mode: 0o600 });
}

export async function postDeployCommand(ctx: CommandContext): Promise<number> {
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env });
  for (const w of loaded.warnings) ctx.log.warn(w);
  const configured = loaded.config.certificates.map((c) => c.id);
  if (ctx.options.id && !configured.includes(ctx.options.id)) throw new UsageError(`--id ${ctx.options.id}: no certificates[] entry has that id (configured: ${configured.join(', ')})`);
  const ids = ctx.options.id ? [ctx.options.id] : configured;
  if (ctx.options.wait) return waitForRollovers(ctx, loaded, ids);

  const store = new StateStore(loaded.config.stateDir);
  const { state } = store.load();
  if (!ctx.options.dryRun) writeConfigStamp(store, loaded.path);
  const queued = listInboxItems(loaded.config.stateDir).length;
  if (queued === 0 && findDueIds(state, ids, loaded.config.rollover, ctx.now()).length === 0) {
    ctx.log.debug('nothing is due');
    return 0;
  }
  const s = await openSession(ctx, loaded, { lock: true });
  try {
    const drained = await drainInbox(s);
    // Re-check under the lock: another run may have done the work meanwhile.
    const due = findDueIds(s.state, ids, s.policy, s.now());
    const res = await advanceRollovers(s, due);
    // Deploys that gave up waiting while this run activated (a slow reload) queued their renewals.
    const late = await drainInbox(s);
    return worstExitCode([...drained, ...late].flatMap((d) => (d.error ? [d.error] : [])).concat(res.errors));
  } finally {
    closeSession(s);
  }
}
