// Activate a propagated rollover: re-check that every authoritative server serves its records,
// back up and install the staged files atomically, run `activate` and `reload`; on any failure
// restore the backup, reload again, keep every record, and mark the rollover rolled-back.
import { join } from 'node:path';
import { DanehookError, TemporaryError, UnavailableError } from '../errors.js';
import type { Rollover } from '../core/state.js';
import { installMaterial, readStagedMaterial, restoreMaterial, stagedPath, type InstallTargets } from '../io/files.js';
import { runServiceCommand } from '../io/service.js';
import { resolveOwner } from '../io/accounts.js';
import { observeServers } from './propagation.js';
import { requireLiveKnown } from './live.js';
import { computeProbeTargets, probeEndpoints, splitActivationTargets } from './probe.js';
import { fromStateRecords } from '../core/state-records.js';
import { formatKeyType } from '../core/key-type.js';
import { computeKeyTypes, readLiveKeyType, readRolloverKeyType } from './key-types.js';
import type { Session } from './session.js';

export interface StepResult {
  rollover: Rollover;
  error?: DanehookError;
}

/** After a rollback, say whether the endpoints present the live certificate again. */
async function confirmRestored(s: Session, id: string, entry: ReturnType<Session['entry']>): Promise<void> {
  const es = s.entryState(id);
  const live = fromStateRecords(es.live?.records ?? []);
  if (live.length === 0) return;
  const keyTypes = computeKeyTypes(readLiveKeyType(entry, es));
  const verdicts = await probeEndpoints(await computeProbeTargets(s, entry).catch(() => []), live, { graceMs: entry.probe.grace, allParams: false, keyTypes });
  for (const v of verdicts) (v.ok ? s.ctx.log.info : s.ctx.log.error)(`after rollback: ${v.target} ${v.ok ? 'presents the previous certificate again' : v.detail}`);
}

export function backupDir(s: Session, id: string, r: Rollover): string {
  return join(s.loaded.config.stateDir, 'backup', id, r.id);
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
  const observations = await observeServers(s, r);
  const missing = observations.filter((o) => !o.servesAll).map((o) => o.server);
  if (missing.length > 0 || observations.length === 0) {
    // Someone removed records, or a server lost them: publish again (adds only what is missing)
    // and restart the clocks, so activation again waits for every server and the TTL.
    const why = `"${id}": not activating: ${missing.join(', ') || 'no authoritative server'} no longer serve(s) the new records; publishing them again`;
    s.event({ id, rollover: r.id, event: 'phase', phase: 'staged', reason: why });
    return { rollover: { ...r, phase: 'staged', servers: {}, propagatedAt: null, activateAfter: null, lastError: why }, error: new TemporaryError(why) };
  }
  if (s.dryRun) {
    s.ctx.log.info(`dry run: would install the staged certificate for "${id}" and run ${entry.reload?.join(' ') ?? 'no reload'}`);
    return { rollover: r };
  }

  const material = readStagedMaterial(s.loaded.config.stateDir, r.stagedDir);
  const install = entry.install;
  const targets: InstallTargets = install ? { certificate: install.certificate, chain: install.chain, fullchain: install.fullchain, key: install.key, combined: install.combined } : {};
  const mode = parseInt(install?.mode ?? '0600', 8);
  const owner = resolveOwner(install?.owner, install?.group);
  const backup = backupDir(s, id, r);
  const timeoutMs = entry.reloadTimeout;
  const stateDir = s.loaded.config.stateDir;
  let probed: { keyType: string | null; endpoints: number } | undefined;
  try {
    installMaterial(targets, material, backup, mode, owner);
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
    restoreMaterial(targets, backup, mode, owner);
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
