// Activate a propagated rollover: re-check that every authoritative server serves its records and
// that the install targets are safe, record `activating`, back up and install the staged files
// atomically, run `activate` and `reload`; on any failure restore the backup (with its own owner,
// group and mode), reload again, keep every record, and mark the rollover rolled-back. A rollover
// found `activating` (a run died mid-install) is restored from its backup, then activated afresh.
import { join } from 'node:path';
import { toDanehookError, TemporaryError, UnavailableError, type DanehookError } from '../../errors.js';
import type { Rollover } from '../../core/state.js';
import type { CertificateEntry } from '../../config/schema.js';
import { installMaterial, readStagedMaterial, removeBackups, restoreMaterial, stagedPath, type InstallOptions, type InstallTargets } from '../../io/files.js';
import { assertInstallSafe } from '../../io/install-safety.js';
import { runServiceCommand } from '../../io/service.js';
import { resolveOwner } from '../../io/accounts.js';
import { recheckServed, saveRolloverNow } from '../../rollover/activation-guard.js';
import { requireLiveKnown } from './live.js';
import { computeProbeTargets, probeEndpoints, splitActivationTargets } from './probe.js';
import { fromStateRecords } from '../../core/state-records.js';
import { formatKeyType } from '../../core/key-type.js';
import { computeKeyTypes, readLiveKeyType, readRolloverKeyType } from './key-types.js';
import type { Session } from '../../rollover/session.js';
import { backupDir, type StepResult } from '../../rollover/step.js';

/** After a rollback, say whether the endpoints present the live certificate again. */
async function confirmRestored(s: Session, id: string, entry: ReturnType<Session['entry']>): Promise<void> {
  const es = s.entryState(id);
  const live = fromStateRecords(es.live?.records ?? []);
  if (live.length === 0) return;
  const keyTypes = computeKeyTypes(readLiveKeyType(entry, es));
  const verdicts = await probeEndpoints(await computeProbeTargets(s, entry).catch(() => []), live, { graceMs: entry.probe.grace, allParams: false, keyTypes });
  for (const v of verdicts) (v.ok ? s.ctx.log.info : s.ctx.log.error)(`after rollback: ${v.target} ${v.ok ? 'presents the previous certificate again' : v.detail}`);
}

function computeTargets(entry: CertificateEntry): InstallTargets {
  const install = entry.install;
  return install ? { certificate: install.certificate, chain: install.chain, fullchain: install.fullchain, key: install.key, combined: install.combined } : {};
}

/** What the entry sets (the rest is kept from each target); resolving names reads /etc/passwd. */
function readInstallOptions(entry: CertificateEntry): InstallOptions {
  const install = entry.install;
  const ids = resolveOwner(install?.owner, install?.group);
  return {
    mode: install?.mode === undefined ? undefined : parseInt(install.mode, 8),
    uid: ids?.uid,
    gid: ids?.gid,
    replaceSymlinks: install?.replaceSymlinks ?? false,
  };
}

export async function activateRollover(s: Session, id: string, r: Rollover): Promise<StepResult> {
  const es = s.entryState(id);
  const entry = s.entry(id);
  if (!es.liveKnown) {
    // Only a state written before publishing required it can get here: learn it now, so the
    // rollover does not wait for ever (a ConfigError says what to configure).
    try {
      await requireLiveKnown(s, entry, readRolloverKeyType(s, r));
    } catch (err) {
      const why = `"${id}": not activating: ${(err as Error).message}`;
      return { rollover: { ...r, lastError: why }, error: new TemporaryError(why) };
    }
  }
  // RFC 6698 A.4 / DESIGN.md: never activate unless every authoritative server serves the records now.
  const unserved = await recheckServed(s, id, r);
  if (unserved) return unserved;
  // Refused here (78) before anything is touched; the rollover stays propagated and is retried.
  try {
    assertInstallSafe(id, entry.install);
  } catch (err) {
    const e = toDanehookError(err);
    return { rollover: { ...r, lastError: e.message }, error: e };
  }
  if (s.dryRun) {
    s.ctx.log.info(`dry run: would install the staged certificate for "${id}" and run ${entry.reload?.join(' ') ?? 'no reload'}`);
    return { rollover: r };
  }

  const material = readStagedMaterial(s.loaded.config.stateDir, r.stagedDir);
  const targets = computeTargets(entry);
  const options = readInstallOptions(entry);
  const backup = backupDir(s, id, r);
  const timeoutMs = entry.reloadTimeout;
  const stateDir = s.loaded.config.stateDir;
  let probed: { keyType: string | null; endpoints: number } | undefined;
  // Backups of an earlier attempt (rolled back, then retried) describe files that may have changed
  // since: drop them before `activating` is saved, so a recovery only ever restores this attempt's.
  removeBackups(backup);
  const activating: Rollover = { ...r, phase: 'activating', lastError: null };
  saveRolloverNow(s, id, activating);
  s.event({ id, rollover: r.id, event: 'phase', phase: 'activating' });
  try {
    installMaterial(targets, material, backup, options);
    if (entry.activate) {
      await runServiceCommand(entry.activate, {
        timeoutMs,
        what: 'activate command',
        env: {
          DANEHOOK_ID: id,
          DANEHOOK_CERT_FILE: stagedPath(stateDir, r.stagedDir, 'certificate'),
          DANEHOOK_CHAIN_FILE: stagedPath(stateDir, r.stagedDir, 'chain'),
          DANEHOOK_FULLCHAIN_FILE: stagedPath(stateDir, r.stagedDir, 'fullchain'),
          DANEHOOK_KEY_FILE: stagedPath(stateDir, r.stagedDir, 'key'),
        },
      });
    }
    if (entry.reload) await runServiceCommand(entry.reload, { timeoutMs, what: 'reload' });
    // Installing and reloading prove nothing: check what clients see at every address.
    // Offer only the new certificate's key type: a service that also holds another entry's
    // certificate (RSA beside ECDSA) would otherwise show whichever it prefers.
    const keyType = readRolloverKeyType(s, r);
    const { mustBeNew, others } = splitActivationTargets(await computeProbeTargets(s, entry), Boolean(entry.activate));
    const verdicts = await probeEndpoints(mustBeNew, fromStateRecords(r.records), { graceMs: entry.probe.grace, allParams: true, keyTypes: computeKeyTypes(keyType) });
    const bad = verdicts.filter((v) => !v.ok);
    if (bad.length > 0) throw new UnavailableError(`probe: ${bad.map((v) => `${v.target} ${v.detail}`).join('; ')}`);
    if (verdicts.length > 0) s.ctx.log.info(`"${id}": ${verdicts.length} endpoint(s) present the new ${keyType ? `${formatKeyType(keyType)} ` : ''}certificate${keyType ? ` (probed offering ${formatKeyType(keyType)} only)` : ''}`);
    probed = { keyType: keyType ?? null, endpoints: verdicts.length };
    // Other hosts behind the name keep their certificate until their own danehook activates.
    const published = [...fromStateRecords(es.live?.records ?? []), ...fromStateRecords(r.records)];
    const otherTypes = computeKeyTypes(readLiveKeyType(entry, es), keyType);
    for (const v of await probeEndpoints(others, published, { graceMs: 0, allParams: false, keyTypes: otherTypes })) {
      if (!v.ok) s.ctx.log.warn(`"${id}": other host ${v.target} ${v.detail}`);
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    s.ctx.log.error(`"${id}": activation failed: ${reason}; restoring the previous files`);
    try {
      restoreMaterial(targets, backup);
    } catch (restoreErr) {
      // Still `activating`: the next run restores again before anything else.
      const e = toDanehookError(restoreErr);
      const why = `"${id}": activation failed (${reason}) and restoring the previous files failed too: ${e.message}; the next run restores them`;
      return { rollover: { ...activating, lastError: why }, error: e };
    }
    if (entry.reload) {
      await runServiceCommand(entry.reload, { timeoutMs, what: 'reload after rollback' }).catch((e: Error) => s.ctx.log.error(e.message));
    }
    await confirmRestored(s, id, entry);
    s.event({ id, rollover: r.id, event: 'phase', phase: 'rolled-back', reason });
    const message = `"${id}": rolled back to the previous certificate: ${reason}; the new records stay published; run "danehook deploy --id ${id} --retry" after fixing the cause`;
    return { rollover: { ...r, phase: 'rolled-back', lastError: reason }, error: new UnavailableError(message) };
  }

  const now = s.now().toISOString();
  es.live = { spki: r.spki, fingerprint: r.fingerprint, notAfter: r.notAfter, ...(r.notBefore ? { notBefore: r.notBefore } : {}), ...(r.keyType ? { keyType: r.keyType } : {}), records: r.records, source: 'activation' };
  es.liveKnown = true;
  s.event({ id, rollover: r.id, event: 'phase', phase: 'activated', activateAfter: r.activateAfter, ...(probed ? { probed } : {}) });
  s.ctx.log.info(`"${id}": activated the new certificate (SPKI ${r.spki.slice(0, 16)}…)`);
  return { rollover: { ...r, phase: 'activated', activatedAt: now, lastError: null } };
}

/**
 * A run died while this rollover was `activating`: some targets may hold the new files and others
 * the old ones (a new key beside the old certificate). We restore every target from the backup and
 * then activate from scratch (phase back to `propagated`), rather than finish the interrupted
 * install: every backup was complete before the first target was replaced, restoring is idempotent
 * (a crash during it just repeats it), and the fresh activation re-checks DNS and the targets before
 * installing again. Finishing instead would skip those checks and would have to know how far the
 * dead run got.
 */
export async function recoverActivation(s: Session, id: string, r: Rollover): Promise<StepResult> {
  const entry = s.entry(id);
  const targets = computeTargets(entry);
  const backup = backupDir(s, id, r);
  if (s.dryRun) {
    s.ctx.log.info(`dry run: would restore the files of "${id}" from ${backup} (an earlier run stopped while installing), then activate again`);
    return { rollover: r };
  }
  const restored = restoreMaterial(targets, backup);
  s.ctx.log.warn(`"${id}": an earlier run stopped while installing rollover ${r.id}; ${restored.length > 0 ? `restored ${restored.join(', ')} from the backup` : 'no file had been replaced yet'}; activating again`);
  // The dead run may already have reloaded the service with the new files: make it present what is
  // on disk again before the fresh activation decides anything.
  if (entry.reload && restored.length > 0) {
    await runServiceCommand(entry.reload, { timeoutMs: entry.reloadTimeout, what: 'reload after restoring' }).catch((e: Error) => s.ctx.log.error(e.message));
  }
  const note = `an interrupted activation was undone (files restored from ${backup}); activating again`;
  s.event({ id, rollover: r.id, event: 'phase', phase: 'propagated', reason: note });
  return { rollover: { ...r, phase: 'propagated', lastError: note } };
}
