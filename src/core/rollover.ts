// The rollover state machine (pure; the clock is passed in): staged → published → propagated →
// activating → activated → cleaned, or superseded / rolled-back. RFC 7671 §8.1 and RFC 6698 A.4
// set the timing.
import type { EntryState, Rollover } from './state.js';

/** What a rollover and a next-key announcement share: records published, then seen on every server. */
export type Publication = Pick<Rollover, 'servers' | 'publishedAt' | 'propagatedAt' | 'activateAfter' | 'replacedTtl' | 'alreadyServed'> & { phase: string; servedSince?: string | undefined };
import { isSupersedable } from './phases.js';

export interface RolloverPolicy {
  delayFactor: number;
  minDelay: number; // ms after publication
  propagationTimeout: number; // ms after publication
  cleanupDelay: number; // ms after activation
  /** ms added to delayFactor × TTL: caches that count whole seconds keep answers a little longer. */
  margin: number;
}

export type Step =
  | { kind: 'publish' }
  | { kind: 'poll'; deadline: Date } // ask every authoritative server; give up at deadline
  | { kind: 'propagation-timeout'; since: Date }
  | { kind: 'wait-activation'; at: Date }
  | { kind: 'activate' }
  | { kind: 'recover-activation' } // a run died mid-install: restore the backup, then activate afresh
  | { kind: 'wait-cleanup'; at: Date }
  | { kind: 'cleanup' }
  | { kind: 'done' };

const t = (iso: string | null): number => (iso === null ? NaN : Date.parse(iso));

/** What to do next for one rollover at `now`. */
export function computeNextStep(r: Rollover, policy: RolloverPolicy, now: Date): Step {
  switch (r.phase) {
    case 'staged':
      return { kind: 'publish' };
    case 'published': {
      const deadline = new Date(t(r.publishedAt) + policy.propagationTimeout);
      return now.getTime() > deadline.getTime() ? { kind: 'propagation-timeout', since: new Date(t(r.publishedAt)) } : { kind: 'poll', deadline };
    }
    case 'propagated':
      return now.getTime() >= t(r.activateAfter) ? { kind: 'activate' } : { kind: 'wait-activation', at: new Date(t(r.activateAfter)) };
    case 'activating':
      // Only ever seen at the start of a run when the previous one died while installing: key and
      // certificate may not match on disk, so this is due at once, whatever the clock says.
      return { kind: 'recover-activation' };
    case 'activated': {
      const at = t(r.activatedAt) + policy.cleanupDelay;
      return now.getTime() >= at ? { kind: 'cleanup' } : { kind: 'wait-cleanup', at: new Date(at) };
    }
    default:
      return { kind: 'done' };
  }
}

/** Does this rollover need a run now (anything but waiting for a deadline, or finished)? */
export function isDue(r: Rollover, policy: RolloverPolicy, now: Date): boolean {
  const kind = computeNextStep(r, policy, now).kind;
  return kind !== 'wait-activation' && kind !== 'wait-cleanup' && kind !== 'done';
}

/** When the next step of a waiting rollover becomes due (undefined: it needs a run now). */
export function computeDueAt(step: Step): Date | undefined {
  return step.kind === 'wait-activation' || step.kind === 'wait-cleanup' ? step.at : undefined;
}

/**
 * The activation deadline: the last authoritative server's first answer with the new records plus
 * delayFactor × the largest TTL of the RRsets they joined (RFC 7671 §8.1: at least two TTLs) plus
 * the margin, and no earlier than publication + minDelay. Records announced before the renewal (a
 * next key, `servedSince`) count from when every server first served the announcement. The margin exists because real caches
 * count whole seconds: Postfix keeps a TLSA answer until 1 + now + TTL (tls_dane.c) and Unbound
 * rounds its cache clock, so an old RRset can outlive delayFactor × TTL by up to ~2 s. No old RRset (or the records were already served with the
 * live certificate): nothing cached can contradict the new certificate, so no TTL wait.
 */
export function computeActivateAfter(r: Publication, policy: RolloverPolicy): { at: Date; waitsForTtl: boolean } {
  const served = Object.values(r.servers).map((s) => t(s.firstServedAt));
  // Records announced earlier (a next key) have been served by every server since `servedSince`.
  const lastServed = r.servedSince ? t(r.servedSince) : Math.max(...served, t(r.publishedAt));
  const waitsForTtl = r.replacedTtl !== null && !r.alreadyServed;
  const ttlWait = waitsForTtl ? policy.delayFactor * r.replacedTtl! * 1000 + policy.margin : 0;
  return { at: new Date(Math.max(lastServed + ttlWait, t(r.publishedAt) + policy.minDelay)), waitsForTtl };
}

export interface ServerObservation {
  server: string; // "zone@host:port"
  servesAll: boolean;
}

/**
 * Fold one poll into the rollover: remember when each server first served every new record; once
 * all do, the rollover is propagated with its activation deadline. A server that stops serving the
 * records loses its time (the clock restarts for it).
 */
export function applyObservations<T extends Publication>(r: T, observations: ServerObservation[], policy: RolloverPolicy, now: Date): T {
  const servers: Rollover['servers'] = {};
  for (const o of observations) {
    const before = r.servers[o.server]?.firstServedAt ?? null;
    servers[o.server] = { firstServedAt: o.servesAll ? (before ?? now.toISOString()) : null };
  }
  const next: T = { ...r, servers };
  const all = observations.length > 0 && observations.every((o) => o.servesAll);
  if (!all) return next;
  const propagatedAt = new Date(Math.max(...Object.values(servers).map((s) => t(s.firstServedAt)))).toISOString();
  const withTime = { ...next, phase: 'propagated' as const, propagatedAt };
  return { ...withTime, activateAfter: computeActivateAfter(withTime, policy).at.toISOString() };
}

/**
 * A newer renewal supersedes every rollover of the id that has not been activated yet. Never an
 * `activating` one: its files may be half installed and only its own recovery restores them.
 */
export function supersedePending(entry: EntryState, now: Date): { entry: EntryState; superseded: Rollover[] } {
  const superseded: Rollover[] = [];
  const rollovers = entry.rollovers.map((r) => {
    if (isSupersedable(r.phase)) {
      const s = { ...r, phase: 'superseded' as const, lastError: r.lastError ?? `superseded at ${now.toISOString()}` };
      superseded.push(s);
      return s;
    }
    return r;
  });
  return { entry: { ...entry, rollovers }, superseded };
}

/** Finished rollovers kept in the state for `status`; older ones are dropped. */
export const FINISHED_KEPT = 5;

export function pruneFinished(entry: EntryState): { entry: EntryState; dropped: Rollover[] } {
  const finished = entry.rollovers.filter((r) => r.phase === 'cleaned' || r.phase === 'superseded');
  const dropped = finished.slice(0, Math.max(0, finished.length - FINISHED_KEPT));
  return { entry: { ...entry, rollovers: entry.rollovers.filter((r) => !dropped.includes(r)) }, dropped };
}
