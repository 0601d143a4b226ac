// Record data as the PowerDNS API spells it ("content"): TLSA in presentation form (PowerDNS echoes
// hex lowercase), TXT as quoted character-strings with \" \\ \DDD escapes. Pure.
import type { Rdata, RecordType, TxtRdata } from '../../core/rdata.js';
import { formatRdataPresentation, txtStrings } from '../../core/rdata.js';
import { parseTxtPresentation } from '../../core/txt-presentation.js';
import type { TlsaRdata } from '../../core/tlsa.js';

/** Parse a TLSA content; undefined when malformed. Any hex length (as on the wire: another writer's record must still be readable). */
export function parseTlsaContent(content: string): TlsaRdata | undefined {
  const m = /^\s*(\d{1,3})\s+(\d{1,3})\s+(\d{1,3})\s+([0-9a-fA-F\s]+)$/.exec(content);
  if (!m) return undefined;
  const [usage, selector, matchingType] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  const data = m[4]!.replace(/\s/g, '').toLowerCase();
  if (usage > 255 || selector > 255 || matchingType > 255 || data.length === 0 || data.length % 2 !== 0) return undefined;
  return { usage, selector, matchingType, data };
}

/** Parse a TXT content ('"a" "b"': PowerDNS always quotes, and refuses unquoted content); undefined when malformed. */
export const parseTxtContent = (content: string): TxtRdata | undefined => parseTxtPresentation(content);

export function parseContent(type: RecordType, content: string): Rdata | undefined {
  return type === 'TXT' ? parseTxtContent(content) : parseTlsaContent(content);
}

/** The content PowerDNS accepts for our record: TLSA as "u s m hex", TXT quoted ≤255-byte strings. */
export function formatContent(r: Rdata): string {
  return 'text' in r ? formatRdataPresentation(r) : `${r.usage} ${r.selector} ${r.matchingType} ${r.data.toLowerCase()}`;
}

/**
 * Identity of a record inside one RRset, as PowerDNS sees duplicates: TLSA by its data (hex case
 * does not matter), TXT by its exact strings (two splits of one value are two records in DNS).
 */
export function recordKey(type: RecordType, content: string): string {
  const r = parseContent(type, content);
  if (!r) return `raw:${content}`;
  if ('text' in r) return `txt:${JSON.stringify(txtStrings(r).map((b) => b.toString('hex')))}`;
  return `tlsa:${r.usage} ${r.selector} ${r.matchingType} ${r.data}`;
}
