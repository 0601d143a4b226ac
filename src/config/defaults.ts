// Defaults of the rollover policy, in one place without zod: the schema applies them, and the
// no-op fast path (which must not load zod) reads them from here instead of restating them.

export const ROLLOVER_DEFAULTS = {
  delayFactor: 2,
  minDelay: 0,
  propagationTimeout: 3_600_000,
  cleanupDelay: 0,
  /**
   * Whole-second caches (Postfix keeps a TLSA answer until 1 + now + TTL, Unbound rounds its cache
   * clock) can keep the old RRset ~2 s beyond delayFactor × TTL; 5 s covers that with room to spare.
   */
  margin: 5_000,
} as const;

export const DEFAULT_STATE_DIR = '/var/lib/danehook';
