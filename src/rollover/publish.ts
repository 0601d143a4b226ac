// Publish records beside the live certificate's with one UPDATE per zone — a staged rollover's, or
// an announced next key's — remember the largest TTL of the RRsets they joined (the activation
// delay), and own them before the UPDATE is sent.
import { UnsafePlanError } from '../errors.js';
import { checkPlanSafety, computeAdditions } from '../core/plan.js';
import type { NextKey, Rollover, StateRecord } from '../core/state.js';
import { containsAll, fromStateRecords, toStateRecord, unionRecords } from '../core/state-records.js';
import { formatChangeJson } from '../core/format-plan.js';
import { isNextKeyAged } from '../core/next-key.js';
import type { RolloverPath } from '../core/phases.js';
import type { DnsRecord } from '../core/rdata.js';
import type { RRset } from '../providers/types.js';
import type { Session } from './session.js';
import { confirmApplied } from './records.js';
import { formatCrowdedWarnings, formatLowTtlWarning } from '../core/desired.js';
import { kindOf } from '../kinds/registry.js';

export interface Published {
  /** The records with the TTL of the RRset each joined (RFC 2181 §5.2: one TTL per RRset). */
  records: DnsRecord[];
  /** Largest TTL of the RRsets joined; null: none existed, no cache can disagree. */
  replacedTtl: number | null;
  /** The primary served every one of the records before this run added anything. */
  servedBefore: boolean;
  publishedAt: string;
}

/**
 * Add `records` beside the live certificate's. `what` names them in events ({rollover} or
 * {next}). Nothing is sent on a dry run (the plan is logged); the records are owned first.
 */
export async function publishBesideLive(s: Session, id: string, records: StateRecord[], what: Record<string, string>): Promise<Published> {
  const es = s.entryState(id);
  const live = fromStateRecords(es.live?.records ?? []);
  const provider = await s.provider();
  const names = [...new Set([...live, ...fromStateRecords(records)].map((x) => x.name))];
  const type = records[0]?.txt !== undefined ? 'TXT' : 'TLSA';
  const existing: Map<string, RRset> = await provider.listRecords(names, type);

  const ttlAt = (name: string, fallback: number) => existing.get(name)?.ttl ?? fallback;
  const mine = fromStateRecords(records).map((x) => ({ ...x, ttl: ttlAt(x.name, x.ttl) }));
  const desired = unionRecords(live.map((x) => ({ ...x, ttl: ttlAt(x.name, x.ttl) })), mine);
  const changes = computeAdditions(desired, existing);
  const violations = checkPlanSafety(changes, existing, { live, owned: fromStateRecords(es.owned), managedNames: names });
  if (violations.length > 0 && !s.ctx.options.force) throw new UnsafePlanError(`refusing to publish for "${id}": ${violations.join('; ')}`);

  const ttls = names.map((n) => existing.get(n)?.ttl).filter((t): t is number => typeof t === 'number');
  const replacedTtl = ttls.length > 0 ? Math.max(...ttls) : null;
  const servedBefore = containsAll([...existing.values()].flatMap((rs) => rs.records.map((rdata) => ({ name: rs.name, ttl: 0, rdata }))), mine);
  const publishedAt = s.now().toISOString();
  if (s.dryRun) {
    s.ctx.log.info(`dry run: would publish ${changes.length} record(s) for "${id}": ${JSON.stringify(changes.map(formatChangeJson))}`);
    return { records: mine, replacedTtl, servedBefore, publishedAt };
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
    s.event({ id, ...what, event: 'dns', op: 'publish', changes: changes.map(formatChangeJson), zones: result.zones });
    s.ctx.log.info(`published ${changes.length} TLSA record(s) for "${id}" (${result.zones.map((z) => z.zone).join(', ')})`);
  } else {
    s.ctx.log.info(`the primary already serves every record for "${id}"; nothing to add`);
  }
  return { records: mine, replacedTtl, servedBefore, publishedAt };
}

/**
 * Which path a renewal takes. Records served all along — the live key's (e.g. certbot
 * --reuse-key with 3 1 1), or an announced next key's (RFC 7671 §8.1 "current + next") — cannot
 * be contradicted by any cache once they have aged: `same-key` goes live at once, `next-key` at
 * once when the announcement has aged, else when it ages (not delayFactor × TTL after the renewal:
 * every server has served those records since the announcement propagated). `new-key` waits.
 */
export function choosePath(live: DnsRecord[], next: NextKey | null, mine: DnsRecord[], servedBefore: boolean): RolloverPath {
  if (!servedBefore) return 'new-key';
  if (containsAll(live, mine)) return 'same-key';
  if (next?.phase === 'propagated' && next.propagatedAt && containsAll(unionRecords(live, fromStateRecords(next.records)), mine)) return 'next-key';
  return 'new-key';
}

const maxTtl = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

export async function publishRollover(s: Session, id: string, r: Rollover): Promise<Rollover> {
  const kind = kindOf(s, id);
  // TLS: nothing is published until the certificate the service presents now is positively known.
  await kind.beforePublish(s, id, r);
  const published = await publishBesideLive(s, id, r.records, { rollover: r.id });
  if (s.dryRun) return r;
  const pub = { ...published, replacedTtl: kind.waitTtl(published.replacedTtl, published.records) };
  const es = s.entryState(id);
  const next = es.next;
  const path = choosePath(fromStateRecords(es.live?.records ?? []), next, pub.records, pub.servedBefore);
  const alreadyServed = path === 'same-key' || (path === 'next-key' && isNextKeyAged(next!, s.now()));
  // Not yet aged: the wait counts from when every server first served the announcement, for the
  // longer of the TTLs the announcement and this renewal replaced (computeActivateAfter).
  const servedSince = path === 'next-key' ? { servedSince: next!.propagatedAt! } : {};
  const replacedTtl = path === 'next-key' && !alreadyServed ? maxTtl(pub.replacedTtl, next!.replacedTtl) : pub.replacedTtl;
  s.event({ id, rollover: r.id, event: 'phase', phase: 'published', replacedTtl, alreadyServed, path, ...servedSince });
  return {
    ...r, phase: 'published', records: pub.records.map(toStateRecord), replacedTtl, alreadyServed, path, ...servedSince,
    publishedAt: pub.publishedAt, lastError: null, attempts: r.attempts + 1,
  };
}
