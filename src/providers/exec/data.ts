// The `data` strings of exec protocol v1: record data in zone-file presentation form (RFC 1035
// §5.1), one string per record. TLSA as "3 1 1 <hex>"; TXT as double-quoted character-strings,
// because a DKIM value is split into ≤255-byte strings and a delete must repeat the split. Pure.
import { splitTxt, txtStrings, type Rdata, type RecordType } from '../../core/rdata.js';
import { formatTlsaRdata, parseTlsaRdata } from '../../core/tlsa.js';

/**
 * What danehook sends: TLSA lowercase hex; TXT each string quoted, `"` and `\` escaped with a
 * backslash, bytes outside printable ASCII as `\DDD` (decimal), strings separated by one space.
 */
export function formatExecData(r: Rdata): string {
  if (!('text' in r)) return formatTlsaRdata(r);
  return txtStrings(r).map(quoteCharacterString).join(' ');
}

function quoteCharacterString(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\${b.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** Parse one `data` string of a reply; undefined when it is not valid presentation form for `type`. */
export function parseExecData(type: RecordType, text: string): Rdata | undefined {
  if (type === 'TLSA') return parseTlsaRdata(text);
  const strings = parseCharacterStrings(text);
  if (!strings) return undefined;
  // Keep the split as the adapter read it: deleting this record later must name the same strings.
  const joined = Buffer.concat(strings).toString('utf8');
  const ours = splitTxt(joined);
  const sameSplit = ours.length === strings.length && ours.every((s, i) => s.equals(strings[i]!));
  return sameSplit ? { type: 'TXT', text: joined } : { type: 'TXT', text: joined, strings: strings.map((s) => s.toString('utf8')) };
}

/**
 * Quoted character-strings separated by whitespace. Strict: every string quoted (an unquoted
 * zone-file word is not accepted), at most 255 bytes each, escapes `\X` (X itself) and `\DDD`.
 */
export function parseCharacterStrings(text: string): Buffer[] | undefined {
  const out: Buffer[] = [];
  const src = Buffer.from(text, 'utf8');
  let i = 0;
  const isSpace = (b: number | undefined) => b === 0x20 || b === 0x09;
  while (isSpace(src[i])) i++;
  while (i < src.length) {
    if (src[i] !== 0x22) return undefined;
    i++;
    const bytes: number[] = [];
    for (;;) {
      const b = src[i];
      if (b === undefined) return undefined; // unterminated
      if (b === 0x22) { i++; break; }
      if (b === 0x5c) {
        const d = src.subarray(i + 1, i + 4).toString('latin1');
        if (/^\d{3}$/.test(d)) {
          const v = Number(d);
          if (v > 255) return undefined;
          bytes.push(v);
          i += 4;
        } else if (src[i + 1] !== undefined && !/\d/.test(String.fromCharCode(src[i + 1]!))) {
          bytes.push(src[i + 1]!);
          i += 2;
        } else {
          return undefined;
        }
        continue;
      }
      if (b < 0x20 || b === 0x7f) return undefined; // control characters must be escaped
      bytes.push(b);
      i++;
    }
    if (bytes.length > 255) return undefined;
    out.push(Buffer.from(bytes));
    if (i < src.length && !isSpace(src[i])) return undefined; // `"a""b"` is not two strings
    while (isSpace(src[i])) i++;
  }
  return out.length > 0 ? out : undefined;
}
