// The records a certificate entry should have in DNS: owners (ports × domains) × TLSA parameters,
// for each certificate that must be covered (the live one and every pending one, of every entry). Pure.
import { CertificateError } from '../errors.js';
import type { EntryState, State } from './state.js';
import { isPending } from './phases.js';
import { fromStateRecords, unionRecords } from './state-records.js';
import { computeTlsaRdata, formatTlsaOwner, parseTlsaParams, sameRdata, TlsaChainError, type ChainForTlsa, type TlsaRecord } from './tlsa.js';

export interface EntryShape {
  domains: string[];
  ports: number[];
  protocol: string;
  tlsa: string[];
  trustAnchor: 'issuer' | 'root';
}

/** Some large receivers handle only about a dozen TLSA records per name (FACTS.md). */
export const MAX_RECORDS_PER_NAME = 12;

/** Owner names of an entry, in config order: "_25._tcp.mx.example.com.", ... */
export function computeOwners(entry: EntryShape): string[] {
  return entry.domains.flatMap((d) => entry.ports.map((p) => formatTlsaOwner(p, entry.protocol, d)));
}

/** The records for one certificate. */
export function computeCertificateRecords(entry: EntryShape, certs: ChainForTlsa, ttl: number): TlsaRecord[] {
  const rdatas = entry.tlsa.map((text) => {
    const params = parseTlsaParams(text)!; // validated by the config schema
    try {
      return computeTlsaRdata(certs, params, entry.trustAnchor);
    } catch (err) {
      if (err instanceof TlsaChainError) throw new CertificateError(err.message);
      throw err;
    }
  });
  const unique = rdatas.filter((r, i) => rdatas.findIndex((o) => sameRdata(o, r)) === i);
  return computeOwners(entry).flatMap((name) => unique.map((rdata) => ({ name, ttl, rdata })));
}

/** Union of several certificates' records (live ∪ pending), without duplicates, stable order. */
export function computeDesiredRecords(entry: EntryShape, certificates: ChainForTlsa[], ttl: number): TlsaRecord[] {
  const out: TlsaRecord[] = [];
  for (const certs of certificates) {
    for (const r of computeCertificateRecords(entry, certs, ttl)) {
      if (!out.some((o) => o.name === r.name && sameRdata(o.rdata, r.rdata))) out.push(r);
    }
  }
  return out;
}

/** A TLSA TTL below this is dominated by the activation margin and by resolvers' clamping. */
export const LOW_TTL_SECONDS = 60;

/** The warning for records with a TTL below LOW_TTL_SECONDS, or undefined. */
export function formatLowTtlWarning(id: string, records: TlsaRecord[]): string | undefined {
  const low = [...new Set(records.filter((x) => x.ttl < LOW_TTL_SECONDS).map((x) => x.ttl))].sort((a, b) => a - b);
  if (low.length === 0) return undefined;
  return `"${id}": TLSA TTL ${low.join(', ')}s is below ${LOW_TTL_SECONDS}s: resolvers may clamp it upwards and the activation margin dominates; use 300s or more in production`;
}

/** Names holding more than MAX_RECORDS_PER_NAME records (a warning, not an error). */
export function findCrowdedNames(records: TlsaRecord[]): string[] {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > MAX_RECORDS_PER_NAME).map(([name]) => name);
}

/**
 * One entry's live certificate ∪ every rollover still pending (rolled-back ones keep their records)
 * ∪ the announced next key (RFC 7671 §8.1: it must stay served until the renewal that uses it).
 */
export function computeEntryRequiredRecords(es: EntryState): TlsaRecord[] {
  const pending = es.rollovers.filter((r) => isPending(r.phase));
  return unionRecords(fromStateRecords(es.live?.records ?? []), ...pending.map((r) => fromStateRecords(r.records)), fromStateRecords(es.next?.records ?? []));
}

/**
 * What must stay, across **every** entry: RSA and ECDSA entries for one name share owner names
 * (and a "2 1 1" for a common issuer), so one id's cleanup must not delete what another needs.
 */
export function computeRequiredRecords(state: State): TlsaRecord[] {
  return unionRecords(...Object.values(state.certificates).map(computeEntryRequiredRecords));
}

/** The live certificates' records of every entry. */
export function computeLiveRecords(state: State): TlsaRecord[] {
  return unionRecords(...Object.values(state.certificates).map((es) => fromStateRecords(es.live?.records ?? [])));
}
