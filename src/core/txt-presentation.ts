// TXT data in zone-file presentation form (RFC 1035 §5.1): double-quoted character-strings with
// `\X` and `\DDD` escapes — how nsupdate, exec adapters and the PowerDNS API spell a TXT record. Pure.
import { splitTxt, type TxtRdata } from './rdata.js';

/** Each string quoted; `"` and `\` escaped, bytes outside printable ASCII as `\DDD` (decimal): unambiguous for any parser. */
export function quoteCharacterStrings(strings: Buffer[]): string {
  return strings.map(quoteOne).join(' ');
}

function quoteOne(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * Quoted character-strings separated by whitespace. Strict: every string quoted (an unquoted
 * zone-file word is not accepted), at most 255 bytes each (RFC 1035 §3.3), escapes `\X` (X
 * itself) and `\DDD`, control characters only escaped.
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

/**
 * A TXT record from its presentation form; the split is kept (`strings`) only when it differs from
 * danehook's own 255-byte split: deleting the record later must name the same strings.
 */
export function parseTxtPresentation(text: string): TxtRdata | undefined {
  const strings = parseCharacterStrings(text);
  if (!strings) return undefined;
  const joined = Buffer.concat(strings).toString('utf8');
  const ours = splitTxt(joined);
  const sameSplit = ours.length === strings.length && ours.every((s, i) => s.equals(strings[i]!));
  return sameSplit ? { type: 'TXT', text: joined } : { type: 'TXT', text: joined, strings: strings.map((s) => s.toString('utf8')) };
}
