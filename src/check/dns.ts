// DNS side of `check`, per entry: every authoritative server (every address of every NS) serves
// the expected RRset, the same one, signed (RRSIG present, not expiring within --warn-days, RFC
// 4034 §3.1.5); the zone is signed and its chain of trust validates (DS at the parent → DNSKEY →
// RRSIG), checked through the configured validating resolver (AD bit, RFC 4035 §3.2.3).
import { formatRdata, rdataType, type DnsRecord, type RecordType } from '../core/rdata.js';
import { UnavailableError } from '../errors.js';
import { containsAll } from '../core/state-records.js';
import { formatHostPort, parseHostPort } from '../io/host-port.js';
import { groupByZone } from '../rollover/records.js';
import { isZoneSigned } from '../rollover/propagation.js';
import { describeDays, type CheckContext } from './context.js';

/** The RRset each server serves, keyed by "zone@host:port" (absent: it did not answer). */
export type ServedBy = Map<string, DnsRecord[]>;

const short = (r: DnsRecord) => `${rdataType(r.rdata)} ${formatRdata(r.rdata).slice(0, 40)}…`;


/**
 * What servers must serve: `must` (the live credentials', and those about to go live) — missing is
 * CRITICAL; `pending` (published, still propagating, and the next key) — missing is a WARNING
 * while propagation may still be under way.
 */
export interface Expected {
  must: DnsRecord[];
  pending: DnsRecord[];
}

export async function checkRRsets(ctx: CheckContext, id: string, type: RecordType, names: string[], want: Expected, opts: { needsDnssec: boolean }): Promise<ServedBy> {
  const expected = [...want.must, ...want.pending];
  const { s, findings } = ctx;
  const served: ServedBy = new Map();
  const resolver = await s.resolver();
  for (const [zone, zoneNames] of await groupByZone(s, names)) {
    const signed = await isZoneSigned(s, zone).catch(() => undefined);
    if (signed === false && opts.needsDnssec) findings.push({ severity: 'CRITICAL', id, check: 'rrsig', subject: zone, message: 'zone is not signed: DANE needs DNSSEC (RFC 7671 §1.3)' });
    await checkChain(ctx, id, zone, zoneNames[0]!, type, opts.needsDnssec);
    const servers = await s.nameservers(zone);
    await Promise.all(servers.map(async (ns) => {
      const server = formatHostPort(ns);
      const key = `${zone}@${server}`;
      try {
        const answers = await Promise.all(zoneNames.map((n) => resolver.querySigned(ns, n, type)));
        const records = answers.flatMap((a) => (a.authoritative ? a.rrset.records.map((rdata) => ({ name: a.rrset.name, ttl: a.rrset.ttl ?? 0, rdata })) : []));
        served.set(key, records);
        const missing = want.must.filter((r) => zoneNames.includes(r.name) && !containsAll(records, [r]));
        const late = want.pending.filter((r) => zoneNames.includes(r.name) && !containsAll(records, [r]));
        const extra = records.filter((r) => !containsAll(expected, [r]));
        if (late.length > 0) findings.push({ severity: 'WARNING', id, check: 'rrset', subject: late[0]!.name, server, message: `${server} does not serve ${late.length} record(s) still propagating, e.g. ${short(late[0]!)}` });
        for (const a of answers) {
          if (!a.authoritative) findings.push({ severity: 'CRITICAL', id, check: 'rrset', subject: a.rrset.name, server, message: `${server} is not authoritative for ${a.rrset.name}` });
        }
        if (missing.length > 0) findings.push({ severity: 'CRITICAL', id, check: 'rrset', subject: missing[0]!.name, server, message: `${server} does not serve ${missing.length} expected record(s), e.g. ${short(missing[0]!)}` });
        else if (late.length === 0) findings.push({ severity: 'OK', id, check: 'rrset', subject: zoneNames.join(','), server, message: `${server} serves every expected ${type} record` });
        if (extra.length > 0) findings.push({ severity: 'WARNING', id, check: 'rrset', subject: extra[0]!.name, server, message: `${server} serves ${extra.length} record(s) no live, pending or next credential explains, e.g. ${short(extra[0]!)}` });
        if (signed) checkSignatures(ctx, id, server, answers.map((a) => ({ name: a.rrset.name, count: a.rrset.records.length, expirations: a.rrsigs.map((g) => g.expiration.getTime()) })));
      } catch (err) {
        findings.push({ severity: 'UNKNOWN', id, check: 'rrset', subject: zone, server, message: `${server} did not answer: ${(err as Error).message}` });
      }
    }));
  }
  checkAgreement(ctx, id, served, want.pending, formatHostPort(parseHostPort(s.loaded.config.dns.server, 53)!));
  return served;
}

/**
 * RFC 6698 A.4: every server serves the same RRset; one that differs is stale (or ahead). Records
 * still propagating are left out: a server a little behind with those is a WARNING above.
 */
function checkAgreement(ctx: CheckContext, id: string, served: ServedBy, pending: DnsRecord[], primary: string): void {
  const keyOf = (rs: DnsRecord[]) => rs.filter((r) => !containsAll(pending, [r])).map((r) => `${r.name} ${formatRdata(r.rdata)}`).sort().join('\n');
  const byZone = new Map<string, [string, string][]>();
  for (const [key, rs] of served) {
    const [zone, server] = key.split('@') as [string, string];
    byZone.set(zone, [...(byZone.get(zone) ?? []), [server, keyOf(rs)]]);
  }
  for (const [zone, list] of byZone) {
    const counts = new Map<string, number>();
    for (const [, k] of list) counts.set(k, (counts.get(k) ?? 0) + 1);
    if (counts.size <= 1) continue;
    // The primary's copy is the reference (UPDATEs land there first); else what most serve.
    const majority = list.find(([server]) => server === primary)?.[1] ?? [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    for (const [server, k] of list.filter(([, k]) => k !== majority)) {
      const than = list.some(([sv]) => sv === primary) ? 'the primary' : 'most servers';
      ctx.findings.push({ severity: 'CRITICAL', id, check: 'rrset', subject: zone, server, message: `${server} serves a different RRset than ${than}: stale or diverged (${k.split('\n').filter(Boolean).length} vs ${majority.split('\n').filter(Boolean).length} records)` });
    }
  }
}

/** RRSIG over each non-empty RRset: present, and its earliest expiration beyond --warn-days. */
function checkSignatures(ctx: CheckContext, id: string, server: string, rrsets: { name: string; count: number; expirations: number[] }[]): void {
  for (const r of rrsets.filter((x) => x.count > 0)) {
    if (r.expirations.length === 0) {
      ctx.findings.push({ severity: 'CRITICAL', id, check: 'rrsig', subject: r.name, server, message: `${server} serves ${r.name} without an RRSIG in a signed zone: validating resolvers reject it` });
      continue;
    }
    const left = Math.min(...r.expirations) - ctx.now.getTime();
    ctx.m.rrsigExpiry.push({ id, name: r.name, server, seconds: Math.round(left / 1000) });
    const when = new Date(Math.min(...r.expirations)).toISOString();
    if (left <= 0) ctx.findings.push({ severity: 'CRITICAL', id, check: 'rrsig', subject: r.name, server, message: `RRSIG at ${server} expired ${when}` });
    else if (left < ctx.warnMs) ctx.findings.push({ severity: 'WARNING', id, check: 'rrsig', subject: r.name, server, message: `RRSIG at ${server} expires ${when} (in ${describeDays(left)}, warn-days ${describeDays(ctx.warnMs)})` });
    else ctx.findings.push({ severity: 'OK', id, check: 'rrsig', subject: r.name, server, message: `RRSIG at ${server} valid until ${when}` });
  }
}

/** DS at the parent and a validated answer, through the configured validating resolver. */
async function checkChain(ctx: CheckContext, id: string, zone: string, name: string, type: RecordType, needsDnssec: boolean): Promise<void> {
  const { s, findings } = ctx;
  const configured = s.loaded.config.dnssec?.resolver;
  if (!configured) {
    if (needsDnssec) findings.push({ severity: 'UNKNOWN', id, check: 'chain', subject: zone, message: 'chain of trust not checked: configure dnssec.resolver (a validating resolver; its AD bit is trusted)' });
    return;
  }
  const via = parseHostPort(configured, 53)!;
  const resolver = await s.resolver();
  try {
    let asked = ctx.dsByZone.get(zone);
    if (!asked) ctx.dsByZone.set(zone, (asked = resolver.queryValidated(via, zone, 'DS')));
    const ds = await asked;
    if (ds.count === 0) findings.push({ severity: needsDnssec ? 'CRITICAL' : 'WARNING', id, check: 'ds', subject: zone, message: `no DS for ${zone} at its parent (resolver ${configured}): the zone is insecure` });
    else findings.push({ severity: 'OK', id, check: 'ds', subject: zone, message: `DS for ${zone} at its parent${ds.ad ? ', validated' : ''} (resolver ${configured})` });
    const answer = await resolver.queryValidated(via, name, type);
    if (answer.ad) findings.push({ severity: 'OK', id, check: 'chain', subject: name, message: `${type} validated by resolver ${configured} (AD)` });
    else if (needsDnssec) findings.push({ severity: 'CRITICAL', id, check: 'chain', subject: name, message: `resolver ${configured} did not validate ${name} ${type} (no AD): DANE clients treat it as insecure` });
  } catch (err) {
    // No answer says nothing about the chain (UNKNOWN); SERVFAIL from a validating resolver is its
    // verdict "bogus" (RFC 4035 §5.5), the chain is broken (CRITICAL).
    if (err instanceof UnavailableError) findings.push({ severity: 'UNKNOWN', id, check: 'chain', subject: name, message: `validating resolver ${configured} did not answer: ${err.message}` });
    else findings.push({ severity: 'CRITICAL', id, check: 'chain', subject: name, message: `validating resolver ${configured} failed for ${name} ${type}: ${(err as Error).message} (SERVFAIL means bogus)` });
  }
}
