// Remove the records of certificates this id no longer serves: only records it owns, never one any
// entry's live or pending certificate needs, never leaving a configured RRset empty (checked by the
// planner; a port or domain removed from the config is emptied on purpose), one UPDATE per zone.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { TemporaryError, UnsafePlanError } from '../errors.js';
import { computeProbeTargets, probeEndpoints } from './probe.js';
import { computeKeyTypes, readLiveKeyType, readRolloverKeyType } from './key-types.js';
import { isPending } from '../core/phases.js';
import { computeEntryRequiredRecords, computeLiveRecords, computeOwners, computeRequiredRecords } from '../core/desired.js';
import { checkPlanSafety, computeCleanup } from '../core/plan.js';
import type { Rollover } from '../core/state.js';
import { containsAll, fromStateRecords, toStateRecord, unionRecords } from '../core/state-records.js';
import { formatChangeJson } from '../core/format-plan.js';
import { confirmApplied } from './records.js';
import { removeOrphanStagedDirs } from '../io/files.js';
import type { Session } from './session.js';
import type { StepResult } from './activate.js';

export async function cleanupRollover(s: Session, id: string, r: Rollover): Promise<StepResult> {
  const es = s.entryState(id);
  const entry = s.entry(id);
  const provider = await s.provider();
  const owned = fromStateRecords(es.owned);
  // What must stay is computed across every entry: an RSA and an ECDSA entry share owner names.
  const desired = computeRequiredRecords(s.state);
  const configuredNames = new Set(s.loaded.config.certificates.flatMap(computeOwners));
  const names = [...new Set([...computeOwners(entry), ...owned.map((x) => x.name)])];
  const existing = await provider.listRecords(names);
  const changes = computeCleanup(existing, desired, owned);
  const live = computeLiveRecords(s.state);
  const violations = checkPlanSafety(changes, existing, { live, owned, managedNames: names.filter((n) => configuredNames.has(n)) });
  if (violations.length > 0 && !s.ctx.options.force) {
    const err = new UnsafePlanError(`"${id}": refusing cleanup: ${violations.join('; ')}`);
    return { rollover: { ...r, lastError: err.message }, error: err };
  }
  const retired = [...new Set(changes.filter((c) => !configuredNames.has(c.name)).map((c) => c.name))];
  if (retired.length > 0) s.ctx.log.info(`"${id}": ${retired.join(', ')} no longer configured: removing the records danehook published there`);
  // Fleet safety: several hosts behind one name must all present a certificate the remaining
  // records match before the old records go.
  if (changes.length > 0) {
    // Each endpoint is asked for this id's certificate by its key type (the live one first): a
    // service holding another entry's certificate of another type must not answer for this one.
    const pending = es.rollovers.filter((x) => x !== r && isPending(x.phase));
    const keyTypes = computeKeyTypes(readLiveKeyType(entry, es), ...pending.map((x) => readRolloverKeyType(s, x)));
    const verdicts = await probeEndpoints(await computeProbeTargets(s, entry), desired, { graceMs: 0, allParams: false, keyTypes });
    const bad = verdicts.filter((v) => !v.ok);
    if (bad.length > 0) {
      const why = `"${id}": cleanup postponed: ${bad.map((v) => `${v.target} ${v.detail}`).join('; ')}`;
      return { rollover: { ...r, lastError: why }, error: new TemporaryError(why) };
    }
  }
  if (s.dryRun) {
    s.ctx.log.info(`dry run: cleanup would delete ${changes.length} record(s) for "${id}": ${JSON.stringify(changes.map(formatChangeJson))}`);
    return { rollover: r };
  }
  if (changes.length > 0) {
    const result = await provider.apply({ changes });
    await confirmApplied(s, changes);
    s.event({ id, rollover: r.id, event: 'dns', op: 'cleanup', changes: changes.map(formatChangeJson), zones: result.zones });
    s.ctx.log.info(`"${id}": removed ${changes.length} stale TLSA record(s)`);
  }
  // Everything owned but not required is gone now; ownership shrinks to this id's own records and
  // what it owned that another entry still needs (the last one to need it may delete it).
  const kept = owned.filter((x) => containsAll(desired, [x]));
  es.owned = unionRecords(computeEntryRequiredRecords(es), kept).map(toStateRecord);
  // Key material of finished rollovers is not kept around: staged files and backups go.
  const stateDir = s.loaded.config.stateDir;
  for (const old of es.rollovers.filter((x) => x === r || x.phase === 'superseded')) {
    rmSync(join(stateDir, 'backup', id, old.id), { recursive: true, force: true });
  }
  // Staged files of this and superseded rollovers, and any a run killed mid-staging left behind.
  removeOrphanStagedDirs(stateDir, id, es.rollovers.filter((x) => x !== r && x.phase !== 'superseded').map((x) => x.stagedDir));
  s.event({ id, rollover: r.id, event: 'phase', phase: 'cleaned' });
  return { rollover: { ...r, phase: 'cleaned', cleanedAt: s.now().toISOString(), lastError: null } };
}
