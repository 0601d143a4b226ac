// What `status` shows per DKIM entry: the selector in service and when it is due for rotation,
// each rotation with its selector, phase and deadlines (read from the state; no DNS queries).
import type { Session } from '../../rollover/session.js';
import { parseSelector } from './records.js';

export function readDkimStatus(s: Session, ids: string[]) {
  return ids.map((id) => {
    const entry = s.dkimEntry(id);
    const es = s.state.dkim[id];
    const selectorOf = (records: { name: string }[]) => (records[0] ? parseSelector(records[0].name) : null);
    return {
      id, domain: entry.domain, signer: entry.signer.preset,
      live: es?.live ? { selector: selectorOf(es.live.records), spki: es.live.spki, rotateAt: es.live.notAfter, source: es.live.source } : null,
      rollovers: (es?.rollovers ?? []).map((r) => ({
        id: r.id, selector: selectorOf(r.records), phase: r.phase, publishedAt: r.publishedAt, propagatedAt: r.propagatedAt,
        activateAfter: r.activateAfter, activatedAt: r.activatedAt, cleanedAt: r.cleanedAt, lastError: r.lastError,
        records: r.records.map((x) => ({ name: x.name, ttl: x.ttl, txt: x.txt })),
      })),
    };
  });
}

export function formatDkimStatusLines(list: ReturnType<typeof readDkimStatus>): string[] {
  return list.flatMap((d) => [
    `${d.id}: DKIM ${d.domain} (${d.signer}): ${d.live ? `signing with selector ${d.live.selector}, next rotation at ${d.live.rotateAt}` : 'no key in service known'}`,
    ...d.rollovers.map((r) => `  ${r.selector} ${r.phase}${r.phase === 'propagated' ? ` — signer switches after ${r.activateAfter}` : ''}${r.phase === 'activated' ? ' — the previous selector is retired once retain has passed' : ''}${r.lastError ? ` — ${r.lastError}` : ''}`),
  ]);
}
