// Publish a staged rollover: add its records beside the live certificate's with one UPDATE per
// zone, remember the largest TTL of the RRsets they joined (the activation delay), and own them.
import { UnsafePlanError } from '../errors.js';
import { checkPlanSafety, computeAdditions } from '../core/plan.js';
import type { Rollover } from '../core/state.js';
import { containsAll, fromStateRecords, toStateRecord, unionRecords } from '../core/state-records.js';
import { formatChangeJson } from '../core/format-plan.js';
import type { RRset } from '../providers/types.js';
import type { Session } from './session.js';
import { confirmApplied } from './records.js';
import { formatCrowdedWarnings, formatLowTtlWarning } from '../core/desired.js';
import { requireLiveKnown } from './live.js';
import { readRolloverKeyType } from './key-types.js';

export async function publishRollover(s: Session, id: string, r: Rollover): Promise<Rollover> {
  // Nothing is published until the certificate the service presents now is positively known.
  await requireLiveKnown(s, s.entry(id), readRolloverKeyType(s, r));
  const es = s.entryState(id);
  const live = fromStateRecords(es.live?.records ?? []);
  const provider = await s.provider();
  const names = [...new Set([...live, ...fromStateRecords(r.records)].map((x) => x.name))];
  const existing: Map<string, RRset> = await provider.listRecords(names);

  // RFC 2181 §5.2: all records of an RRset share one TTL, so an existing RRset's TTL wins.
  const ttlAt = (name: string, fallback: number) => existing.get(name)?.ttl ?? fallback;
  const mine = fromStateRecords(r.records).map((x) => ({ ...x, ttl: ttlAt(x.name, x.ttl) }));
  const desired = unionRecords(live.map((x) => ({ ...x, ttl: ttlAt(x.name, x.ttl) })), mine);
  const changes = computeAdditions(desired, existing);
  const violations = checkPlanSafety(changes, existing, { live, owned: fromStateRecords(es.owned), managedNames: names });
  if (violations.length > 0 && !s.ctx.options.force) throw new UnsafePlanError(`refusing to publish for "${id}": ${violations.join('; ')}`);

  const ttls = names.map((n) => existing.get(n)?.ttl).filter((t): t is number => typeof t === 'number');
  const replacedTtl = ttls.length > 0 ? Math.max(...ttls) : null;
  // Same key as the live certificate (e.g. certbot --reuse-key with 3 1 1): these exact records
  // have been served all along, so no cache can hold an RRset without them.
  const alreadyServed = containsAll(live, mine) && containsAll([...existing.values()].flatMap((rs) => rs.records.map((rdata) => ({ name: rs.name, ttl: 0, rdata }))), mine);

  if (s.dryRun) {
    s.ctx.log.info(`dry run: would publish ${changes.length} record(s) for "${id}": ${JSON.stringify(changes.map(formatChangeJson))}`);
    return r;
  }
  const lowTtl = formatLowTtlWarning(id, desired);
  if (lowTtl) s.ctx.log.warn(lowTtl);
  for (const w of formatCrowdedWarnings(id, unionRecords(desired, [...existing.values()].flatMap((rs) => rs.records.map((rdata) => ({ name: rs.name, ttl: 0, rdata })))))) s.ctx.log.warn(w);
  // Own the records before sending the UPDATE: if the run dies (or the read-back fails) after
  // the server applied it, the records are still ours to clean up later, never "not ours" forever.
  es.owned = unionRecords(fromStateRecords(es.owned), desired).map(toStateRecord);
  s.save();
  if (changes.length > 0) {
    const result = await provider.apply({ changes });
    await confirmApplied(s, changes);
    s.event({ id, rollover: r.id, event: 'dns', op: 'publish', changes: changes.map(formatChangeJson), zones: result.zones });
    s.ctx.log.info(`published ${changes.length} TLSA record(s) for "${id}" (${result.zones.map((z) => z.zone).join(', ')})`);
  } else {
    s.ctx.log.info(`the primary already serves every record for "${id}"; nothing to add`);
  }
  const now = s.now().toISOString();
  s.event({ id, rollover: r.id, event: 'phase', phase: 'published', replacedTtl, alreadyServed });
  return { ...r, phase: 'published', records: mine.map(toStateRecord), replacedTtl, alreadyServed, publishedAt: now, lastError: null, attempts: r.attempts + 1 };
}
