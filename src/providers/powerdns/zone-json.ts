// What the API returns, checked before use: a zone list (GET /zones) and a zone with its RRsets
// (GET /zones/{id}). Anything else is a protocol error (76), not a crash. Pure.
import { DnsProtocolError } from '../../errors.js';
import { formatAbsoluteName } from '../../io/dns-wire.js';
import type { ApiRecord } from './merge.js';

export interface ZoneSummary {
  id: string;
  name: string;
  kind: string;
}

export interface ZoneRRset {
  name: string;
  type: string;
  ttl: number;
  records: ApiRecord[];
}

export interface ZoneDetail extends ZoneSummary {
  /** "" when unset: then API changes leave the SOA serial alone and AXFR secondaries never see them. */
  soaEditApi: string;
  serial: number | undefined;
  rrsets: ZoneRRset[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(what: string, why: string): never {
  throw new DnsProtocolError(`PowerDNS API ${what}: unexpected JSON (${why})`, { hint: 'is dns.powerdns.url the PowerDNS webserver?' });
}

function parseSummary(v: unknown, what: string): ZoneSummary {
  if (!isObject(v) || typeof v.name !== 'string' || typeof v.id !== 'string') bad(what, 'a zone without "name" and "id"');
  return { id: v.id, name: formatAbsoluteName(v.name), kind: typeof v.kind === 'string' ? v.kind : '' };
}

export function parseZoneList(v: unknown, what: string): ZoneSummary[] {
  if (!Array.isArray(v)) bad(what, 'expected a list of zones');
  return v.map((z) => parseSummary(z, what));
}

export function parseZoneDetail(v: unknown, what: string): ZoneDetail {
  const summary = parseSummary(v, what);
  const z = v as Record<string, unknown>;
  if (!Array.isArray(z.rrsets)) bad(what, 'no "rrsets" list');
  const rrsets = z.rrsets.map((r): ZoneRRset => {
    if (!isObject(r) || typeof r.name !== 'string' || typeof r.type !== 'string' || !Array.isArray(r.records)) bad(what, 'an RRset without "name", "type" and "records"');
    const records = r.records.map((x): ApiRecord => {
      if (!isObject(x) || typeof x.content !== 'string') bad(what, `a record of ${r.name} ${r.type} without "content"`);
      return { content: x.content, disabled: x.disabled === true };
    });
    if (records.length > 0 && typeof r.ttl !== 'number') bad(what, `RRset ${r.name} ${r.type} without a numeric "ttl"`);
    return { name: formatAbsoluteName(r.name), type: r.type.toUpperCase(), ttl: typeof r.ttl === 'number' ? r.ttl : 0, records };
  });
  return {
    ...summary,
    soaEditApi: typeof z.soa_edit_api === 'string' ? z.soa_edit_api : '',
    serial: typeof z.serial === 'number' ? z.serial : undefined,
    rrsets,
  };
}
