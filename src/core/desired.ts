// The records a certificate entry should have in DNS: owners (ports × domains) × TLSA parameters,
// for each certificate that must be covered (the live one and every pending one, of every entry). Pure.
import { CertificateError } from '../errors.js';
import type { EntryState, State } from './state.js';
import { isPending } from './phases.js';
import { fromStateRecords, unionRecords } from './state-records.js';
import { computeTlsaRdata, formatTlsaOwner, parseTlsaParams, sameRdata, selectTrustAnchor, TlsaChainError, type ChainForTlsa, type TlsaParams, type TlsaRdata, type TlsaRecord } from './tlsa.js';
import { computeIssuerRdatas, computeSpkiSha256, findIssuer, isTrustAnchorUsage, type IssuerCert } from './issuers.js';

export interface EntryShape {
  id?: string;
  domains: string[];
  ports: number[];
  protocol: string;
  tlsa: string[];
  trustAnchor: 'issuer' | 'root';
  /** The configured issuer set (config `issuers`, resolved); absent or empty: the chain's own issuer. */
  issuers?: readonly IssuerCert[];
}

/**
 * Whose records: a 'renewal' about to be published must chain to the issuer set when one is
 * configured; the 'live' certificate is already served, so its own trust anchor's record is kept
 * beside the set's whatever signed it (it must stay covered until it is replaced).
 */
export type RecordsFor = 'renewal' | 'live';

/** Some large receivers handle only about a dozen TLSA records per name (FACTS.md). */
export const MAX_RECORDS_PER_NAME = 12;

/** Owner names of an entry, in config order: "_25._tcp.mx.example.com.", ... */
export function computeOwners(entry: EntryShape): string[] {
  return entry.domains.flatMap((d) => entry.ports.map((p) => formatTlsaOwner(p, entry.protocol, d)));
}

/** The records for one certificate. */
export function computeCertificateRecords(entry: EntryShape, certs: ChainForTlsa, ttl: number, forWhat: RecordsFor = 'renewal'): TlsaRecord[] {
  const rdatas = entry.tlsa.flatMap((text) => {
    const params = parseTlsaParams(text)!; // validated by the config schema
    try {
      return computeParamRdatas(entry, certs, params, forWhat);
    } catch (err) {
      if (err instanceof TlsaChainError) throw new CertificateError(err.message);
      throw err;
    }
  });
  const unique = rdatas.filter((r, i) => rdatas.findIndex((o) => sameRdata(o, r)) === i);
  return computeOwners(entry).flatMap((name) => unique.map((rdata) => ({ name, ttl, rdata })));
}

/**
 * One parameter set's records. With an issuer set, a trust-anchor usage (RFC 6698 §2.1.1: 0 or 2)
 * yields one record per certificate in the set instead of only the chain's issuer, so a renewal
 * signed by another of them finds its record already served (RFC 7671 §5.2, §8.1).
 */
function computeParamRdatas(entry: EntryShape, certs: ChainForTlsa, params: TlsaParams, forWhat: RecordsFor): TlsaRdata[] {
  const own = computeTlsaRdata(certs, params, entry.trustAnchor);
  const set = entry.issuers ?? [];
  if (!isTrustAnchorUsage(params) || set.length === 0) return [own];
  const fromSet = computeIssuerRdatas(set, params);
  if (fromSet.some((r) => sameRdata(r, own))) return fromSet;
  if (forWhat === 'live') return [...fromSet, own];
  throw new CertificateError(formatOutsideSet(entry, certs, params, set));
}

/** Why a renewal's trust anchor does not match the issuer set (never published: refused). */
function formatOutsideSet(entry: EntryShape, certs: ChainForTlsa, params: TlsaParams, set: readonly IssuerCert[]): string {
  const ta = selectTrustAnchor(certs, entry.trustAnchor);
  const who = entry.id ? `"${entry.id}": ` : '';
  const which = entry.trustAnchor === 'root' ? 'the top of the chain' : 'the issuer of the certificate';
  if (findIssuer(set, ta)) {
    // Same CA, other certificate (e.g. a cross-signed copy): a selector-0 record of the set's copy
    // would not match the certificate the service sends.
    return `${who}${which}, "${ta.subject}", is in the issuer set, but the chain carries a different certificate for it (a cross-signed copy?), so the set's "${params.usage} ${params.selector} ${params.matchingType}" record would not match what the service sends (RFC 7671 §5.2.2); use selector 1 ("2 1 1") or put the served copy in "issuers"`;
  }
  const known = set.map((c) => `"${c.subject}"`).join(', ');
  return `${who}${which}, "${ta.subject}" (SPKI SHA-256 ${computeSpkiSha256(ta.spki).slice(0, 16)}…), is not in the configured issuer set (${known}); refusing it before anything is written. Add that CA's certificate to "issuers" if it is expected, or renew from a CA in the set`;
}

/** Union of several certificates' records (live ∪ pending), without duplicates, stable order. */
export function computeDesiredRecords(entry: EntryShape, certificates: ChainForTlsa[], ttl: number, forWhat: RecordsFor = 'renewal'): TlsaRecord[] {
  const out: TlsaRecord[] = [];
  for (const certs of certificates) {
    for (const r of computeCertificateRecords(entry, certs, ttl, forWhat)) {
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
  return [...countRecordsPerName(records)].filter(([, n]) => n > MAX_RECORDS_PER_NAME).map(([name]) => name);
}

function countRecordsPerName(records: TlsaRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  return counts;
}

/** One warning per name that would hold more than MAX_RECORDS_PER_NAME records (an issuer set adds one per CA). */
export function formatCrowdedWarnings(id: string, records: TlsaRecord[]): string[] {
  const counts = countRecordsPerName(records);
  return findCrowdedNames(records).map(
    (name) => `"${id}": ${name} would hold ${counts.get(name)} TLSA records; some large receivers use only the first ${MAX_RECORDS_PER_NAME} or so: trim "issuers" (e.g. one key type's set) or "tlsa"`,
  );
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
