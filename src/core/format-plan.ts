// Presentation of records and changes: zone-file lines, nsupdate lines (as `nsupdate` reads them),
// and the JSON shape of DESIGN.md (TLSA as "tlsa", TXT as "txt"). Pure.
import { formatRdata, formatRdataPresentation, rdataType, type DnsRecord } from './rdata.js';
import type { Change } from '../providers/types.js';

export function formatZoneLine(r: DnsRecord): string {
  return `${r.name} ${r.ttl} IN ${rdataType(r.rdata)} ${formatRdataPresentation(r.rdata)}`;
}

/** nsupdate script: one message per zone (RFC 2136 §2.5.1 add, §2.5.4 delete one RR). */
export function formatNsupdate(changes: Change[], server?: { host: string; port: number }, zone?: string): string {
  const lines: string[] = [];
  if (server) lines.push(`server ${server.host} ${server.port}`);
  if (zone) lines.push(`zone ${zone}`);
  for (const c of changes) {
    lines.push(c.op === 'create' ? `update add ${formatZoneLine(c)}` : `update delete ${c.name} IN ${rdataType(c.rdata)} ${formatRdataPresentation(c.rdata)}`);
  }
  lines.push('send');
  return lines.join('\n');
}

const dataField = (r: DnsRecord): { tlsa: string } | { txt: string } => (rdataType(r.rdata) === 'TXT' ? { txt: formatRdata(r.rdata) } : { tlsa: formatRdata(r.rdata) });

export function formatRecordJson(r: DnsRecord): { name: string; ttl: number } & ({ tlsa: string } | { txt: string }) {
  return { name: r.name, ttl: r.ttl, ...dataField(r) };
}

export function formatChangeJson(c: Change): { op: string; name: string; ttl: number } & ({ tlsa: string } | { txt: string }) {
  return { op: c.op, name: c.name, ttl: c.ttl, ...dataField(c) };
}
