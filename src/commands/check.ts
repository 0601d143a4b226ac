// `danehook check`: read-only monitoring, no lock (it never blocks a running post-deploy, nor is
// blocked by one). Findings one per line (or --json), a node_exporter textfile (--prometheus), and
// the monitoring-plugin exit codes 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN instead of sysexits.
import { loadConfig } from '../config/load.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { closeSession, openSession } from '../rollover/session.js';
import { checkDkimEntry } from '../check/dkim.js';
import { EXIT_CODES, formatFindingLine, formatSummaryLine, summarize, type Finding } from '../check/finding.js';
import { computeGauges, formatGauges, type Measurements } from '../check/prometheus.js';
import { checkTlsEntry } from '../check/tls.js';
import type { CheckContext } from '../check/context.js';
import type { CommandContext } from './context.js';

/**
 * BIND (dnssec-policy), Knot and PowerDNS re-sign well before 5 days of validity remain, so an
 * RRSIG with less than 3 days left means re-signing stopped. A certificate is warned about from
 * 14 days (or --warn-days, if larger) before expiry: ACME clients renew at about 30 days.
 */
export const DEFAULT_WARN_DAYS = 3;
export const CERTIFICATE_WARN_DAYS = 14;

export async function checkCommand(ctx: CommandContext): Promise<number> {
  const started = Date.now();
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env, offline: true });
  for (const w of loaded.warnings) ctx.log.warn(w);
  const ids = [...loaded.config.certificates, ...loaded.config.dkim].map((e) => e.id);
  if (ctx.options.id && !ids.includes(ctx.options.id)) {
    // A monitoring plugin that cannot check says UNKNOWN (3), whatever went wrong.
    ctx.out(`UNKNOWN ${ctx.options.id} --id: no certificates[] or dkim[] entry has that id (configured: ${ids.join(', ')})\n`);
    return EXIT_CODES.UNKNOWN;
  }
  // Read-only: no lock, dry-run semantics (nothing is ever written but the textfile).
  const s = await openSession({ ...ctx, options: { ...ctx.options, dryRun: true } }, loaded, { lock: false });
  const m: Measurements = { tlsaMatch: [], rrsigExpiry: [], certificateExpiry: [], durationSeconds: 0 };
  const warnDays = ctx.options.warnDays ?? DEFAULT_WARN_DAYS;
  const cc: CheckContext = { s, warnMs: warnDays * 86_400_000, certificateWarnMs: Math.max(warnDays, CERTIFICATE_WARN_DAYS) * 86_400_000, now: ctx.now(), findings: [], m, dsByZone: new Map() };
  try {
    await Promise.all(ids.filter((id) => !ctx.options.id || id === ctx.options.id).map(async (id) => {
      try {
        await (s.kindOf(id) === 'dkim' ? checkDkimEntry(cc, id) : checkTlsEntry(cc, id));
      } catch (err) {
        cc.findings.push({ severity: 'UNKNOWN', id, check: 'rrset', subject: id, message: `check failed: ${(err as Error).message}` });
      }
    }));
  } finally {
    closeSession(s);
  }
  const findings: Finding[] = cc.findings.sort((a, b) => a.id.localeCompare(b.id) || a.check.localeCompare(b.check) || a.subject.localeCompare(b.subject));
  m.durationSeconds = (Date.now() - started) / 1000;
  if (ctx.options.prometheus) writeFileAtomic(ctx.options.prometheus, formatGauges(computeGauges(findings, m)), { mode: 0o644, what: 'writing the textfile' });
  const summary = summarize(findings);
  if (ctx.options.json) ctx.out(JSON.stringify({ findings, summary }, null, 2) + '\n');
  else {
    // Problems on stdout (greppable); what was fine goes to the debug log (-v).
    for (const f of findings.filter((x) => x.severity === 'OK')) ctx.log.debug(formatFindingLine(f));
    ctx.out([...findings.filter((f) => f.severity !== 'OK').map(formatFindingLine), formatSummaryLine(findings)].join('\n') + '\n');
  }
  return EXIT_CODES[summary.status];
}
