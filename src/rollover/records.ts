// The zone of each owner name (cached per run), and the read-back that proves an UPDATE was applied.
import { formatRdata, rdataType, sameRdata, type RecordType } from '../core/rdata.js';
import type { Change, DnsProvider } from '../providers/types.js';
import { DnsRefusedError } from '../errors.js';
import type { Session } from './session.js';

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

/** How long a read-back may take to show an acknowledged UPDATE before it counts as dropped. */
export const READBACK_WINDOW_MS = 5_000;

async function findUnapplied(provider: DnsProvider, changes: Change[]): Promise<Change[]> {
  const types = [...new Set(changes.map((c) => rdataType(c.rdata)))];
  const byType = new Map<RecordType, Awaited<ReturnType<DnsProvider['listRecords']>>>();
  for (const type of types) byType.set(type, await provider.listRecords([...new Set(changes.filter((c) => rdataType(c.rdata) === type).map((c) => c.name))], type));
  return changes.filter((c) => {
    const present = (byType.get(rdataType(c.rdata))!.get(c.name)?.records ?? []).some((r) => sameRdata(r, c.rdata));
    return c.op === 'create' ? !present : present;
  });
}

/**
 * Read back what an UPDATE changed. PowerDNS answers NOERROR while silently dropping records its
 * update policy denies (seen with lua-dnsupdate-policy-script), so NOERROR alone proves nothing.
 * BIND with inline signing answers once the unsigned zone changed and serves the signed one
 * milliseconds later (more under load): poll for a bounded window before concluding.
 */
export async function confirmApplied(s: Session, changes: Change[], windowMs = READBACK_WINDOW_MS): Promise<void> {
  if (changes.length === 0) return;
  const provider = await s.provider();
  const giveUpAt = Date.now() + windowMs;
  let missing = await findUnapplied(provider, changes);
  for (let pause = 20; missing.length > 0 && Date.now() + pause <= giveUpAt; pause = Math.min(pause * 2, 500)) {
    await new Promise((r) => setTimeout(r, pause));
    missing = await findUnapplied(provider, changes);
  }
  if (missing.length > 0) {
    throw new DnsRefusedError(
      `the server acknowledged the UPDATE but did not apply ${missing.length} change(s) within ${windowMs / 1000}s, e.g. ${missing[0]!.op} ${missing[0]!.name} ${rdataType(missing[0]!.rdata)} ${formatRdata(missing[0]!.rdata)}; check what ${provider.identity} may write`,
    );
  }
}
