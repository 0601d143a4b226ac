// `danehook status [--json]`: per id the live certificate, rollovers with phases and deadlines,
// each authoritative server's view of pending records, records in DNS no certificate explains, and
// renewals queued in the inbox (not accepted yet) or set aside as unacceptable.
import { loadConfig } from '../config/load.js';
import { computeOwners } from '../core/desired.js';
import { computeForeign } from '../core/plan.js';
import { computeIssuerSummaries, type IssuerSummary } from '../core/issuers.js';
import { ACTIVE_PHASES } from '../core/state.js';
import { formatRdata } from '../core/rdata.js';
import { fromStateRecords, toStateRecord } from '../core/state-records.js';
import { StateStore } from '../io/state-store.js';
import { INBOX_DIR, listInboxItems, listRejectedItems, readInboxItem, REJECTED_DIR } from '../io/inbox.js';
import type { InboxItem } from '../core/inbox-item.js';
import { observeServers } from '../rollover/propagation.js';
import { closeSession, openSession } from '../rollover/session.js';
import type { CommandContext } from './context.js';
import type { NextKey } from '../core/state.js';
import { describePath } from '../kinds/tls/path-text.js';
import { formatDkimStatusLines, readDkimStatus } from '../kinds/dkim/status.js';

/** The next key as status shows it: since = every server serves it; agedAt = a renewal with it needs no wait. */
function formatNextView(n: NextKey) {
  return {
    spki: n.spki, source: n.source, keyPath: n.keyPath, phase: n.phase, publishedAt: n.publishedAt,
    since: n.propagatedAt, agedAt: n.activateAfter, records: n.records.map((r) => `${r.name} TLSA ${r.tlsa}`), lastError: n.lastError,
  };
}

/** Queued renewals by entry id; an unreadable item is listed under '' (the next drain sets it aside). */
function readQueued(stateDir: string): Map<string, { file: string; client: string; receivedAt: string; spki: string }[]> {
  const byId = new Map<string, { file: string; client: string; receivedAt: string; spki: string }[]>();
  for (const name of listInboxItems(stateDir)) {
    let item: InboxItem | undefined;
    try {
      item = readInboxItem(stateDir, name);
    } catch {
      /* damaged or gone: listed without details */
    }
    const id = item?.id ?? '';
    byId.set(id, [...(byId.get(id) ?? []), { file: `${INBOX_DIR}/${name}`, client: item?.client ?? '?', receivedAt: item?.receivedAt ?? '?', spki: item?.spki ?? '?' }]);
  }
  return byId;
}

export async function statusCommand(ctx: CommandContext): Promise<number> {
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env });
  for (const w of loaded.warnings) ctx.log.warn(w);
  const queued = readQueued(loaded.config.stateDir);
  const rejected = listRejectedItems(loaded.config.stateDir).map((n) => `${REJECTED_DIR}/${n}`);
  // Status never writes: a read-only session (no lock, dry-run semantics).
  const s = await openSession({ ...ctx, options: { ...ctx.options, dryRun: true } }, loaded, { lock: false });
  const certificates = [];
  try {
    for (const entry of loaded.config.certificates) {
      if (ctx.options.id && entry.id !== ctx.options.id) continue;
      const es = s.state.certificates[entry.id];
      const rollovers = [];
      for (const r of es?.rollovers ?? []) {
        const view = !ctx.options.offline && ACTIVE_PHASES.includes(r.phase) && r.phase !== 'staged' ? await observeServers(s, r).catch(() => []) : undefined;
        rollovers.push({
          id: r.id, phase: r.phase, spki: r.spki, publishedAt: r.publishedAt, propagatedAt: r.propagatedAt,
          activateAfter: r.activateAfter, activatedAt: r.activatedAt, cleanedAt: r.cleanedAt, lastError: r.lastError,
          path: r.path ?? null, pathText: describePath(r, s.now()),
          ...(view ? { servers: Object.fromEntries(view.map((o) => [o.server, o.servesAll ? 'serves new records' : 'missing new records'])) } : {}),
        });
      }
      let foreign: ReturnType<typeof toStateRecord>[] | undefined;
      let issuers: (IssuerSummary & { served?: boolean })[] | undefined = entry.issuers && computeIssuerSummaries(entry.issuers, entry.tlsa);
      if (!ctx.options.offline) {
        const provider = await s.provider();
        const existing = await provider.listRecords(computeOwners(entry));
        foreign = computeForeign(existing, fromStateRecords(es?.owned ?? [])).map(toStateRecord);
        // Served: the primary has this CA's records at every owner name (a renewal from it needs no wait).
        const at = (name: string) => (existing.get(name)?.records ?? []).map(formatRdata);
        issuers = issuers?.map((i) => ({ ...i, served: computeOwners(entry).every((n) => i.records.every((r) => at(n).includes(r))) }));
      }
      certificates.push({
        id: entry.id,
        live: es?.live ? { spki: es.live.spki, notAfter: es.live.notAfter, source: es.live.source } : null,
        liveKnown: es?.liveKnown ?? false,
        next: es?.next ? formatNextView(es.next) : null,
        rollovers,
        queued: queued.get(entry.id) ?? [],
        ...(foreign ? { foreignRecords: foreign } : {}),
        ...(issuers ? { issuers } : {}),
      });
    }
  } finally {
    closeSession(s);
  }
  const dkim = readDkimStatus(s, loaded.config.dkim.filter((d) => !ctx.options.id || d.id === ctx.options.id).map((d) => d.id));
  const configured = new Set(loaded.config.certificates.map((c) => c.id));
  const unassigned = [...queued].filter(([id]) => !configured.has(id)).flatMap(([, items]) => items.map((i) => i.file));
  if (ctx.options.json) {
    ctx.out(JSON.stringify({ stateDir: new StateStore(loaded.config.stateDir).dir, certificates, dkim, inbox: { unassigned, rejected } }, null, 2) + '\n');
    return 0;
  }
  const lines: string[] = [];
  for (const c of certificates) {
    lines.push(`${c.id}: live ${c.live ? `SPKI ${c.live.spki.slice(0, 16)}… until ${c.live.notAfter}` : c.liveKnown ? 'none installed' : 'unknown'}`);
    for (const r of c.rollovers) {
      const when =
        r.phase === 'propagated' ? ` activates after ${r.activateAfter}` : r.phase === 'published' ? ` published ${r.publishedAt}` : r.phase === 'staged' ? ' (not published yet; post-deploy publishes it when DNS answers)' : '';
      lines.push(`  ${r.id} ${r.phase}${when} (${r.pathText})${r.lastError ? ` — ${r.lastError}` : ''}`);
      for (const [server, view] of Object.entries(r.servers ?? {})) lines.push(`    ${server}: ${view}`);
    }
    if (c.next) {
      const n = c.next;
      const state = n.phase === 'propagated' ? `served by every server since ${n.since}; a renewal with it goes live at once from ${n.agedAt}` : n.phase === 'published' ? `published ${n.publishedAt}, waiting for every server` : 'chosen, not published yet';
      lines.push(`  next key SPKI ${n.spki.slice(0, 16)}… (${n.source}${n.source === 'generated' ? `, ${n.keyPath}` : ''}): ${state}${n.lastError ? ` — ${n.lastError}` : ''}`);
    }
    for (const q of c.queued) lines.push(`  queued renewal SPKI ${q.spki.slice(0, 16)}… from ${q.client}, received ${q.receivedAt} (${q.file}): the next run holding the lock publishes it`);
    for (const f of c.foreignRecords ?? []) lines.push(`  not ours (kept): ${f.name} TLSA ${f.tlsa}`);
    for (const i of c.issuers ?? []) lines.push(`  issuer set (${i.source}): ${i.subject} ${i.records.join(', ')}${i.served === undefined ? '' : i.served ? ' (served)' : ' (not served yet)'}`);
  }
  lines.push(...formatDkimStatusLines(dkim));
  for (const f of unassigned) lines.push(`queued renewal ${f} belongs to no configured entry or is damaged: the next post-deploy sets it aside`);
  for (const f of rejected) lines.push(`set aside, never accepted: ${f} (the log of the run that moved it says why)`);
  ctx.out(lines.join('\n') + '\n');
  return 0;
}
