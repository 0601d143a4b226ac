// `danehook deploy`: identify the entry, queue the renewed certificate in stateDir/inbox (its own
// file: no lock needed, and from then on no busy lock, kill or crash loses it), then take the lock —
// waiting as long as a post-deploy can legitimately hold it, within lego's 120 s — and accept every
// queued renewal (rollover/inbox-drain.ts). Still locked out: exit 0, the renewal stays queued for
// the lock holder or the next post-deploy. Accepting (kinds/tls/accept.ts) = stage, publish beside
// the live one, record `published`, return at once (--wait: finish here; --detach: finish in a
// detached background post-deploy whose output goes to a log file, not the client's pipes).
import { openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LockBusyError, UsageError } from '../errors.js';
import { computeCertFingerprint } from '../core/certificate.js';
import { formatDuration } from '../config/duration.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { formatMaterial } from '../io/files.js';
import { assertInstallSafe } from '../io/install-safety.js';
import { INBOX_DIR, writeInboxItem } from '../io/inbox.js';
import { StateStore } from '../io/state-store.js';
import { acceptRenewal, type AcceptOutcome, type Renewal } from '../kinds/tls/accept.js';
import { drainInbox } from '../rollover/inbox-drain.js';
import { computeDeployLockWaitMs } from '../rollover/lock-wait.js';
import { closeSession, openSession, type Session } from '../rollover/session.js';
import { advanceRollovers } from '../rollover/advance.js';
import { advanceNextKey } from '../kinds/tls/next-key.js';
import { describePath } from '../kinds/tls/path-text.js';
import { waitForRollovers } from '../rollover/wait.js';
import { readCertificateInput, type CertificateInput } from './certificate-input.js';
import type { CommandContext } from './context.js';

function computeRenewal(input: CertificateInput): Renewal {
  return {
    entry: input.entry, bundle: input.bundle, spkiHash: input.spkiHash, fingerprint: computeCertFingerprint(input.bundle.leaf.der), client: input.event.client,
    ...(input.event.nextKey ? { nextKey: input.event.nextKey } : {}),
  };
}

/** Queue the renewal before taking the lock; returns the item's file name. */
function writeRenewalToInbox(ctx: CommandContext, loaded: LoadedConfig, r: Renewal): string {
  new StateStore(loaded.config.stateDir).ensureDir();
  const now = ctx.now();
  return writeInboxItem(loaded.config.stateDir, {
    version: 1, id: r.entry.id, client: r.client, receivedAt: now.toISOString(), spki: r.spkiHash, fingerprint: r.fingerprint, pem: formatMaterial(r.bundle).combined,
    ...(r.nextKey ? { nextKey: r.nextKey } : {}),
  }, now);
}

/**
 * Take the lock and accept the inbox, this renewal among it. 'queued': the lock stayed busy;
 * 'taken': another run accepted this renewal meanwhile. This renewal's own error is thrown.
 */
async function acceptQueued(ctx: CommandContext, loaded: LoadedConfig, r: Renewal, name: string): Promise<AcceptOutcome | { kind: 'queued' | 'taken' }> {
  const id = r.entry.id;
  const waitMs = computeDeployLockWaitMs(loaded.config, r.entry);
  let s;
  try {
    s = await openSession(ctx, loaded, { lock: true, lockWaitMs: waitMs });
  } catch (err) {
    if (!(err instanceof LockBusyError)) {
      // E.g. a corrupt state file (74): the renewal waits in the inbox until the state is repaired.
      ctx.log.info(`"${id}": the renewal stays queued as ${join(loaded.config.stateDir, INBOX_DIR, name)}; the first run that can read the state accepts it`);
      throw err;
    }
    const holder = err.holder ? `another danehook run (pid ${err.holder})` : 'another danehook run';
    ctx.log.info(`"${id}": ${holder} held the lock for ${formatDuration(waitMs)}; the renewal is queued as ${join(loaded.config.stateDir, INBOX_DIR, name)} and that run or the next "danehook post-deploy" publishes it`);
    return { kind: 'queued' };
  }
  try {
    const results = await drainInbox(s, name);
    const mine = results.find((x) => x.name === name);
    if (!mine) {
      ctx.log.info(`"${id}": another danehook run accepted this renewal meanwhile`);
      return { kind: 'taken' };
    }
    if (mine.error) throw mine.error;
    await finishInRun(s, id, mine.outcome!);
    return mine.outcome!;
  } finally {
    closeSession(s);
  }
}

/**
 * While the lock is held: a renewal whose records have been served all along (its key is the live
 * one or the aged next key) goes live now — no wait, so no reason to leave it to the timer; and
 * the next key chosen for it is announced at once, so it starts aging now.
 */
async function finishInRun(s: Session, id: string, outcome: AcceptOutcome): Promise<void> {
  if (outcome.kind !== 'pending') return;
  if (outcome.rollover && outcome.rollover.phase === 'published' && outcome.rollover.alreadyServed) {
    const res = await advanceRollovers(s, [id]);
    const r = s.entryState(id).rollovers.find((x) => x.id === outcome.rollover!.id);
    if (r?.activatedAt) s.ctx.log.info(`"${id}": ${describePath(r, s.now())}`);
    // The timer retries whatever failed here; the renewal itself is safely accepted.
    for (const e of res.errors) s.ctx.log.warn(`"${id}": ${e.message}; "danehook post-deploy" retries`);
    return;
  }
  const res = await advanceNextKey(s, id);
  if (res.error) s.ctx.log.warn(`"${id}": announcing the next key failed (${res.error.message}); "danehook post-deploy" retries`);
}

/** --dry-run: no queue, no lock, nothing written; show what accepting it would do. */
async function dryRunDeploy(ctx: CommandContext, loaded: LoadedConfig, r: Renewal): Promise<number> {
  const s = await openSession(ctx, loaded, { lock: false });
  try {
    await acceptRenewal(s, r);
  } finally {
    closeSession(s);
  }
  return 0;
}

function spawnDetached(ctx: CommandContext, loaded: LoadedConfig, id: string): void {
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  // Output goes to a file: lego waits for the hook's stdout/stderr to close (FACTS.md).
  const log = openSync(join(loaded.config.stateDir, 'detached.log'), 'a', 0o600);
  const child = spawn(process.execPath, [cli, 'post-deploy', '--wait', '--id', id, '--config', loaded.path], {
    detached: true,
    stdio: ['ignore', log, log],
    env: ctx.env,
  });
  child.unref();
  ctx.log.info(`"${id}": the rest of the rollover continues in the background (pid ${child.pid}, log ${join(loaded.config.stateDir, 'detached.log')})`);
}

async function retryRolledBack(ctx: CommandContext): Promise<number> {
  if (!ctx.options.id) throw new UsageError('--retry needs --id ID');
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env });
  const s = await openSession(ctx, loaded, { lock: true });
  try {
    s.entry(ctx.options.id);
    const es = s.entryState(ctx.options.id);
    const i = es.rollovers.findIndex((r) => r.phase === 'rolled-back');
    if (i < 0) throw new UsageError(`"${ctx.options.id}" has no rolled-back rollover to retry`);
    const r = es.rollovers[i]!;
    es.rollovers[i] = { ...r, phase: 'propagated', activateAfter: s.now().toISOString(), lastError: null };
    s.event({ id: ctx.options.id, rollover: r.id, event: 'phase', phase: 'propagated', reason: 'retry requested' });
    s.save();
    ctx.log.info(`"${ctx.options.id}": rollover ${r.id} will be activated again on the next post-deploy`);
  } finally {
    closeSession(s);
  }
  return ctx.options.wait ? waitForRollovers(ctx, loaded, [ctx.options.id]) : 0;
}

export async function deployCommand(ctx: CommandContext): Promise<number> {
  const o = ctx.options;
  if (o.retry && !o.pem && !o.cert && o.args.length === 0) return retryRolledBack(ctx);
  const input = await readCertificateInput(ctx, { requireKey: true });
  // Before any state or DNS write: an install target root must refuse later is refused now (78).
  assertInstallSafe(input.entry.id, input.entry.install);
  const renewal = computeRenewal(input);
  const id = renewal.entry.id;
  if (o.dryRun) return dryRunDeploy(ctx, input.loaded, renewal);
  const name = writeRenewalToInbox(ctx, input.loaded, renewal);
  const outcome = await acceptQueued(ctx, input.loaded, renewal, name);
  if (outcome.kind === 'live' || outcome.kind === 'rolled-back') return 0;
  if (o.wait) return waitForRollovers(ctx, input.loaded, [id]);
  if (o.detach) spawnDetached(ctx, input.loaded, id);
  else if (outcome.kind === 'pending') ctx.log.info(`"${id}": ${outcome.phase}; "danehook post-deploy" (timer or cron) finishes the rollover`);
  return 0;
}
