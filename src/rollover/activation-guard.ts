// What every kind's activation does first and records the same way: never activate unless every
// authoritative server serves the records now (RFC 6698 A.4), and save `activating` before the
// first change so a crash is recovered; shared by kinds/tls and kinds/dkim.
import { TemporaryError } from '../errors.js';
import type { Rollover } from '../core/state.js';
import { observeServers } from './propagation.js';
import type { StepResult } from './step.js';
import type { Session } from './session.js';

/** undefined when every server serves the records; else the step result that publishes them again. */
export async function recheckServed(s: Session, id: string, r: Rollover): Promise<StepResult | undefined> {
  const observations = await observeServers(s, r);
  const missing = observations.filter((o) => !o.servesAll).map((o) => o.server);
  if (missing.length === 0 && observations.length > 0) return undefined;
  // Someone removed records, or a server lost them: publish again (adds only what is missing)
  // and restart the clocks, so activation again waits for every server and the TTL.
  const why = `"${id}": not activating: ${missing.join(', ') || 'no authoritative server'} no longer serve(s) the new records; publishing them again`;
  s.event({ id, rollover: r.id, event: 'phase', phase: 'staged', reason: why });
  return { rollover: { ...r, phase: 'staged', servers: {}, propagatedAt: null, activateAfter: null, lastError: why }, error: new TemporaryError(why) };
}

/** Save the rollover in its new phase now, not at the end of the step: a crash must find it. */
export function saveRolloverNow(s: Session, id: string, r: Rollover): void {
  const es = s.entryState(id);
  const i = es.rollovers.findIndex((x) => x.id === r.id);
  if (i >= 0) es.rollovers[i] = r;
  s.save();
}
