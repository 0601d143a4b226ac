// `danehook plan`: what `deploy` would publish for a certificate, as zone-file lines, nsupdate lines
// and JSON. With DNS access it also shows the changes against what the primary serves. No writes.
import { computeCertificateRecords, formatCrowdedWarnings, formatLowTtlWarning } from '../core/desired.js';
import { computeIssuerSummaries } from '../core/issuers.js';
import { selectTrustAnchor, type TlsaRecord } from '../core/tlsa.js';
import { formatChangeJson, formatNsupdate, formatRecordJson, formatZoneLine } from '../core/format-plan.js';
import type { Change } from '../providers/types.js';
import { readCertificateInput } from './certificate-input.js';
import type { CommandContext } from './context.js';
import { listConfiguredZones } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { computeAdditions } from '../core/plan.js';
import { unionRecords } from '../core/state-records.js';
import { parseHostPort } from '../io/host-port.js';
import type { DnsRecord } from '../core/rdata.js';
import { isNextKeyAged } from '../core/next-key.js';
import type { NextKey } from '../core/state.js';
import { StateStore } from '../io/state-store.js';

/** The entry's announced next key from the state, read-only; none when there is no readable state. */
function readNextKey(stateDir: string, id: string): NextKey | null {
  try {
    return new StateStore(stateDir).load().state.certificates[id]?.next ?? null;
  } catch {
    return null;
  }
}

export async function planCommand(ctx: CommandContext): Promise<number> {
  if (ctx.options.id) {
    // A dkim[] id: the next rotation's plan (no certificate input).
    const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env, offline: true });
    if (loaded.config.dkim.some((d) => d.id === ctx.options.id)) return (await import('../kinds/dkim/plan.js')).planDkim(ctx, loaded, ctx.options.id);
  }
  const input = await readCertificateInput(ctx, { requireKey: false });
  const { loaded, entry, bundle } = input;
  const dns = loaded.config.dns;
  let ttl = dns.ttl;
  let changes: Change[] | undefined;
  let served: DnsRecord[] = [];
  const server = parseHostPort(dns.server, 53)!; // validated by the config schema

  if (!ctx.options.offline) {
    const { createProvider } = await import('../providers/registry.js');
    const provider = await createProvider({ dns, secret: loaded.secret, zones: listConfiguredZones(loaded.config), env: ctx.env, log: ctx.log });
    const owners = [...new Set(computeCertificateRecords(entry, bundle, ttl).map((r) => r.name))];
    const existing = await provider.listRecords(owners);
    served = [...existing.values()].flatMap((rs) => rs.records.map((rdata) => ({ name: rs.name, ttl: 0, rdata })));
    // An existing RRset keeps its TTL: RFC 2181 §5.2 forbids differing TTLs within one RRset.
    const ttls = [...existing.values()].map((s) => s.ttl).filter((t): t is number => t !== null);
    if (ttls.length > 0) ttl = Math.max(...ttls);
    changes = computeAdditions(computeCertificateRecords(entry, bundle, ttl), existing);
  }

  const records = computeCertificateRecords(entry, bundle, ttl);
  const lowTtl = formatLowTtlWarning(entry.id, records);
  if (lowTtl) ctx.log.warn(lowTtl);
  // What the RRset holds while this certificate's records sit beside the ones served now.
  for (const w of formatCrowdedWarnings(entry.id, unionRecords(records, served))) ctx.log.warn(w);
  const issuers = entry.issuers && computeIssuerSummaries(entry.issuers, entry.tlsa, selectTrustAnchor(bundle, entry.trustAnchor));

  const next = readNextKey(loaded.config.stateDir, entry.id);
  const nextView = next && { spki: next.spki, source: next.source, phase: next.phase, since: next.propagatedAt, agedAt: next.activateAfter, records: next.records.map((r) => `${r.name} TLSA ${r.tlsa}`) };
  // The path this certificate would take: its key is the announced next key (at once once aged) or not.
  const usesNext = next?.spki === input.spkiHash;
  const pathText = usesNext ? (isNextKeyAged(next!, ctx.now()) ? 'next key, aged: would go live at once' : next!.activateAfter ? `next key, not aged until ${next!.activateAfter}: would go live then` : 'next key, not yet served by every server: would wait delayFactor × TTL like a new key') : undefined;

  if (ctx.options.json) {
    const result: Record<string, unknown> = { id: entry.id, records: records.map(formatRecordJson), changes: (changes ?? []).map(formatChangeJson), next: nextView ?? null };
    if (pathText) result.path = pathText;
    if (issuers) result.issuers = issuers;
    if (ctx.options.offline) result.offline = true;
    ctx.out(JSON.stringify(result, null, 2) + '\n');
    return 0;
  }
  const lines = [
    `; danehook plan for "${entry.id}": ${bundle.leaf.dnsNames.join(', ')} (${bundle.key?.description ?? 'no key given'}), valid until ${bundle.leaf.notAfter.toISOString()}`,
    `; SPKI SHA-256 ${input.spkiHash}`,
    ...(issuers ?? []).map((i) => `; issuer set (${i.source}): ${i.subject}, SPKI SHA-256 ${i.spki}, until ${i.notAfter}${i.signedThis ? ' (signed this certificate)' : ''}`),
    '; zone file',
    ...records.map(formatZoneLine),
    '; nsupdate',
    formatNsupdate(changes ?? records.map((r) => ({ op: 'create' as const, ...r })), server),
  ];
  if (nextView) lines.push(`; next key SPKI ${nextView.spki} (${nextView.source}, ${nextView.phase}${nextView.agedAt ? `, aged at ${nextView.agedAt}` : ''}):`, ...nextView.records.map((r) => `;   ${r}`));
  if (pathText) lines.push(`; this certificate's key is the next key: ${pathText}`);
  if (changes) lines.push(changes.length === 0 ? '; no changes: DNS already has every record' : `; ${changes.length} change(s) against the primary`);
  else lines.push('; offline: changes against DNS not computed');
  ctx.out(lines.join('\n') + '\n');
  return 0;
}
