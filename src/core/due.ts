// Whether an entry needs a run now: a rollover step is due, the next key waits to be published or
// to reach every server, or replaced next-key records wait to be removed. Pure; shared by the
// no-op fast path (which must not load zod) and post-deploy.
// Imports stay type-only or zod-free: the no-op fast path loads this file.
import { isDue, type RolloverPolicy } from './rollover.js';
import type { EntryState, NextKey } from './state.js';

/** A next key needs a run: not yet published, or published and waiting for every server. */
export function isNextKeyDue(next: Pick<NextKey, 'phase'> | null): boolean {
  return next !== null && next.phase !== 'propagated';
}

/** Fields may be absent in a state file the fast path reads without validation (version 1). */
export function isEntryDue(es: Partial<Pick<EntryState, 'rollovers' | 'next' | 'retiredNext'>> | undefined, policy: RolloverPolicy, now: Date): boolean {
  if (!es) return false;
  return (es.rollovers ?? []).some((r) => isDue(r, policy, now)) || isNextKeyDue(es.next ?? null) || (es.retiredNext ?? []).length > 0;
}

/**
 * A DKIM entry needs a new key: nothing on its way (pending or activated and not yet cleaned),
 * and no live key yet or the live key's rotation time (`live.notAfter` = activation + every) passed.
 */
export function isRotationDue(es: Partial<Pick<EntryState, 'rollovers' | 'live'>> | undefined, now: Date): boolean {
  if (!es) return true;
  if ((es.rollovers ?? []).some((r) => r.phase !== 'cleaned' && r.phase !== 'superseded')) return false;
  return !es.live || Date.parse(es.live.notAfter) <= now.getTime();
}
