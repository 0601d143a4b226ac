// Rollover phases (DESIGN.md "State file"), kept apart from the zod schema so the no-op fast
// path can use them without loading zod. The one place that says which phase belongs to which set.

// `activating` is saved before the first install target is touched: a run that finds it knows a
// previous run died mid-install and restores the backup before anything else (kinds/tls/activate.ts).
export const PHASES = ['staged', 'published', 'propagated', 'activating', 'activated', 'cleaned', 'rolled-back', 'superseded'] as const;
export type Phase = (typeof PHASES)[number];
/** Phases in which a rollover still has work to do. */
export const ACTIVE_PHASES: readonly Phase[] = ['staged', 'published', 'propagated', 'activating', 'activated'];
/**
 * Not (or not yet surely) in service but still wanted: their records must stay in DNS. A
 * rolled-back rollover keeps its records for a retry; an `activating` one may already be served
 * (a run died after the reload).
 */
export const PENDING_PHASES: readonly Phase[] = ['staged', 'published', 'propagated', 'activating', 'rolled-back'];

export const isPending = (phase: Phase): boolean => PENDING_PHASES.includes(phase);

/**
 * Pending rollovers a newer renewal of the same id supersedes: never an `activating` one, whose
 * files may be half installed and which only its own recovery may put right.
 */
export const isSupersedable = (phase: Phase): boolean => isPending(phase) && phase !== 'activating';

/** A next key's announcement: staged (chosen), published (records sent), propagated (every server serves them). */
export const NEXT_PHASES = ['staged', 'published', 'propagated'] as const;
export type NextPhase = (typeof NEXT_PHASES)[number];

/** Which path a renewal took: the live key's records, the aged next key's (both at once), or a new key's (delayed). */
export const ROLLOVER_PATHS = ['same-key', 'next-key', 'new-key'] as const;
export type RolloverPath = (typeof ROLLOVER_PATHS)[number];
