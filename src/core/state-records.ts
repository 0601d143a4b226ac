// Records as the state file stores them ({name, ttl, tlsa: "3 1 1 hex"}) and back. Pure.
import { formatTlsaRdata, parseTlsaRdata, sameRdata, type TlsaRecord } from './tlsa.js';
import type { StateRecord } from './state.js';

export function toStateRecord(r: TlsaRecord): StateRecord {
  return { name: r.name, ttl: r.ttl, tlsa: formatTlsaRdata(r.rdata) };
}

export function fromStateRecord(s: StateRecord): TlsaRecord {
  const rdata = parseTlsaRdata(s.tlsa);
  if (!rdata) throw new RangeError(`state holds an unreadable TLSA record: ${s.tlsa}`);
  return { name: s.name, ttl: s.ttl, rdata };
}

export function fromStateRecords(list: StateRecord[]): TlsaRecord[] {
  return list.map(fromStateRecord);
}

/** Union without duplicates (same name and RDATA), first occurrence wins. */
export function unionRecords(...lists: TlsaRecord[][]): TlsaRecord[] {
  const out: TlsaRecord[] = [];
  for (const r of lists.flat()) if (!out.some((o) => o.name === r.name && sameRdata(o.rdata, r.rdata))) out.push(r);
  return out;
}

/** Is every record of `subset` in `set`? */
export function containsAll(set: TlsaRecord[], subset: TlsaRecord[]): boolean {
  return subset.every((r) => set.some((o) => o.name === r.name && sameRdata(o.rdata, r.rdata)));
}
