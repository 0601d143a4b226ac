// The planner (pure): desired records vs what the primary serves → changes. Deploy only adds;
// removals are planned by the rollover's cleanup with the ownership checks of DESIGN.md.
import { rdataType, sameRdata, type DnsRecord, type Rdata } from './rdata.js';
import type { Change, RRset } from '../providers/types.js';

/** Creates for every desired record the primary does not serve yet. */
export function computeAdditions(desired: DnsRecord[], existing: Map<string, RRset>): Change[] {
  return desired
    .filter((r) => !(existing.get(r.name)?.records ?? []).some((e) => sameRdata(e, r.rdata)))
    .map((r) => ({ op: 'create', name: r.name, ttl: r.ttl, rdata: r.rdata }));
}

export interface SafetyContext {
  /** Records matching the certificates the services present now (every entry's). */
  live: DnsRecord[];
  /** Every record this id ever published or served with. */
  owned: DnsRecord[];
  /**
   * Owner names the configuration asks for: leaving one of these empty is refused. A name no
   * entry configures any more (a port or domain removed) may lose its owned records: that is the
   * planned removal of DESIGN.md, not an accident.
   */
  managedNames: string[];
}

const has = (list: DnsRecord[], name: string, rdata: Rdata) => list.some((r) => r.name === name && sameRdata(r.rdata, rdata));

/**
 * Safety violations of a plan (DESIGN.md invariants): deleting a live certificate's record,
 * deleting a record not attributable to this id, leaving a managed RRset empty.
 */
export function checkPlanSafety(changes: Change[], existing: Map<string, RRset>, ctx: SafetyContext): string[] {
  const violations: string[] = [];
  for (const c of changes.filter((x) => x.op === 'delete')) {
    if (has(ctx.live, c.name, c.rdata)) violations.push(`would delete ${c.name} ${rdataType(c.rdata)} ${fmt(c)}, which matches the live certificate`);
    if (!has(ctx.owned, c.name, c.rdata)) violations.push(`would delete ${c.name} ${rdataType(c.rdata)} ${fmt(c)}, which no ${rdataType(c.rdata) === 'TXT' ? 'key' : 'certificate'} of this id ever had`);
  }
  for (const name of ctx.managedNames) {
    let after = [...(existing.get(name)?.records ?? [])];
    const touched = changes.some((c) => c.name === name);
    for (const c of changes.filter((x) => x.name === name)) {
      after = c.op === 'create' ? [...after.filter((r) => !sameRdata(r, c.rdata)), c.rdata] : after.filter((r) => !sameRdata(r, c.rdata));
    }
    if (touched && after.length === 0) violations.push(`would leave ${name} without any ${rdataType(changes.find((c) => c.name === name)!.rdata)} record`);
  }
  return violations;
}

/** Deletes for owned records the primary serves that no certificate to be covered needs. */
export function computeCleanup(existing: Map<string, RRset>, desired: DnsRecord[], owned: DnsRecord[]): Change[] {
  const changes: Change[] = [];
  for (const [name, rrset] of existing) {
    for (const rdata of rrset.records) {
      if (has(owned, name, rdata) && !has(desired, name, rdata)) changes.push({ op: 'delete', name, ttl: rrset.ttl ?? 0, rdata });
    }
  }
  return changes;
}

/** Records at our names that no certificate of this id explains (reported, never deleted). */
export function computeForeign(existing: Map<string, RRset>, owned: DnsRecord[]): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const [name, rrset] of existing) for (const rdata of rrset.records) if (!has(owned, name, rdata)) out.push({ name, ttl: rrset.ttl ?? 0, rdata });
  return out;
}

const fmt = (c: Change): string => {
  const r = c.rdata;
  return 'text' in r ? `"${r.text.slice(0, 24)}…"` : `${r.usage} ${r.selector} ${r.matchingType} ${r.data.slice(0, 16)}…`;
};
