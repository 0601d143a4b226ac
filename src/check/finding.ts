// Findings of `danehook check` and the monitoring-plugin convention they map to (Nagios plugin
// guidelines: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN): one line each, greppable. Pure.

export const SEVERITIES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type CheckName = 'rrset' | 'rrsig' | 'chain' | 'ds' | 'endpoint' | 'certificate' | 'rollover' | 'next-key' | 'rrset-size' | 'dkim';

export interface Finding {
  severity: Severity;
  id: string;
  check: CheckName;
  /** What the finding is about: an owner name, a zone, an endpoint. */
  subject: string;
  server?: string;
  endpoint?: string;
  message: string;
}

/** Worst first: CRITICAL beats UNKNOWN beats WARNING beats OK (a known failure outranks doubt). */
const RANK: Record<Severity, number> = { OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3 };
export const EXIT_CODES: Record<Severity, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

export function computeStatus(findings: Finding[]): Severity {
  return findings.reduce<Severity>((worst, f) => (RANK[f.severity] > RANK[worst] ? f.severity : worst), 'OK');
}

export function formatFindingLine(f: Finding): string {
  return [f.severity, f.id, f.subject, f.endpoint, f.message].filter(Boolean).join(' ');
}

export function summarize(findings: Finding[]) {
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  return { status: computeStatus(findings), ok: count('OK'), warning: count('WARNING'), critical: count('CRITICAL'), unknown: count('UNKNOWN') };
}

export function formatSummaryLine(findings: Finding[]): string {
  const s = summarize(findings);
  return `danehook check: ${s.status} — ${s.critical} critical, ${s.warning} warning, ${s.unknown} unknown, ${s.ok} ok`;
}
