// Drive every rollover of the given ids as far as the clock allows: publish, poll, activate,
// clean up. Returns the worst error (for the exit code) and when the next step becomes due.
import { DanehookError, PropagationTimeoutError, toDanehookError } from '../errors.js';
import { computeNextStep, pruneFinished } from '../core/rollover.js';
import { ACTIVE_PHASES, type Rollover } from '../core/state.js';
import { createLimiter } from '../io/dns-limiter.js';
import type { StepResult } from './step.js';
import { kindOf } from '../kinds/registry.js';
import { cleanupRollover } from './cleanup.js';
import { publishRollover } from './publish.js';
import { advanceNextKey } from '../kinds/tls/next-key.js';
import { pollPropagation } from './propagation.js';
import type { Session } from './session.js';

export interface AdvanceResult {
  errors: DanehookError[];
  /** Earliest time a waiting rollover becomes due; undefined when none waits on the clock. */
  nextDueAt?: Date;
  /** Some rollover still needs DNS polling (no fixed due time). */
  polling: boolean;
  pending: number;
}

async function runStep(s: Session, id: string, r: Rollover): Promise<StepResult & { wait?: Date; polling?: boolean }> {
  const step = computeNextStep(r, s.policyFor(id), s.now());
  switch (step.kind) {
    case 'publish':
      return { rollover: await publishRollover(s, id, r) };
    case 'poll': {
      const next = await pollPropagation(s, id, r);
      return { rollover: next, polling: next.phase === 'published' };
    }
    case 'propagation-timeout': {
      const msg = `"${id}": not every authoritative server serves the new records ${Math.round((s.now().getTime() - step.since.getTime()) / 1000)}s after publication (propagationTimeout); will retry on the next run`;
      const next = await pollPropagation(s, id, r); // one more look: it may have arrived just now
      return next.phase === 'published' ? { rollover: { ...next, lastError: msg }, error: new PropagationTimeoutError(msg), polling: true } : { rollover: next };
    }
    case 'wait-activation':
    case 'wait-cleanup':
      return { rollover: r, wait: step.at };
    case 'activate':
      return kindOf(s, id).activate(s, id, r);
    case 'recover-activation':
      return kindOf(s, id).recoverActivation(s, id, r);
    case 'cleanup':
      return cleanupRollover(s, id, r);
    case 'done':
      return { rollover: r };
  }
}

type StepOutcome = Awaited<ReturnType<typeof runStep>>;

/** Run the next step of one rollover, store its result in the state, and collect (and log) its error. */
async function applyStep(s: Session, id: string, r: Rollover, result: AdvanceResult): Promise<StepOutcome> {
  let out: StepOutcome;
  try {
    out = await runStep(s, id, r);
  } catch (err) {
    const e = toDanehookError(err);
    out = { rollover: { ...r, lastError: e.message }, error: e };
  }
  const es = s.entryState(id);
  es.rollovers = es.rollovers.map((x) => (x.id === r.id ? out.rollover : x));
  if (out.error) {
    s.ctx.log.error(out.error.message);
    result.errors.push(out.error);
  }
  return out;
}

/** Rollovers at most polled at once; each poll is a few queries per authoritative server. */
export const POLL_CONCURRENCY = 32;
/** Steps one rollover may take in one run (publish → poll → activate → cleanup fits easily). */
const MAX_STEPS_PER_RUN = 8;

const isPolling = (id: string, r: Rollover, s: Session): boolean => {
  const kind = computeNextStep(r, s.policyFor(id), s.now()).kind;
  return kind === 'poll' || kind === 'propagation-timeout';
};

/**
 * Poll every rollover waiting for propagation at once and save the state once: a hoster's
 * thousand pending rollovers must not cost a thousand sequential round trips and state writes.
 * Returns the rollovers polled ("id/rollover"), which the sequential pass then leaves alone.
 */
async function pollAll(s: Session, ids: string[], result: AdvanceResult): Promise<Set<string>> {
  const due = ids.flatMap((id) => s.entryState(id).rollovers.filter((r) => isPolling(id, r, s)).map((r) => ({ id, r })));
  if (due.length === 0) return new Set();
  const limit = createLimiter(POLL_CONCURRENCY);
  await Promise.all(due.map(({ id, r }) => limit(() => applyStep(s, id, r, result))));
  s.save();
  return new Set(due.map(({ id, r }) => `${id}/${r.id}`));
}

/** Take one rollover through as many steps as are due now; stop at a wait, an error or no progress. */
async function advanceOne(s: Session, id: string, rolloverId: string, polledThisRun: boolean, result: AdvanceResult): Promise<void> {
  const current = () => s.entryState(id).rollovers.find((x) => x.id === rolloverId)!;
  for (let n = 0; n < MAX_STEPS_PER_RUN && ACTIVE_PHASES.includes(current().phase); n++) {
    const r = current();
    // Polled above already this run: a rollover still waiting for servers is not asked twice.
    if (r.phase === 'published' && polledThisRun) {
      result.polling = true;
      break;
    }
    const out = await applyStep(s, id, r, result);
    // Save after every step that changed something: a crash later loses nothing done so far. A
    // wait or done step returns the very same rollover, so there is nothing to save — serialising
    // the whole state once per waiting rollover cost ~10 ms each with 1,000 pending rollovers.
    if (out.rollover !== r) s.save();
    if (out.wait && (!result.nextDueAt || out.wait < result.nextDueAt)) result.nextDueAt = out.wait;
    if (out.polling) result.polling = true;
    if (out.error || out.wait || out.polling || out.rollover.phase === r.phase) break;
  }
  if (ACTIVE_PHASES.includes(current().phase)) result.pending++;
}

/** Advance until nothing more is due right now. Each rollover's state is saved after every step. */
export async function advanceRollovers(s: Session, ids: string[]): Promise<AdvanceResult> {
  const result: AdvanceResult = { errors: [], polling: false, pending: 0 };
  const polled = await pollAll(s, ids, result);
  for (const id of ids) {
    const active = s.entryState(id).rollovers.filter((r) => ACTIVE_PHASES.includes(r.phase));
    for (const r of active) await advanceOne(s, id, r.id, polled.has(`${id}/${r.id}`), result);
    // The announced next key (TLS): retire replaced records, publish, poll (kinds/tls/next-key.ts).
    const next = s.kindOf(id) === 'tls' ? await advanceNextKey(s, id) : { polling: false };
    if ('error' in next && next.error) {
      s.ctx.log.error(next.error.message);
      result.errors.push(next.error);
    }
    if (next.polling) result.polling = true;
    const es = s.entryState(id);
    const pruned = pruneFinished(es);
    if (pruned.dropped.length > 0) {
      es.rollovers = pruned.entry.rollovers;
      s.save();
    }
  }
  return result;
}
