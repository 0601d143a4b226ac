// The planner (pure): desired records vs what the primary serves → changes. Deploy only adds;
// removals are planned by the rollover's cleanup with the ownership checks of DESIGN.md.
import { sameRdata, type TlsaRecord } from './tlsa.js';
import type { Change, RRset } from '../providers/types.js';

/** Creates for every desired record the primary does not serve yet. */
export function computeAdditions(desired: TlsaRecord[], existing: Map<string, RRset>): Change[] {
  return desired
    .filter((r) => !(existing.get(r.name)?.records ?? []).some((e) => sameRdata(e, r.rdata)))
    .map((r) => ({ op: 'create', name: r.name, ttl: r.ttl, rdata: r.rdata }));
}
