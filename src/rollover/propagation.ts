// Ask every authoritative server of each zone whether it serves all of a rollover's records
// (RD=0, AA required; in a signed zone with their RRSIG, asked with DO) and fold the answers into
// the rollover (RFC 6698 A.4: start the clock only when all servers have the new RRset).
import { applyObservations, type ServerObservation } from '../core/rollover.js';
import type { Rollover, StateRecord } from '../core/state.js';
import { fromStateRecords } from '../core/state-records.js';
import { judgeServed } from '../core/served.js';
import { parseHostPort } from '../io/host-port.js';
import { rdataType } from '../core/rdata.js';
import { formatHostPort } from '../io/host-port.js';
import { groupByZone } from './records.js';
import type { Session } from './session.js';

const signedZones = new WeakMap<Session, Map<string, Promise<boolean>>>();

/** Is the zone signed (a DNSKEY RRset at its apex on the primary)? Asked once per run. */
export function isZoneSigned(s: Session, zone: string): Promise<boolean> {
  let cache = signedZones.get(s);
  if (!cache) signedZones.set(s, (cache = new Map()));
  let p = cache.get(zone);
  if (!p) {
    p = s.resolver().then(async (r) => (await r.querySigned(parseHostPort(s.loaded.config.dns.server, 53)!, zone, 'DNSKEY')).count > 0);
    p.catch(() => cache!.delete(zone));
    cache.set(zone, p);
  }
  return p;
}

/** Does each authoritative server serve every one of these records? (a rollover's, a next key's) */
export async function observeServers(s: Session, r: { records: StateRecord[] }): Promise<ServerObservation[]> {
  const records = fromStateRecords(r.records);
  const resolver = await s.resolver();
  const byZone = await groupByZone(s, records.map((x) => x.name));
  const observations: ServerObservation[] = [];
  const isSigned = (zone: string) => isZoneSigned(s, zone);
  await Promise.all(
    [...byZone].map(async ([zone, names]) => {
      const servers = await s.nameservers(zone);
      await Promise.all(
        servers.map(async (ns) => {
          const server = `${zone}@${formatHostPort(ns)}`;
          try {
            const typeAt = (n: string) => rdataType(records.find((x) => x.name === n)!.rdata);
            const answers = await Promise.all(names.map((n) => resolver.querySigned(ns, n, typeAt(n))));
            const judged = answers.map((a) => ({ name: a.rrset.name, authoritative: a.authoritative, records: a.rrset.records, signatures: a.rrsigs.length }));
            observations.push({ server, servesAll: judgeServed(records.filter((x) => names.includes(x.name)), judged, await isSigned(zone)) });
          } catch (err) {
            s.ctx.log.warn(`${server}: ${(err as Error).message}`);
            observations.push({ server, servesAll: false });
          }
        }),
      );
    }),
  );
  return observations.sort((a, b) => a.server.localeCompare(b.server));
}

export async function pollPropagation(s: Session, id: string, r: Rollover): Promise<Rollover> {
  const observations = await observeServers(s, r);
  const next = applyObservations(r, observations, s.policyFor(id), s.now());
  const waiting = observations.filter((o) => !o.servesAll).map((o) => o.server);
  if (next.phase === 'propagated') {
    const why = next.path === 'next-key'
      ? next.alreadyServed
        ? 'the new key was announced in advance and its records have been served long enough'
        : `the new key was announced in advance: ${s.policy.delayFactor} × TTL ${next.replacedTtl}s + margin ${s.policy.margin / 1000}s after every server first served the announcement`
      : next.alreadyServed
      ? 'the records were already served with the live certificate'
      : next.replacedTtl === null
        ? 'no TLSA RRset existed before, so no cached answer can contradict the new certificate'
        : `${s.policy.delayFactor} × TTL ${next.replacedTtl}s + margin ${s.policy.margin / 1000}s after the last server`;
    s.ctx.log.info(`"${id}": every authoritative server serves the new records; activation at ${next.activateAfter} (${why})`);
    s.event({ id, rollover: r.id, event: 'phase', phase: 'propagated', propagatedAt: next.propagatedAt, activateAfter: next.activateAfter, servers: next.servers });
  } else {
    s.ctx.log.info(`"${id}": waiting for ${waiting.join(', ')} to serve the new records`);
  }
  return next;
}
