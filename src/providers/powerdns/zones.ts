// The zone of a name without DNS: a zone the config names (longest suffix) first, else the longest
// zone the API lists (GET /zones, read once per provider) that contains the name.
import { ConfigError } from '../../errors.js';
import { formatAbsoluteName } from '../../io/dns-wire.js';
import type { ApiClient } from './http.js';
import { parseZoneList, type ZoneSummary } from './zone-json.js';

export interface ZoneFinder {
  findZone(name: string): Promise<string>;
  /** URL path of a zone: /servers/{serverId}/zones/{id} (the id the API listed, else the name). */
  zonePath(zone: string): string;
}

const inZone = (name: string, zone: string) => zone === '.' || name === zone || name.endsWith(`.${zone}`);
const longestFirst = (a: string, b: string) => b.length - a.length;

export function createZoneFinder(api: ApiClient, serverId: string, configured: string[]): ZoneFinder {
  const known = [...new Set(configured.map(formatAbsoluteName))].sort(longestFirst);
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

  async function findZone(name: string): Promise<string> {
    const abs = formatAbsoluteName(name);
    const configured = known.find((z) => inZone(abs, z));
    if (configured) return configured;
    const zones = (await listZones()).map((z) => z.name).filter((z) => inZone(abs, z)).sort(longestFirst);
    if (zones.length === 0) {
      throw new ConfigError(`no zone at PowerDNS API ${api.baseUrl} (server ${serverId}) contains ${abs}`, { hint: 'create the zone in PowerDNS, or set dns.zone' });
    }
    return zones[0]!;
  }

  return { findZone, zonePath: (zone) => `${serverPath}/zones/${encodeURIComponent(ids.get(zone) ?? zone)}` };
}
