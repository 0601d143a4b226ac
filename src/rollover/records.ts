// Which records an id must keep in DNS now, and the zone of each owner name (cached per run).
import type { EntryState } from '../core/state.js';
import { fromStateRecords, unionRecords } from '../core/state-records.js';
import { formatTlsaRdata, sameRdata, type TlsaRecord } from '../core/tlsa.js';
import type { Change } from '../providers/types.js';
import { DnsRefusedError } from '../errors.js';
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
  const unique = [...new Set(names)];
  // The provider caches one lookup per base name; asking for all at once lets them overlap.
  const zones = await Promise.all(unique.map((name) => provider.findZone(name)));
  unique.forEach((name, i) => out.set(zones[i]!, [...(out.get(zones[i]!) ?? []), name]));
  return out;
}

/**
 * Read back what an UPDATE changed. PowerDNS answers NOERROR while silently dropping records its
 * update policy denies (seen with lua-dnsupdate-policy-script), so NOERROR alone proves nothing.
 */
export async function confirmApplied(s: Session, changes: Change[]): Promise<void> {
  if (changes.length === 0) return;
  const provider = await s.provider();
  const now = await provider.listRecords([...new Set(changes.map((c) => c.name))]);
  const missing = changes.filter((c) => {
    const present = (now.get(c.name)?.records ?? []).some((r) => sameRdata(r, c.rdata));
    return c.op === 'create' ? !present : present;
  });
  if (missing.length > 0) {
    throw new DnsRefusedError(
      `the server acknowledged the UPDATE but did not apply ${missing.length} change(s), e.g. ${missing[0]!.op} ${missing[0]!.name} TLSA ${formatTlsaRdata(missing[0]!.rdata)}; check the server's update policy for key "${s.loaded.key.name}"`,
    );
  }
}
