// The node_exporter textfile of `check --prometheus` (Prometheus exposition format 0.0.4): gauges
// with HELP and TYPE, snake_case names with the unit as suffix, label values escaped. Pure.
import { summarize, type Finding } from './finding.js';

export interface Gauge {
  name: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/** Measurements the checks took, beside the findings: TLSA match per endpoint, expiry times. */
export interface Measurements {
  tlsaMatch: { id: string; endpoint: string; server: string; match: boolean }[];
  rrsigExpiry: { id: string; name: string; server: string; seconds: number }[];
  certificateExpiry: { id: string; seconds: number }[];
  durationSeconds: number;
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export function formatGauges(gauges: Gauge[]): string {
  const out: string[] = [];
  for (const g of gauges) {
    out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
    for (const s of g.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',');
      out.push(`${g.name}${labels ? `{${labels}}` : ''} ${Number.isFinite(s.value) ? s.value : 'NaN'}`);
    }
  }
  return out.join('\n') + '\n';
}

export function computeGauges(findings: Finding[], m: Measurements): Gauge[] {
  const s = summarize(findings);
  return [
    { name: 'danehook_check_success', help: '1 when no check is CRITICAL or UNKNOWN.', samples: [{ labels: {}, value: s.critical + s.unknown === 0 ? 1 : 0 }] },
    { name: 'danehook_findings', help: 'Findings of the last check by severity.', samples: (['ok', 'warning', 'critical', 'unknown'] as const).map((k) => ({ labels: { severity: k }, value: s[k] })) },
    { name: 'danehook_tlsa_match', help: 'Whether the chain an endpoint presents matches the TLSA RRset a server serves (1) or not (0).', samples: m.tlsaMatch.map((x) => ({ labels: { id: x.id, endpoint: x.endpoint, server: x.server }, value: x.match ? 1 : 0 })) },
    { name: 'danehook_rrsig_expiry_seconds', help: 'Seconds until the earliest RRSIG over the RRset expires, per authoritative server.', samples: m.rrsigExpiry.map((x) => ({ labels: { id: x.id, name: x.name, server: x.server }, value: x.seconds })) },
    { name: 'danehook_certificate_expiry_seconds', help: 'Seconds until the live certificate expires.', samples: m.certificateExpiry.map((x) => ({ labels: { id: x.id }, value: x.seconds })) },
    { name: 'danehook_check_duration_seconds', help: 'How long the check took.', samples: [{ labels: {}, value: m.durationSeconds }] },
  ];
}
