// Records as the state file stores them ({name, ttl, tlsa: "3 1 1 hex"} or {name, ttl, txt}) and
// back, and set operations on records (same name, type and data). Pure.
import { formatRdata, rdataType, sameRdata, type DnsRecord } from './rdata.js';
import { parseTlsaRdata } from './tlsa.js';
import type { StateRecord } from './state.js';

export function toStateRecord(r: DnsRecord): StateRecord {
  return rdataType(r.rdata) === 'TXT' ? { name: r.name, ttl: r.ttl, txt: formatRdata(r.rdata) } : { name: r.name, ttl: r.ttl, tlsa: formatRdata(r.rdata) };
}

export function fromStateRecord(s: StateRecord): DnsRecord {
  if (s.txt !== undefined) return { name: s.name, ttl: s.ttl, rdata: { type: 'TXT', text: s.txt } };
  const rdata = parseTlsaRdata(s.tlsa ?? '');
  if (!rdata) throw new RangeError(`state holds an unreadable TLSA record: ${s.tlsa}`);
  return { name: s.name, ttl: s.ttl, rdata };
}

/** "name TLSA 3 1 1 …" / "name TXT v=DKIM1; …" for messages and status. */
export function formatStateRecord(s: StateRecord): string {
  return s.txt !== undefined ? `${s.name} TXT ${s.txt}` : `${s.name} TLSA ${s.tlsa}`;
}

export function fromStateRecords(list: StateRecord[]): DnsRecord[] {
  return list.map(fromStateRecord);
}

/** Union without duplicates (same name and RDATA), first occurrence wins. */
export function unionRecords(...lists: DnsRecord[][]): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const r of lists.flat()) if (!out.some((o) => o.name === r.name && sameRdata(o.rdata, r.rdata))) out.push(r);
  return out;
}

/** Is every record of `subset` in `set`? */
export function containsAll(set: DnsRecord[], subset: DnsRecord[]): boolean {
  return subset.every((r) => set.some((o) => o.name === r.name && sameRdata(o.rdata, r.rdata)));
}
