// Next-key mode (RFC 7671 §8.1 "current + next"): which records announce a key before any
// certificate carries it, when such an announcement has aged, and when it is used up. Pure.
import type { EntryShape } from './desired.js';
import { computeOwners } from './desired.js';
import { isPending } from './phases.js';
import type { EntryState, NextKey } from './state.js';
import { computeAssociation, parseTlsaParams, type TlsaParams, type TlsaRecord } from './tlsa.js';

/**
 * The records a key can have before its certificate exists: selector 1 (SubjectPublicKeyInfo) of
 * the end entity, usages 3 and 1 (RFC 6698 §2.1.1–2.1.2). Selector 0 and usages 0/2 describe a
 * certificate, not a key: a renewal configured with them takes the delayed path for those records.
 */
const describesKey = (p: TlsaParams | undefined): p is TlsaParams => p !== undefined && p.selector === 1 && (p.usage === 3 || p.usage === 1);

export function computeNextKeyRecords(entry: EntryShape, spkiDer: Uint8Array, ttl: number): TlsaRecord[] {
  const params = entry.tlsa.map((t) => parseTlsaParams(t)).filter(describesKey);
  const rdatas = params.map((p) => ({ ...p, data: computeAssociation(new Uint8Array(), spkiDer, 1, p.matchingType) }));
  const unique = rdatas.filter((r, i) => rdatas.findIndex((o) => o.usage === r.usage && o.matchingType === r.matchingType) === i);
  return computeOwners(entry).flatMap((name) => unique.map((rdata) => ({ name, ttl, rdata })));
}

/** Can this entry announce a next key at all (some parameter set describes the key alone)? */
export function canAnnounceNextKey(entry: EntryShape): boolean {
  return entry.tlsa.some((t) => describesKey(parseTlsaParams(t)));
}

/** Served by every authoritative server for delayFactor × TTL + margin: a renewal with it goes live at once. */
export function isNextKeyAged(next: NextKey, now: Date): boolean {
  return next.phase === 'propagated' && next.activateAfter !== null && now.getTime() >= Date.parse(next.activateAfter);
}

/** The next key is used up: the live certificate or a renewal on its way carries it. */
export function isNextKeyConsumed(es: EntryState, spki: string): boolean {
  return es.live?.spki === spki || es.rollovers.some((r) => r.spki === spki && (isPending(r.phase) || r.phase === 'activated'));
}
