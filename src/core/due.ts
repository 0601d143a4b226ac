// Whether an entry needs a run now: a rollover step is due, the next key waits to be published or
// to reach every server, or replaced next-key records wait to be removed. Pure; shared by the
// no-op fast path (which must not load zod) and post-deploy.
import { isDue, type RolloverPolicy } from './rollover.js';
import { isNextKeyDue } from './next-key.js';
import type { EntryState } from './state.js';

/** Fields may be absent in a state file the fast path reads without validation (version 1). */
export function isEntryDue(es: Partial<Pick<EntryState, 'rollovers' | 'next' | 'retiredNext'>> | undefined, policy: RolloverPolicy, now: Date): boolean {
  if (!es) return false;
  return (es.rollovers ?? []).some((r) => isDue(r, policy, now)) || isNextKeyDue(es.next ?? null) || (es.retiredNext ?? []).length > 0;
}
