// Which records an id must keep in DNS now, and the zone of each owner name (cached per run).
import type { EntryState } from '../core/state.js';
import { fromStateRecords, unionRecords } from '../core/state-records.js';
import type { TlsaRecord } from '../core/tlsa.js';
import type { Session } from './session.js';

const PENDING = new Set(['staged', 'published', 'propagated', 'rolled-back']);

/** Live ∪ every rollover still pending (rolled-back ones keep their records; activated = live). */
export function computeRequiredRecords(es: EntryState): TlsaRecord[] {
  const pending = es.rollovers.filter((r) => PENDING.has(r.phase));
  return unionRecords(fromStateRecords(es.live?.records ?? []), ...pending.map((r) => fromStateRecords(r.records)));
}

/** Group names by zone (one UPDATE and one nameserver set per zone). */
export async function groupByZone(s: Session, names: string[]): Promise<Map<string, string[]>> {
  const provider = await s.provider();
  const out = new Map<string, string[]>();
  for (const name of [...new Set(names)]) {
    const zone = await provider.findZone(name);
    out.set(zone, [...(out.get(zone) ?? []), name]);
  }
  return out;
}
