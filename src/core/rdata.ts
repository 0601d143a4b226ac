// Records of the types danehook publishes, in one shape: TLSA (certificates, RFC 6698) and TXT
// (DKIM keys, RFC 6376 §3.6.2). Comparison and presentation by type; TXT compared as the joined
// value, because a long value is split into ≤255-byte strings on the wire (RFC 1035 §3.3.14). Pure.
import { formatTlsaRdata, parseTlsaRdata, sameTlsaRdata, type TlsaRdata } from './tlsa.js';
import { quoteCharacterStrings } from './txt-presentation.js';

export type RecordType = 'TLSA' | 'TXT';
export const RECORD_TYPES: readonly RecordType[] = ['TLSA', 'TXT'];

/**
 * A TXT record's value: the character-strings joined (how DKIM and SPF read them), compared as
 * such. `strings` keeps how a record read from DNS was split: a delete or an RFC 2136
 * prerequisite must repeat the record byte for byte, and another tool may have split it elsewhere.
 */
export interface TxtRdata {
  type: 'TXT';
  text: string;
  strings?: string[];
}

export type Rdata = TlsaRdata | TxtRdata;

/** One record as published: owner (absolute, lowercase, trailing dot), TTL, data. */
export interface DnsRecord {
  name: string;
  ttl: number;
  rdata: Rdata;
}

export const rdataType = (r: Rdata): RecordType => ('text' in r ? 'TXT' : 'TLSA');

export function sameRdata(a: Rdata, b: Rdata): boolean {
  if ('text' in a || 'text' in b) return 'text' in a && 'text' in b && a.text === b.text;
  return sameTlsaRdata(a, b);
}

/** The data as the state file and messages show it: "3 1 1 <hex>" or the TXT value as is. */
export function formatRdata(r: Rdata): string {
  return 'text' in r ? r.text : formatTlsaRdata(r);
}

/** Zone-file presentation of the data: TLSA as is; TXT as quoted ≤255-byte strings (core/txt-presentation.ts). */
export function formatRdataPresentation(r: Rdata): string {
  if (!('text' in r)) return formatTlsaRdata(r);
  return quoteCharacterStrings(txtStrings(r));
}

/** The character-strings of a TXT record: as read from DNS, or ours split at 255 bytes. */
export function txtStrings(r: TxtRdata): Buffer[] {
  return r.strings ? r.strings.map((x) => Buffer.from(x, 'utf8')) : splitTxt(r.text);
}

/** A TXT value as character-strings of at most 255 bytes (RFC 1035 §3.3.14), UTF-8. */
export function splitTxt(text: string): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out.length > 0 ? out : [Buffer.alloc(0)];
}

/** Parse what formatRdata wrote for `type`; undefined when malformed. */
export function parseRdata(type: RecordType, text: string): Rdata | undefined {
  return type === 'TXT' ? { type: 'TXT', text } : parseTlsaRdata(text);
}

/** The TLSA records of a list (what the TLS probe matches against), typed as such. */
export function onlyTlsa<T extends DnsRecord>(list: T[]): (T & { rdata: TlsaRdata })[] {
  return list.filter((r): r is T & { rdata: TlsaRdata } => rdataType(r.rdata) === 'TLSA');
}
