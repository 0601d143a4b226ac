// Record data as the PowerDNS API spells it ("content"): TLSA in presentation form (PowerDNS echoes
// hex lowercase), TXT as quoted character-strings with \" \\ \DDD escapes. Pure.
import type { Rdata, RecordType, TxtRdata } from '../../core/rdata.js';
import { formatRdataPresentation, txtStrings } from '../../core/rdata.js';
import { parseTxtPresentation } from '../../core/txt-presentation.js';
import { parseServedTlsaRdata, type TlsaRdata } from '../../core/tlsa.js';

/** Parse a TLSA content; undefined when malformed. Lenient as the wire (another writer's record must still be readable). */
export const parseTlsaContent = (content: string): TlsaRdata | undefined => parseServedTlsaRdata(content);

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
