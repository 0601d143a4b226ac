// Remove the records of certificates this id no longer serves: only records it owns, never the
// live certificate's, never leaving a managed RRset empty (checked by the planner), one UPDATE per zone.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { TemporaryError, UnsafePlanError } from '../errors.js';
import { computeProbeTargets, probeEndpoints } from './probe.js';
import { computeOwners } from '../core/desired.js';
import { checkPlanSafety, computeCleanup } from '../core/plan.js';
import type { Rollover } from '../core/state.js';
import { fromStateRecords, toStateRecord } from '../core/state-records.js';
import { formatChangeJson } from '../core/format-plan.js';
import { computeRequiredRecords, confirmApplied } from './records.js';
import { removeOrphanStagedDirs } from '../io/files.js';
import type { Session } from './session.js';
import type { StepResult } from './activate.js';

export async function cleanupRollover(s: Session, id: string, r: Rollover): Promise<StepResult> {
  const es = s.entryState(id);
  const entry = s.entry(id);
  const provider = await s.provider();
  const owned = fromStateRecords(es.owned);
  const desired = computeRequiredRecords(es);
  const names = [...new Set([...computeOwners(entry), ...owned.map((x) => x.name)])];
  const existing = await provider.listRecords(names);
  const changes = computeCleanup(existing, desired, owned);
  const live = fromStateRecords(es.live?.records ?? []);
  const violations = checkPlanSafety(changes, existing, { live, owned, managedNames: names });
  if (violations.length > 0 && !s.ctx.options.force) {
    const err = new UnsafePlanError(`"${id}": refusing cleanup: ${violations.join('; ')}`);
    return { rollover: { ...r, lastError: err.message }, error: err };
  }
  // Fleet safety: several hosts behind one name must all present a certificate the remaining
  // records match before the old records go.
  if (changes.length > 0) {
    const verdicts = await probeEndpoints(await computeProbeTargets(s, entry), desired, { graceMs: 0, allParams: false });
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
  // Everything owned but not required is gone now; ownership shrinks to what must stay.
  es.owned = desired.map(toStateRecord);
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
