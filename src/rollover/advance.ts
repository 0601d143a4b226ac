// Drive every rollover of the given ids as far as the clock allows: publish, poll, activate,
// clean up. Returns the worst error (for the exit code) and when the next step becomes due.
import { DanehookError, PropagationTimeoutError, toDanehookError } from '../errors.js';
import { computeNextStep, pruneFinished } from '../core/rollover.js';
import { ACTIVE_PHASES, type Rollover } from '../core/state.js';
import { createLimiter } from '../io/dns-limiter.js';
import { activateRollover, type StepResult } from './activate.js';
import { cleanupRollover } from './cleanup.js';
import { publishRollover } from './publish.js';
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
  const step = computeNextStep(r, s.policy, s.now());
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
      return activateRollover(s, id, r);
    case 'cleanup':
      return cleanupRollover(s, id, r);
    case 'done':
      return { rollover: r };
  }
}

type StepOutcome = Awaited<ReturnType<typeof runStep>>;

/** Run the next step of rollover i of `id`, store its result, and collect (and log) its error. */
async function applyStep(s: Session, id: string, i: number, result: AdvanceResult): Promise<StepOutcome> {
  const es = s.entryState(id);
  const r = es.rollovers[i]!;
  let out: StepOutcome;
  try {
    out = await runStep(s, id, r);
  } catch (err) {
    const e = toDanehookError(err);
    out = { rollover: { ...r, lastError: e.message }, error: e };
  }
  es.rollovers[i] = out.rollover;
  if (out.error) {
    s.ctx.log.error(out.error.message);
    result.errors.push(out.error);
  }
  return out;
}

/** Rollovers at most polled at once; each poll is a few queries per authoritative server. */
export const POLL_CONCURRENCY = 32;

/**
 * Poll every rollover waiting for propagation at once and save the state once: a hoster's
 * thousand pending rollovers must not cost a thousand sequential round trips and state writes.
 */
async function pollAll(s: Session, ids: string[], result: AdvanceResult): Promise<Set<string>> {
  const due: { id: string; i: number }[] = [];
  for (const id of ids) {
    s.entryState(id).rollovers.forEach((r, i) => {
      const kind = computeNextStep(r, s.policy, s.now()).kind;
      if (kind === 'poll' || kind === 'propagation-timeout') due.push({ id, i });
    });
  }
  const polled = new Set(due.map(({ id, i }) => `${id}/${s.entryState(id).rollovers[i]!.id}`));
  if (due.length === 0) return polled;
  const limit = createLimiter(POLL_CONCURRENCY);
  await Promise.all(due.map(({ id, i }) => limit(() => applyStep(s, id, i, result))));
  s.save();
  return polled;
}

/** Advance until nothing more is due right now. Each rollover's state is saved after every step. */
export async function advanceRollovers(s: Session, ids: string[]): Promise<AdvanceResult> {
  const result: AdvanceResult = { errors: [], polling: false, pending: 0 };
  const polled = await pollAll(s, ids, result);
  for (const id of ids) {
    const es = s.entryState(id);
    for (let i = 0; i < es.rollovers.length; i++) {
      for (let guard = 0; guard < 8; guard++) {
        const r = es.rollovers[i]!;
        if (!ACTIVE_PHASES.includes(r.phase)) break;
        // Polled above already this run: a rollover still waiting for servers is not asked twice.
        if (r.phase === 'published' && polled.has(`${id}/${r.id}`)) {
          result.polling = true;
          break;
        }
        const out = await applyStep(s, id, i, result);
        // After every step that changed something: a crash later loses nothing done so far. A
        // wait or done step returns the very same rollover and changes nothing, so there is
        // nothing to save — and serialising the whole state once per waiting rollover cost
        // ~10 ms each with 1,000 pending rollovers (10 s of a 13 s run; npm run bench, item 3).
        if (out.rollover !== r) s.save();
        if (out.wait && (!result.nextDueAt || out.wait < result.nextDueAt)) result.nextDueAt = out.wait;
        if (out.polling) result.polling = true;
        if (out.error || out.wait || out.polling || out.rollover.phase === r.phase) break;
      }
      if (ACTIVE_PHASES.includes(es.rollovers[i]!.phase)) result.pending++;
    }
    const pruned = pruneFinished(es);
    if (pruned.dropped.length > 0) {
      es.rollovers = pruned.entry.rollovers;
      s.save();
    }
  }
  return result;
}
