// Presentation of records and changes: zone-file lines, nsupdate lines (as `nsupdate` reads them),
// and the JSON shape of DESIGN.md. Pure.
import { formatTlsaRdata, type TlsaRecord } from './tlsa.js';
import type { Change } from '../providers/types.js';

export function formatZoneLine(r: { name: string; ttl: number; rdata: TlsaRecord['rdata'] }): string {
  return `${r.name} ${r.ttl} IN TLSA ${formatTlsaRdata(r.rdata)}`;
}

/** nsupdate script: one message per zone (RFC 2136 §2.5.1 add, §2.5.4 delete one RR). */
export function formatNsupdate(changes: Change[], server?: { host: string; port: number }, zone?: string): string {
  const lines: string[] = [];
  if (server) lines.push(`server ${server.host} ${server.port}`);
  if (zone) lines.push(`zone ${zone}`);
  for (const c of changes) {
    lines.push(c.op === 'create' ? `update add ${formatZoneLine(c)}` : `update delete ${c.name} IN TLSA ${formatTlsaRdata(c.rdata)}`);
  }
  lines.push('send');
  return lines.join('\n');
}

export function formatRecordJson(r: TlsaRecord): { name: string; ttl: number; tlsa: string } {
  return { name: r.name, ttl: r.ttl, tlsa: formatTlsaRdata(r.rdata) };
}

export function formatChangeJson(c: Change): { op: string; name: string; ttl: number; tlsa: string } {
  return { op: c.op, name: c.name, ttl: c.ttl, tlsa: formatTlsaRdata(c.rdata) };
}
