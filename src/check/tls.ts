// One certificate entry under `check`: the RRset every server serves (live ∪ pending ∪ next key,
// of every entry sharing the names), what every address of every endpoint presents against each
// server's RRset (RFC 7671 rules, per key type), certificate expiry, stuck rollovers, the next
// key's records, and RRsets over 12 records.
import { computeOwners, computeRequiredRecords, MAX_RECORDS_PER_NAME } from '../core/desired.js';
import { isPending } from '../core/phases.js';
import type { DnsRecord } from '../core/rdata.js';
import { containsAll, fromStateRecords } from '../core/state-records.js';
import { listEntryStates } from '../core/state.js';
import { formatKeyType } from '../core/key-type.js';
import { formatHostPort } from '../io/host-port.js';
import { computeKeyTypes, readLiveKeyType, readRolloverKeyType } from '../kinds/tls/key-types.js';
import { computeProbeTargets, probeEndpoints } from '../kinds/tls/probe.js';
import { describeDays, type CheckContext } from './context.js';
import { checkRRsets } from './dns.js';

/** A pending rollover unchanged this long (or rolled back) needs a person. */
export const STUCK_AFTER_MS = 24 * 3_600_000;

export async function checkTlsEntry(ctx: CheckContext, id: string): Promise<void> {
  const { s, findings } = ctx;
  const entry = s.entry(id);
  const es = s.entryState(id);
  const names = computeOwners(entry);
  const at = (rs: DnsRecord[]) => rs.filter((r) => names.includes(r.name));
  // Still propagating: staged or published rollovers and the next key (of every entry sharing the names).
  const pending = at(listEntryStates(s.state).flatMap((x) => [
    ...x.rollovers.filter((r) => r.phase === 'staged' || r.phase === 'published').flatMap((r) => fromStateRecords(r.records)),
    ...fromStateRecords(x.next?.records ?? []),
  ]));
  const must = at(computeRequiredRecords(s.state)).filter((r) => !containsAll(pending, [r]));
  const served = await checkRRsets(ctx, id, 'TLSA', names, { must, pending }, { needsDnssec: true });

  for (const name of names) {
    const most = Math.max(0, ...[...served.values()].map((rs) => rs.filter((r) => r.name === name).length));
    if (most > MAX_RECORDS_PER_NAME) findings.push({ severity: 'WARNING', id, check: 'rrset-size', subject: name, message: `${most} TLSA records: some large receivers ignore RRsets of more than ${MAX_RECORDS_PER_NAME}` });
  }
  await checkEndpoints(ctx, id, served);
  checkLifecycle(ctx, id);
  if (entry.nextKey.mode !== 'off' && es.next?.phase === 'propagated') {
    const missing = [...served].filter(([, rs]) => !containsAll(rs, fromStateRecords(es.next!.records)));
    for (const [server] of missing) findings.push({ severity: 'WARNING', id, check: 'next-key', subject: names[0]!, server, message: `${server} does not serve the next key's records (SPKI ${es.next.spki.slice(0, 16)}…): the next renewal would wait` });
  }
}

/** Every endpoint address, per key type, against each distinct RRset the servers serve. */
async function checkEndpoints(ctx: CheckContext, id: string, served: Map<string, DnsRecord[]>): Promise<void> {
  const { s, findings } = ctx;
  const entry = s.entry(id);
  const es = s.entryState(id);
  const targets = await computeProbeTargets(s, entry).catch(() => []);
  if (targets.length === 0) return;
  const keyTypes = computeKeyTypes(readLiveKeyType(entry, es), ...es.rollovers.filter((r) => isPending(r.phase)).map((r) => readRolloverKeyType(s, r)));
  // Servers serving the very same RRset share one probe run.
  const groups = new Map<string, { servers: string[]; records: DnsRecord[] }>();
  for (const [server, records] of served) {
    const key = records.map((r) => `${r.name} ${JSON.stringify(r.rdata)}`).sort().join('\n');
    const g = groups.get(key) ?? { servers: [], records };
    g.servers.push(server.split('@')[1]!);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    // probeEndpoints answers in the order of its targets.
    const verdicts = await probeEndpoints(targets, g.records, { graceMs: 0, allParams: false, keyTypes });
    verdicts.forEach((v, i) => {
      const t = targets[i]!;
      const endpoint = formatHostPort(t);
      const types = keyTypes.length ? ` (${keyTypes.map(formatKeyType).join(', ')})` : '';
      for (const server of g.servers) {
        ctx.m.tlsaMatch.push({ id, endpoint, server, match: v.ok });
        findings.push(v.ok
          ? { severity: 'OK', id, check: 'endpoint', subject: t.owner, endpoint, server, message: `presents a chain matching the RRset served by ${server}${types}` }
          : { severity: 'CRITICAL', id, check: 'endpoint', subject: t.owner, endpoint, server, message: `${v.detail} (RRset served by ${server}${types})` });
      }
    });
  }
}

/** Certificate expiry (when nothing is on its way) and rollovers that stopped moving. */
function checkLifecycle(ctx: CheckContext, id: string): void {
  const { s, findings, now } = ctx;
  const es = s.entryState(id);
  const pending = es.rollovers.filter((r) => isPending(r.phase));
  if (es.live) {
    const left = Date.parse(es.live.notAfter) - now.getTime();
    ctx.m.certificateExpiry.push({ id, seconds: Math.round(left / 1000) });
    if (left <= 0) findings.push({ severity: 'CRITICAL', id, check: 'certificate', subject: id, message: `the live certificate expired ${es.live.notAfter}` });
    else if (left < ctx.certificateWarnMs && pending.length === 0) findings.push({ severity: 'WARNING', id, check: 'certificate', subject: id, message: `the live certificate expires ${es.live.notAfter} (in ${describeDays(left)}) and no renewal is pending` });
    else findings.push({ severity: 'OK', id, check: 'certificate', subject: id, message: `the live certificate is valid until ${es.live.notAfter}` });
  }
  for (const r of pending) {
    const since = Date.parse(r.publishedAt ?? r.createdAt);
    if (r.phase === 'rolled-back') findings.push({ severity: 'WARNING', id, check: 'rollover', subject: r.id, message: `rolled back: ${r.lastError ?? 'see the event log'}; "danehook deploy --id ${id} --retry" once fixed` });
    else if (now.getTime() - since > STUCK_AFTER_MS && r.lastError) findings.push({ severity: 'WARNING', id, check: 'rollover', subject: r.id, message: `${r.phase} for ${describeDays(now.getTime() - since)}: ${r.lastError}` });
  }
}
