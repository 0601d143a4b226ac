// The PowerDNS Authoritative HTTP API provider (issue 14): reads RRsets with GET, writes one PATCH
// per zone as read-modify-write (REPLACE is whole-RRset), re-reads until its changes hold.
import type { Rdata, RecordType } from '../../core/rdata.js';
import { rdataType } from '../../core/rdata.js';
import { DnsProtocolError, TemporaryError } from '../../errors.js';
import { createLimiter } from '../../io/dns-limiter.js';
import { formatAbsoluteName } from '../../io/dns-wire.js';
import type { HostPort } from '../../io/host-port.js';
import type { ApplyResult, Change, DnsProvider, Plan, RRset } from '../types.js';
import type { PowerDnsConfig } from './config.js';
import { parseContent } from './content.js';
import { createApiClient } from './http.js';
import { computeRRsetPatch, type ApiRRset } from './merge.js';
import { parseZoneDetail } from './zone-json.js';
import { createApiZones } from './zones.js';
import { groupByZone, groupChangesByZone } from '../zones.js';

export interface PowerDnsOptions extends PowerDnsConfig {
  apiKey: string;
  /** The primary's DNS address (dns.server). */
  server: HostPort;
  timeoutMs: number;
  zones: string[];
  /** PATCHes per zone before apply gives up on a writer that keeps undoing ours (default 3). */
  maxPatches?: number;
  /** Up to this many RRsets of a zone are read with one filtered GET each; more: one GET of the whole zone (default 16). */
  filteredReadLimit?: number;
  /** Test knob: runs between the fresh read and the PATCH (another writer's moment). */
  beforePatch?: (zone: string, attempt: number) => Promise<void>;
  /** Test knob: runs after a PATCH, before the read that checks it (a stale writer's moment). */
  afterPatch?: (zone: string, attempt: number) => Promise<void>;
}

const rrsetKey = (name: string, type: string) => `${name} ${type}`;

export function createPowerDnsProvider(opts: PowerDnsOptions): DnsProvider {
  const api = createApiClient({ url: opts.url, apiKey: opts.apiKey, timeoutMs: opts.timeoutMs });
  const zones = createApiZones(api, opts.serverId, opts.zones);
  const maxPatches = opts.maxPatches ?? 3;
  const filteredReadLimit = opts.filteredReadLimit ?? 16;
  const identity = `PowerDNS API ${opts.url} (server ${opts.serverId})`;
  const limitReads = createLimiter(8); // filtered GETs in flight at once

  /** The RRsets `keys` of `zone` as the API holds them now (absent ones empty). */
  async function readRRsets(zone: string, keys: { name: string; type: RecordType }[]): Promise<{ rrsets: Map<string, ApiRRset>; kind: string }> {
    const path = zones.zonePath(zone);
    const what = (q: string) => `GET ${api.baseUrl}${path}${q}`;
    // 4.7 filters a zone GET by rrset_name + rrset_type (checked on 4.7.3): small reads for a few
    // owners, one read of the whole zone when there are many (3,000 owners would be 3,000 GETs).
    const details =
      keys.length <= filteredReadLimit
        ? await Promise.all(keys.map(({ name, type }) => limitReads(async () => {
            const q = `?rrset_name=${encodeURIComponent(name)}&rrset_type=${type}`;
            return parseZoneDetail(await api.request('GET', `${path}${q}`, `read ${name} ${type} in zone ${zone}`), what(q));
          })))
        : [parseZoneDetail(await api.request('GET', path, `read zone ${zone}`), what(''))];
    const found = new Map<string, ApiRRset>();
    for (const d of details) {
      for (const r of d.rrsets) found.set(rrsetKey(r.name, r.type), { name: r.name, type: r.type as RecordType, ttl: r.records.length > 0 ? r.ttl : null, records: r.records });
    }
    return {
      rrsets: new Map(keys.map(({ name, type }) => [rrsetKey(name, type), found.get(rrsetKey(name, type)) ?? { name, type, ttl: null, records: [] }])),
      kind: details[0]?.kind ?? '',
    };
  }

  async function listRecords(names: string[], type: RecordType = 'TLSA'): Promise<Map<string, RRset>> {
    const unique = [...new Set(names.map(formatAbsoluteName))];
    const out = new Map<string, RRset>();
    for (const [zone, list] of await groupByZone(unique, (n) => n, zones.findZone)) {
      const read = (await readRRsets(zone, list.map((name) => ({ name, type })))).rrsets;
      for (const name of list) {
        const rrset = read.get(rrsetKey(name, type))!;
        // A disabled record is not served: the core must not count on it.
        const served = rrset.records.filter((r) => !r.disabled);
        const records = served.map((r): Rdata => {
          const rdata = parseContent(type, r.content);
          if (!rdata) throw new DnsProtocolError(`${identity}: ${name} ${type} in zone ${zone} holds content PowerDNS should not have accepted: ${JSON.stringify(r.content.slice(0, 120))}`);
          return rdata;
        });
        out.set(name, { name, ttl: served.length > 0 ? rrset.ttl : null, records });
      }
    }
    return out;
  }

  /**
   * Read fresh, PATCH what differs, read again: done when the read shows nothing left to write.
   * Another writer that REPLACEs from an older read after our PATCH undoes our changes; the next
   * round re-applies them on top of what it wrote (so its records stay too).
   */
  async function applyZone(zone: string, changes: Change[]): Promise<void> {
    const byRRset = new Map<string, Change[]>();
    for (const c of changes) {
      const k = rrsetKey(c.name, rdataType(c.rdata));
      byRRset.set(k, [...(byRRset.get(k) ?? []), c]);
    }
    const keys = [...byRRset.values()].map((list) => ({ name: list[0]!.name, type: rdataType(list[0]!.rdata) }));
    for (let patches = 0; ; patches++) {
      const current = await readRRsets(zone, keys);
      const rrsets = keys.flatMap(({ name, type }) => computeRRsetPatch(current.rrsets.get(rrsetKey(name, type))!, byRRset.get(rrsetKey(name, type))!) ?? []);
      if (rrsets.length === 0) {
        if (patches > 0 && /^(master|primary)$/i.test(current.kind)) await notifySecondaries(zone);
        return;
      }
      if (patches >= maxPatches) {
        const r = rrsets[0]!;
        throw new TemporaryError(
          `${identity}: zone ${zone} did not keep danehook's changes after ${patches} PATCHes (e.g. ${r.name} ${r.type}): another writer keeps replacing these RRsets`,
          { hint: 'the API has no compare-and-swap; the next run re-reads and re-applies' },
        );
      }
      await opts.beforePatch?.(zone, patches + 1);
      await api.request('PATCH', zones.zonePath(zone), `PATCH of zone ${zone} (${rrsets.length} RRset(s))`, { rrsets });
      await opts.afterPatch?.(zone, patches + 1);
    }
  }

  /**
   * Without this a primary zone's secondaries hear of an API change only at PowerDNS's next own
   * check (2.8–3.0 s measured on 4.7.3; 1.0 s with it). A speed-up only: propagation is checked by
   * DNS on every server anyway, so a failed NOTIFY request does not fail the write.
   */
  async function notifySecondaries(zone: string): Promise<void> {
    await api.request('PUT', `${zones.zonePath(zone)}/notify`, `NOTIFY for zone ${zone}`).catch(() => undefined);
  }

  async function apply(plan: Plan): Promise<ApplyResult> {
    const result: ApplyResult = { zones: [] };
    for (const [zone, list] of await groupChangesByZone(plan.changes, zones.findZone)) {
      await applyZone(zone, list);
      result.zones.push({ zone, changes: list.length });
    }
    return result;
  }

  async function checkAccess(name: string): Promise<string[]> {
    const zone = await zones.findZone(name);
    const path = `${zones.zonePath(zone)}?rrset_name=${encodeURIComponent(zone)}&rrset_type=SOA`;
    // A GET needs the key (401 otherwise) and writes nothing; the zone's metadata comes with it.
    const detail = parseZoneDetail(await api.request('GET', path, `access check for zone ${zone}`), `GET ${api.baseUrl}${path}`);
    const warnings: string[] = [];
    if (detail.soaEditApi === '') {
      warnings.push(
        `zone ${zone} has no SOA-EDIT-API: PowerDNS keeps its SOA serial when the API changes a record, so secondaries fed by AXFR never see danehook's records (propagation then times out); run: pdnsutil set-meta ${zone.replace(/\.$/, '')} SOA-EDIT-API DEFAULT`,
      );
    }
    return warnings;
  }

  return { name: 'powerdns', identity, capabilities: { atomicPerZone: true }, listRecords, apply, checkAccess, findZone: zones.findZone };
}
