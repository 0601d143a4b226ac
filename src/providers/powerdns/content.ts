// Record data as the PowerDNS API spells it ("content"): TLSA in presentation form (PowerDNS echoes
// hex lowercase), TXT as quoted character-strings with \" \\ \DDD escapes. Pure.
import type { Rdata, RecordType, TxtRdata } from '../../core/rdata.js';
import { txtStrings } from '../../core/rdata.js';
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

/** Parse a TXT content ('"a" "b"', PowerDNS always quotes) into its character-strings; undefined when malformed. */
export function parseTxtContent(content: string): TxtRdata | undefined {
  const parts: Buffer[] = [];
  let i = 0;
  const s = Buffer.from(content, 'utf8');
  const space = (b: number) => b === 0x20 || b === 0x09;
  while (i < s.length) {
    if (space(s[i]!)) { i++; continue; }
    const quoted = s[i] === 0x22;
    if (quoted) i++;
    const out: number[] = [];
    let closed = !quoted;
    while (i < s.length) {
      const b = s[i]!;
      if (quoted && b === 0x22) { closed = true; i++; break; }
      if (!quoted && space(b)) break;
      if (b === 0x5c) {
        const ddd = /^\d{3}/.exec(s.subarray(i + 1, i + 4).toString('latin1'));
        if (ddd) {
          const v = Number(ddd[0]);
          if (v > 255) return undefined;
          out.push(v);
          i += 4;
        } else {
          if (i + 1 >= s.length) return undefined;
          out.push(s[i + 1]!);
          i += 2;
        }
        continue;
      }
      out.push(b);
      i++;
    }
    if (!closed) return undefined;
    parts.push(Buffer.from(out));
  }
  if (parts.length === 0) return undefined;
  return { type: 'TXT', text: Buffer.concat(parts).toString('utf8'), strings: parts.map((p) => p.toString('utf8')) };
}

export function parseContent(type: RecordType, content: string): Rdata | undefined {
  return type === 'TXT' ? parseTxtContent(content) : parseTlsaContent(content);
}

/** The content PowerDNS accepts for our record: TLSA as "u s m hex", TXT quoted ≤255-byte strings. */
export function formatContent(r: Rdata): string {
  if (!('text' in r)) return `${r.usage} ${r.selector} ${r.matchingType} ${r.data.toLowerCase()}`;
  return txtStrings(r).map(quoteTxtString).join(' ');
}

// Printable ASCII as is (escaping " and \), every other byte as \DDD: unambiguous for any parser.
function quoteTxtString(part: Buffer): string {
  let out = '"';
  for (const b of part) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * Identity of a record inside one RRset, as PowerDNS sees duplicates: TLSA by its data (hex case
 * does not matter), TXT by its exact strings (two splits of one value are two records in DNS).
 */
export function recordKey(type: RecordType, content: string): string {
  const r = parseContent(type, content);
  if (!r) return `raw:${content}`;
  if ('text' in r) return `txt:${JSON.stringify(r.strings)}`;
  return `tlsa:${r.usage} ${r.selector} ${r.matchingType} ${r.data}`;
}
