// Next-key mode under the lock (RFC 7671 §8.1 "current + next"): after a renewal, choose the next
// key (the client's, or one generated like the renewal's key), publish its records beside the live
// ones, poll every authoritative server until it serves them, and delete the records of next keys
// that were replaced before any renewal used them.
import { existsSync } from 'node:fs';
import { computeLiveRecords, computeOwners, computeRequiredRecords } from '../../core/desired.js';
import { canAnnounceNextKey, computeNextKeyRecords, isNextKeyConsumed } from '../../core/next-key.js';
import { checkPlanSafety, computeCleanup } from '../../core/plan.js';
import { applyObservations } from '../../core/rollover.js';
import type { NextKey } from '../../core/state.js';
import { containsAll, fromStateRecords, toStateRecord, unionRecords } from '../../core/state-records.js';
import { computeKeyTypeField } from '../../core/key-type.js';
import { formatChangeJson } from '../../core/format-plan.js';
import { toDanehookError, UnsafePlanError, type DanehookError } from '../../errors.js';
import { generateKeyLike, readKeyFile, removeGeneratedKeysExcept, writeGeneratedKey, type KeyOnDisk } from '../../io/next-key-files.js';
import { observeServers } from '../../rollover/propagation.js';
import { publishBesideLive } from '../../rollover/publish.js';
import { confirmApplied } from '../../rollover/records.js';
import type { Session } from '../../rollover/session.js';

/** What a renewal tells about the next key: the client's file, and the key to imitate. */
export interface NextKeyHint {
  client: string;
  /** The client's next key (acme.sh Le_Next_Domain_Key, dehydrated privkey.roll.pem). */
  clientKey?: string;
  /** The renewal's public key (DER SPKI): a generated next key has its algorithm and size. */
  templateSpki?: Uint8Array;
}

/** Clients that can take a key danehook made (lego --csr, a manual deploy); the others keep their own. */
const TAKES_GENERATED_KEY = new Set(['lego-v4', 'lego-v5', 'explicit']);

const HOW_TO_ENABLE: Record<string, string> = {
  'acme.sh': 'issue with --always-force-new-domain-key so acme.sh keeps a next key',
  dehydrated: 'set PRIVATE_KEY_RENEW=yes and PRIVATE_KEY_ROLLOVER=yes so dehydrated keeps privkey.roll.pem',
  certbot: 'certbot cannot take a prepared key: use --reuse-key (no wait) and re-key on a schedule (delayed path)',
};

/** Replace the announced next key (null: none); the old one's records are retired unless required. */
function replaceNext(s: Session, id: string, next: NextKey | null, why: string): void {
  const es = s.entryState(id);
  if (es.next) {
    es.retiredNext = unionRecords(fromStateRecords(es.retiredNext), fromStateRecords(es.next.records)).map(toStateRecord);
    s.event({ id, event: 'next-key', op: 'replaced', spki: es.next.spki, reason: why });
  }
  es.next = next;
  if (next) {
    s.event({ id, event: 'next-key', op: 'chosen', spki: next.spki, source: next.source });
    s.ctx.log.info(`"${id}": next key SPKI ${next.spki.slice(0, 16)}… (${next.source}) will be announced: ${why}`);
  }
  s.save();
}

function newNext(s: Session, id: string, key: KeyOnDisk, source: NextKey['source'], keyPath: string): NextKey {
  const entry = s.entry(id);
  return {
    phase: 'staged', spki: key.spki, ...computeKeyTypeField(key.spkiDer), source, keyPath,
    records: computeNextKeyRecords(entry, key.spkiDer, s.loaded.config.dns.ttl).map(toStateRecord),
    replacedTtl: null, alreadyServed: false, createdAt: s.now().toISOString(),
    publishedAt: null, propagatedAt: null, activateAfter: null, servers: {}, attempts: 0, lastError: null,
  };
}

/** After a renewal was accepted: decide which key the next renewal will use (nothing is published here). */
export function chooseNextKey(s: Session, id: string, hint: NextKeyHint): void {
  const entry = s.entry(id);
  const es = s.entryState(id);
  if (entry.nextKey.mode === 'off' || !canAnnounceNextKey(entry)) {
    if (es.next && !s.dryRun) replaceNext(s, id, null, 'next-key mode is off');
    return;
  }
  let candidate: { key: KeyOnDisk; source: NextKey['source']; keyPath: string } | undefined;
  // dehydrated's privkey.roll.pem exists only with PRIVATE_KEY_ROLLOVER=yes (the adapter names it
  // regardless): an absent file is "this client keeps no next key", not a problem to warn about.
  const clientKey = hint.clientKey && existsSync(hint.clientKey) ? hint.clientKey : undefined;
  if (clientKey) {
    try {
      candidate = { key: readKeyFile(clientKey, `${hint.client} next key`), source: hint.client === 'dehydrated' ? 'dehydrated' : 'acme.sh', keyPath: clientKey };
    } catch (err) {
      s.ctx.log.warn(`"${id}": the client's next key cannot be used (${(err as Error).message}); no next key is announced from it this time`);
    }
  }
  const unused = es.next && !isNextKeyConsumed(es, es.next.spki) ? es.next : null;
  if (!candidate) {
    if (unused) return; // still waiting for the renewal that uses it
    const generate = entry.nextKey.mode === 'auto' && hint.templateSpki && TAKES_GENERATED_KEY.has(hint.client);
    if (!generate) {
      if (es.next && !s.dryRun) replaceNext(s, id, null, 'the renewal used it');
      if (!clientKey && HOW_TO_ENABLE[hint.client]) s.ctx.log.info(`"${id}": no next key to announce, so the next new key waits ${s.policy.delayFactor} × TTL; ${HOW_TO_ENABLE[hint.client]}`);
      return;
    }
    if (s.dryRun) {
      s.ctx.log.info(`dry run: would generate a next key for "${id}" and announce it`);
      return;
    }
    const key = generateKeyLike(hint.templateSpki!);
    candidate = { key, source: 'generated', keyPath: writeGeneratedKey(s.loaded.config.stateDir, id, key) };
  }
  if (es.next?.spki === candidate.key.spki) return;
  if (isNextKeyConsumed(es, candidate.key.spki)) {
    // The client has not made a new one yet (it does on the renewal after): nothing new to announce.
    if (es.next && !s.dryRun && !unused) replaceNext(s, id, null, 'the renewal used it');
    return;
  }
  if (s.dryRun) {
    s.ctx.log.info(`dry run: would announce next key SPKI ${candidate.key.spki.slice(0, 16)}… for "${id}"`);
    return;
  }
  replaceNext(s, id, newNext(s, id, candidate.key, candidate.source, candidate.keyPath), unused ? `it replaces SPKI ${unused.spki.slice(0, 16)}…, announced but never used` : 'the next renewal can then go live at once');
}

/** Delete the records of replaced next keys that nothing requires any more (owned ones only). */
async function retireRecords(s: Session, id: string): Promise<void> {
  const es = s.entryState(id);
  const required = computeRequiredRecords(s.state);
  const owned = fromStateRecords(es.owned);
  const retired = fromStateRecords(es.retiredNext).filter((r) => !containsAll(required, [r]) && containsAll(owned, [r]));
  if (retired.length > 0) {
    const provider = await s.provider();
    const existing = await provider.listRecords([...new Set(retired.map((r) => r.name))]);
    const changes = computeCleanup(existing, required, retired);
    const configured = new Set(s.loaded.config.certificates.flatMap(computeOwners));
    const violations = checkPlanSafety(changes, existing, { live: computeLiveRecords(s.state), owned, managedNames: [...existing.keys()].filter((n) => configured.has(n)) });
    if (violations.length > 0 && !s.ctx.options.force) throw new UnsafePlanError(`"${id}": refusing to retire the unused next key's records: ${violations.join('; ')}`);
    if (s.dryRun) {
      s.ctx.log.info(`dry run: would delete ${changes.length} record(s) of a replaced next key for "${id}"`);
      return;
    }
    if (changes.length > 0) {
      const result = await provider.apply({ changes });
      await confirmApplied(s, changes);
      s.event({ id, event: 'dns', op: 'retire-next', changes: changes.map(formatChangeJson), zones: result.zones });
      s.ctx.log.info(`"${id}": removed ${changes.length} record(s) of a next key that was replaced before use`);
    }
    es.owned = owned.filter((r) => !containsAll(retired, [r])).map(toStateRecord);
  }
  if (s.dryRun) return;
  es.retiredNext = [];
  const keep = [es.next?.spki, ...es.rollovers.map((r) => r.spki)].filter((x): x is string => Boolean(x));
  removeGeneratedKeysExcept(s.loaded.config.stateDir, id, keep);
  s.save();
}

/** Send the next key's records beside the live ones. */
async function publishNext(s: Session, id: string, next: NextKey): Promise<NextKey> {
  const pub = await publishBesideLive(s, id, next.records, { next: next.spki });
  if (s.dryRun) return next;
  s.event({ id, event: 'next-key', op: 'published', spki: next.spki, replacedTtl: pub.replacedTtl });
  return { ...next, phase: 'published', records: pub.records.map(toStateRecord), replacedTtl: pub.replacedTtl, publishedAt: pub.publishedAt, attempts: next.attempts + 1, lastError: null };
}

/** Ask every authoritative server; once all serve the records, the aging clock runs (RFC 6698 A.4). */
async function pollNext(s: Session, id: string, next: NextKey): Promise<NextKey> {
  const observed = applyObservations(next, await observeServers(s, next), s.policy, s.now());
  if (observed.phase === 'propagated') {
    s.ctx.log.info(`"${id}": every authoritative server serves the next key's records; a renewal with it goes live at once from ${observed.activateAfter}`);
    s.event({ id, event: 'next-key', op: 'propagated', spki: next.spki, propagatedAt: observed.propagatedAt, agedAt: observed.activateAfter });
  }
  return { ...observed, lastError: null };
}

/**
 * The next-key steps due now for one id: retire replaced records, publish, poll (once each per
 * run). Published only beside a known live certificate: an RRset holding just the next key would
 * fail the live one.
 */
export async function advanceNextKey(s: Session, id: string): Promise<{ error?: DanehookError; polling: boolean }> {
  const es = s.entryState(id);
  try {
    if (es.retiredNext.length > 0) await retireRecords(s, id);
    if (es.next?.phase === 'staged' && es.liveKnown) {
      es.next = await publishNext(s, id, es.next);
      s.save();
    }
    if (es.next?.phase === 'published' && !s.dryRun) {
      es.next = await pollNext(s, id, es.next);
      s.save();
    }
    return { polling: es.next?.phase === 'published' };
  } catch (err) {
    const e = toDanehookError(err);
    if (es.next && !s.dryRun) {
      es.next = { ...es.next, lastError: e.message };
      s.save();
    }
    return { error: e, polling: false };
  }
}
