// Rollover phases (DESIGN.md "State file"), kept apart from the zod schema so the no-op fast
// path can use them without loading zod.

export const PHASES = ['staged', 'published', 'propagated', 'activated', 'cleaned', 'rolled-back', 'superseded'] as const;
export type Phase = (typeof PHASES)[number];
/** Phases in which a rollover still has work to do. */
export const ACTIVE_PHASES: readonly Phase[] = ['staged', 'published', 'propagated', 'activated'];
