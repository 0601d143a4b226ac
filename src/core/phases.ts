// Rollover phases (DESIGN.md "State file"), kept apart from the zod schema so the no-op fast
// path can use them without loading zod. The one place that says which phase belongs to which set.

export const PHASES = ['staged', 'published', 'propagated', 'activated', 'cleaned', 'rolled-back', 'superseded'] as const;
export type Phase = (typeof PHASES)[number];
/** Phases in which a rollover still has work to do. */
export const ACTIVE_PHASES: readonly Phase[] = ['staged', 'published', 'propagated', 'activated'];
/**
 * Not (or no longer) in service but still wanted: their records must stay in DNS, and a newer
 * renewal of the same id supersedes them. A rolled-back rollover keeps its records for a retry.
 */
export const PENDING_PHASES: readonly Phase[] = ['staged', 'published', 'propagated', 'rolled-back'];

export const isPending = (phase: Phase): boolean => PENDING_PHASES.includes(phase);
