// Which zone a name is in, shared by every provider: a zone the config names (longest suffix wins:
// a delegated child the config names holds its names) first, else the provider's own discovery,
// asked once per base name; and a plan's changes grouped by zone, in a stable order.
import { formatAbsoluteName } from '../io/dns-wire.js';
import { isInZone } from '../io/zone-apex.js';
import type { Change } from './types.js';

export type FindZone = (name: string) => Promise<string>;


/**
 * `discover(baseName, asked)` is asked only for names outside the configured zones, once per base name:
 * "_25._tcp.mx.example.com." is in the zone of "mx.example.com." (nobody delegates at _tcp), so one
 * answer serves every port. A failed discovery is forgotten, so the next call asks again.
 */
export function createZoneFinder(configured: string[], discover: (baseName: string, asked: string) => Promise<string>): FindZone {
  const known = [...new Set(configured.map(formatAbsoluteName))].sort((a, b) => b.length - a.length);
  const cache = new Map<string, Promise<string>>();
  return (name) => {
    const abs = formatAbsoluteName(name);
    const zone = known.find((z) => isInZone(abs, z));
    if (zone) return Promise.resolve(zone);
    const base = abs.replace(/^(_[^.]+\.)+/, '');
    let p = cache.get(base);
    if (!p) {
      p = discover(base, abs);
      p.catch(() => cache.delete(base));
      cache.set(base, p);
    }
    return p;
  };
}

/**
 * `items` by the zone of their name, zones in lexical order (runs write them in the same order).
 * Every distinct name is looked up at once: lookups started in one turn go out as one burst
 * (io/dns-coalesce.ts).
 */
export async function groupByZone<T>(items: T[], nameOf: (item: T) => string, findZone: FindZone): Promise<[string, T[]][]> {
  const names = [...new Set(items.map(nameOf))];
  const zoneOf = new Map((await Promise.all(names.map(findZone))).map((zone, i) => [names[i]!, zone]));
  const byZone = new Map<string, T[]>();
  for (const item of items) {
    const zone = zoneOf.get(nameOf(item))!;
    const list = byZone.get(zone);
    if (list) list.push(item);
    else byZone.set(zone, [item]);
  }
  return [...byZone].sort(([a], [b]) => a.localeCompare(b));
}

/** The plan's changes with absolute names, by zone. */
export function groupChangesByZone(changes: Change[], findZone: FindZone): Promise<[string, Change[]][]> {
  return groupByZone(changes.map((c) => ({ ...c, name: formatAbsoluteName(c.name) })), (c) => c.name, findZone);
}
