// Older state files brought to the current version before validation, without loss (pure).
// Version 1 → 2: entries gain `next` (the announced next key: none yet) and `retiredNext` (empty).

/** The raw JSON of a state file at `version`, as the current version would write it. */
export function migrateState(raw: unknown): unknown {
  const s = raw as { version?: unknown; certificates?: Record<string, Record<string, unknown>> };
  if (s?.version !== 1 || typeof s.certificates !== 'object' || s.certificates === null) return raw;
  const certificates = Object.fromEntries(
    Object.entries(s.certificates).map(([id, es]) => [id, { ...es, next: es?.next ?? null, retiredNext: es?.retiredNext ?? [] }]),
  );
  return { ...s, version: 2, certificates };
}
