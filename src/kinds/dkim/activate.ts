// Switch the signer to the new DKIM key once its selector has been served long enough: install
// the private key (0600) in the signer's key dir, point the signer's tables at it, reload, verify
// (every authoritative server serves the matching p=, and the operator's `verify` command passes);
// any failure restores the signer's files, reloads, and rolls back (the records stay published).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { toDanehookError, UnavailableError } from '../../errors.js';
import type { Rollover } from '../../core/state.js';
import { resolveOwner } from '../../io/accounts.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { stagedPath } from '../../io/files.js';
import { runServiceCommand } from '../../io/service.js';
import { backupDir, type StepResult } from '../../rollover/step.js';
import { recheckServed, saveRolloverNow } from '../../rollover/activation-guard.js';
import type { Session } from '../../rollover/session.js';
import type { DkimEntry } from '../../config/dkim-schema.js';
import { parseSelector } from './records.js';
import { backupSignerFiles, readSignerKey, restoreSignerFiles, signerKeyFile, writeSignerKey } from './signer.js';
import { verifyPublishedKey } from './verify.js';
import type { SignerKey } from './signer-tables.js';

/** The environment the custom activate and the verify commands get. */
function signerEnv(entry: DkimEntry, key: SignerKey, previous: SignerKey | undefined): Record<string, string> {
  return {
    DANEHOOK_DKIM_DOMAIN: entry.domain, DANEHOOK_DKIM_SELECTOR: key.selector, DANEHOOK_DKIM_KEY_FILE: key.keyFile,
    ...(previous ? { DANEHOOK_DKIM_PREVIOUS_SELECTOR: previous.selector, DANEHOOK_DKIM_PREVIOUS_KEY_FILE: previous.keyFile } : {}),
  };
}

async function applySigner(entry: DkimEntry, key: SignerKey, previous: SignerKey | undefined, what: string): Promise<void> {
  const timeoutMs = entry.reloadTimeout;
  if (entry.signer.preset === 'custom') await runServiceCommand(entry.signer.activate, { timeoutMs, what: `${what}: activate command`, env: signerEnv(entry, key, previous) });
  else writeSignerKey(entry, key);
  if (entry.reload) await runServiceCommand(entry.reload, { timeoutMs, what: `${what}: reload` });
}

/** Install the staged private key where the signer reads it, with the configured owner and mode. */
function installKey(s: Session, entry: DkimEntry, r: Rollover, keyFile: string): void {
  const key = readFileSync(stagedPath(s.loaded.config.stateDir, r.stagedDir, 'key'), 'utf8');
  const ids = resolveOwner(entry.keyOwner, entry.keyGroup);
  writeFileAtomic(keyFile, key, { mode: parseInt(entry.keyMode, 8), uid: ids?.uid, gid: ids?.gid, what: 'installing DKIM key' });
}

export async function activateDkim(s: Session, id: string, r: Rollover): Promise<StepResult> {
  const entry = s.dkimEntry(id);
  const es = s.entryState(id);
  const unserved = await recheckServed(s, id, r);
  if (unserved) return unserved;
  const selector = parseSelector(r.records[0]!.name);
  const key: SignerKey = { selector, keyFile: signerKeyFile(entry, selector) };
  // The signer's files say which key it uses; a custom signer's state is ours: the live key's.
  const liveName = es.live?.records[0]?.name;
  const previous = readSignerKey(entry) ?? (liveName ? { selector: parseSelector(liveName), keyFile: signerKeyFile(entry, parseSelector(liveName)) } : undefined);
  if (s.dryRun) {
    s.ctx.log.info(`dry run: would switch the ${entry.signer.preset} signer of ${entry.domain} to selector ${selector}`);
    return { rollover: r };
  }
  const backup = backupDir(s, id, r);
  const activating: Rollover = { ...r, phase: 'activating', lastError: null };
  backupSignerFiles(entry, backup);
  saveRolloverNow(s, id, activating);
  s.event({ id, rollover: r.id, event: 'phase', phase: 'activating', selector });
  try {
    installKey(s, entry, r, key.keyFile);
    await applySigner(entry, key, previous, 'switching the signer');
    // The signer's own view first (its key against every server), then the operator's end-to-end check.
    await verifyPublishedKey(s, id, r, key.keyFile);
    if (entry.verify) await runServiceCommand(entry.verify, { timeoutMs: entry.reloadTimeout, what: 'verify command', env: signerEnv(entry, key, previous) });
  } catch (err) {
    const reason = toDanehookError(err).message;
    s.ctx.log.error(`"${id}": switching the signer to ${selector} failed: ${reason}; restoring the previous signer configuration`);
    await restorePrevious(s, entry, backup, previous, key);
    s.event({ id, rollover: r.id, event: 'phase', phase: 'rolled-back', reason });
    const message = `"${id}": rolled back to the previous DKIM key${previous ? ` (selector ${previous.selector})` : ''}: ${reason}; the new selector stays published`;
    return { rollover: { ...r, phase: 'rolled-back', lastError: reason }, error: new UnavailableError(message) };
  }
  const now = s.now();
  es.live = { spki: r.spki, fingerprint: r.fingerprint, notAfter: new Date(now.getTime() + entry.every).toISOString(), ...(r.keyType ? { keyType: r.keyType } : {}), records: r.records, source: 'activation' };
  es.liveKnown = true;
  s.event({ id, rollover: r.id, event: 'phase', phase: 'activated', selector, activateAfter: r.activateAfter });
  s.ctx.log.info(`"${id}": the signer now signs ${entry.domain} with selector ${selector}; the previous selector stays published until the retain time has passed`);
  return { rollover: { ...r, phase: 'activated', activatedAt: now.toISOString(), lastError: null } };
}

async function restorePrevious(s: Session, entry: DkimEntry, backup: string, previous: SignerKey | undefined, failed: SignerKey): Promise<void> {
  try {
    restoreSignerFiles(entry, backup);
    if (entry.signer.preset === 'custom' && previous) await runServiceCommand(entry.signer.activate, { timeoutMs: entry.reloadTimeout, what: 'rollback: activate command', env: signerEnv(entry, previous, failed) });
    if (entry.reload) await runServiceCommand(entry.reload, { timeoutMs: entry.reloadTimeout, what: 'reload after rollback' });
  } catch (e) {
    s.ctx.log.error(`"${entry.id}": restoring the signer failed too: ${(e as Error).message}`);
  }
  // The new key never signed anything that stays: do not leave it lying in the signer's key dir.
  if (existsSync(failed.keyFile) && failed.keyFile !== previous?.keyFile) rmSync(failed.keyFile, { force: true });
}

/** A run died while switching: restore the signer's files from the backup, then activate again. */
export async function recoverDkim(s: Session, id: string, r: Rollover): Promise<StepResult> {
  const entry = s.dkimEntry(id);
  const backup = backupDir(s, id, r);
  if (s.dryRun) return { rollover: r };
  if (existsSync(backup)) restoreSignerFiles(entry, backup);
  if (entry.reload) await runServiceCommand(entry.reload, { timeoutMs: entry.reloadTimeout, what: 'reload after restoring' }).catch((e: Error) => s.ctx.log.error(e.message));
  const note = `an interrupted signer switch was undone (files restored from ${backup}); switching again`;
  s.ctx.log.warn(`"${id}": ${note}`);
  s.event({ id, rollover: r.id, event: 'phase', phase: 'propagated', reason: note });
  return { rollover: { ...r, phase: 'propagated', lastError: note } };
}
