// Durations in config: "500ms", "5s", "2m", "1h", "1d", or a bare number of seconds.
// Parsed to milliseconds; the zod schema calls this so defaults and checks live in one place.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** Parse a duration to milliseconds; undefined when the text is not a duration. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

/** Human form of a millisecond duration, e.g. 7200000 → "2h", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 120) return `${Number(s.toFixed(1))}s`;
  if (s < 7200) return `${Number((s / 60).toFixed(1))}m`;
  if (s < 172800) return `${Number((s / 3600).toFixed(1))}h`;
  return `${Number((s / 86400).toFixed(1))}d`;
}
