// Remove the records of credentials this id no longer uses: only records it owns, never one any
// entry's live or pending credential needs, never leaving a managed RRset empty (checked by the
// planner; a port or domain removed from the config is emptied on purpose), one UPDATE per zone.
// What must hold first (TLS: every endpoint matches what remains) is the kind's to say.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { TemporaryError, UnsafePlanError } from '../errors.js';
import { computeEntryRequiredRecords, computeLiveRecords, computeRequiredRecords } from '../core/desired.js';
import { checkPlanSafety, computeAdditions, computeCleanup } from '../core/plan.js';
import type { Rollover } from '../core/state.js';
import { containsAll, fromStateRecords, toStateRecord, unionRecords } from '../core/state-records.js';
import { formatChangeJson } from '../core/format-plan.js';
import { confirmApplied } from './records.js';
import { removeOrphanStagedDirs } from '../io/files.js';
import { kindOf } from '../kinds/registry.js';
import type { Session } from './session.js';
import type { StepResult } from './step.js';

/** Owner names every configured entry manages now: these are never emptied. */
function listManagedNames(s: Session): Set<string> {
  const ids = [...s.loaded.config.certificates, ...s.loaded.config.dkim].map((e) => e.id);
  return new Set(ids.flatMap((id) => kindOf(s, id).ownerNames(s, id)));
}

export async function cleanupRollover(s: Session, id: string, r: Rollover): Promise<StepResult> {
  const es = s.entryState(id);
  const kind = kindOf(s, id);
  const provider = await s.provider();
  const owned = fromStateRecords(es.owned);
  // What must stay is computed across every entry: an RSA and an ECDSA entry share owner names.
  const desired = computeRequiredRecords(s.state);
  const managed = listManagedNames(s);
  const names = [...new Set([...kind.ownerNames(s, id), ...owned.map((x) => x.name)])];
  const existing = await provider.listRecords(names, kind.recordType);
  const deletes = computeCleanup(existing, desired, owned);
  const stale = deletes.map((c) => ({ name: c.name, ttl: c.ttl, rdata: c.rdata }));
  // A replacement (DKIM revoke) goes in the same UPDATE as the delete it stands for.
  const changes = [...computeAdditions(kind.replacementsFor(s, id, stale), existing), ...deletes];
  const live = computeLiveRecords(s.state);
  const violations = checkPlanSafety(changes, existing, { live, owned, managedNames: names.filter((n) => managed.has(n)) });
  if (violations.length > 0 && !s.ctx.options.force) {
    const err = new UnsafePlanError(`"${id}": refusing cleanup: ${violations.join('; ')}`);
    return { rollover: { ...r, lastError: err.message }, error: err };
  }
  const retired = [...new Set(changes.filter((c) => !managed.has(c.name)).map((c) => c.name))];
  if (retired.length > 0 && kind.name === 'tls') s.ctx.log.info(`"${id}": ${retired.join(', ')} no longer configured: removing the records danehook published there`);
  if (changes.length > 0) {
    const why = await kind.checkBeforeCleanup(s, id, r, desired);
    if (why) {
      const msg = `"${id}": cleanup postponed: ${why}`;
      return { rollover: { ...r, lastError: msg }, error: new TemporaryError(msg) };
    }
  }
  if (s.dryRun) {
    s.ctx.log.info(`dry run: cleanup would change ${changes.length} record(s) for "${id}": ${JSON.stringify(changes.map(formatChangeJson))}`);
    return { rollover: r };
  }
  if (changes.length > 0) {
    const result = await provider.apply({ changes });
    await confirmApplied(s, changes);
    s.event({ id, rollover: r.id, event: 'dns', op: 'cleanup', changes: changes.map(formatChangeJson), zones: result.zones });
    s.ctx.log.info(`"${id}": removed ${deletes.length} stale ${kind.recordType} record(s)${changes.length > deletes.length ? `, published ${changes.length - deletes.length} revocation(s)` : ''}`);
  }
  // Everything owned but not required is gone now; ownership shrinks to this id's own records and
  // what it owned that another entry still needs (the last one to need it may delete it). A
  // revocation record is not owned: it stays published for good.
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
