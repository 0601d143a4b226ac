// The zone of a name without DNS: a zone the config names (longest suffix) first, else the longest
// zone the API lists (GET /zones, read once per provider) that contains the name.
import { ConfigError } from '../../errors.js';
import { isInZone } from '../../io/zone-apex.js';
import { createZoneFinder, type FindZone } from '../zones.js';
import type { ApiClient } from './http.js';
import { parseZoneList, type ZoneSummary } from './zone-json.js';

export interface ApiZones {
  findZone: FindZone;
  /** URL path of a zone: /servers/{serverId}/zones/{id} (the id the API listed, else the name). */
  zonePath(zone: string): string;
}

export function createApiZones(api: ApiClient, serverId: string, configured: string[]): ApiZones {
  const serverPath = `/servers/${encodeURIComponent(serverId)}`;
  let listed: Promise<ZoneSummary[]> | undefined;
  const ids = new Map<string, string>();

  function listZones(): Promise<ZoneSummary[]> {
    if (!listed) {
      listed = api.request('GET', `${serverPath}/zones`, 'list zones').then((v) => {
        const zones = parseZoneList(v, `GET ${api.baseUrl}${serverPath}/zones`);
        for (const z of zones) ids.set(z.name, z.id);
        return zones;
      });
      listed.catch(() => (listed = undefined)); // a failed read is retried by the next call
    }
    return listed;
  }

  // Outside the configured zones: the longest zone PowerDNS holds that contains the name.
  const findZone = createZoneFinder(configured, async (base, asked) => {
    const zones = (await listZones()).map((z) => z.name).filter((z) => isInZone(base, z)).sort((a, b) => b.length - a.length);
    if (zones.length === 0) {
      throw new ConfigError(`no zone at PowerDNS API ${api.baseUrl} (server ${serverId}) contains ${asked}`, { hint: 'create the zone in PowerDNS, or set dns.zone' });
    }
    return zones[0]!;
  });

  return { findZone, zonePath: (zone) => `${serverPath}/zones/${encodeURIComponent(ids.get(zone) ?? zone)}` };
}
