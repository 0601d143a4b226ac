// The read-modify-write step of one RRset: PowerDNS's REPLACE replaces the whole RRset, so the new
// RRset is what the server holds now minus our deletes plus our creates (other writers' records,
// enabled or disabled, are carried over byte for byte). Pure.
import { rdataType, sameRdata, type RecordType } from '../../core/rdata.js';
import type { Change } from '../types.js';
import { formatContent, parseContent, recordKey } from './content.js';

/** A record as the API shows it. */
export interface ApiRecord {
  content: string;
  disabled: boolean;
}

/** One RRset as the API holds it now; `records` empty when there is none. */
export interface ApiRRset {
  name: string;
  type: RecordType;
  ttl: number | null;
  records: ApiRecord[];
}

/** The rrsets[] entry of a PATCH body (PowerDNS 4.7 knows changetype REPLACE and DELETE only). */
export type RRsetPatch =
  | { name: string; type: RecordType; changetype: 'REPLACE'; ttl: number; records: ApiRecord[] }
  | { name: string; type: RecordType; changetype: 'DELETE' };

const matches = (type: RecordType, content: string, change: Change) => {
  const r = parseContent(type, content);
  return r !== undefined && sameRdata(r, change.rdata);
};

/**
 * The PATCH entry that puts `changes` (all for this name and type) into `current`, or undefined
 * when the server already holds exactly that (nothing to write: also how apply sees convergence).
 * The TTL of an existing RRset is kept (all records of an RRset share one TTL, RFC 2181 §5.2);
 * a new RRset gets the largest TTL the creates ask for. An RRset left empty is deleted.
 */
export function computeRRsetPatch(current: ApiRRset, changes: Change[]): RRsetPatch | undefined {
  const { name, type } = current;
  for (const c of changes) {
    if (c.name !== name || rdataType(c.rdata) !== type) throw new RangeError(`change for ${c.name} ${rdataType(c.rdata)} given to RRset ${name} ${type}`);
  }
  const deletes = changes.filter((c) => c.op === 'delete');
  const creates = changes.filter((c) => c.op === 'create');
  const next: ApiRecord[] = current.records.filter((r) => !deletes.some((d) => matches(type, r.content, d))).map((r) => ({ ...r }));
  for (const c of creates) {
    const same = next.find((r) => matches(type, r.content, c));
    if (same) same.disabled = false; // present (or disabled by someone: PowerDNS rejects a duplicate, so enable it)
    else next.push({ content: formatContent(c.rdata), disabled: false });
  }
  const unchanged =
    next.length === current.records.length && next.every((r, i) => r.content === current.records[i]!.content && r.disabled === current.records[i]!.disabled);
  if (unchanged) return undefined;
  if (next.length === 0) return { name, type, changetype: 'DELETE' };
  const ttl = current.ttl ?? Math.max(...creates.map((c) => c.ttl));
  // PowerDNS refuses an RRset holding one record twice (422 "Duplicate record"): keep the first.
  const seen = new Set<string>();
  const records = next.filter((r) => {
    const k = recordKey(type, r.content);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { name, type, changetype: 'REPLACE', ttl, records };
}
