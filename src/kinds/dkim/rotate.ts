// Start a DKIM rotation: learn the key the signer uses now (adoption), generate the next key
// (0600, staged under stateDir), choose a selector never used before, and publish its TXT record
// beside the live one. The timer's post-deploy starts one when `every` has passed; `danehook dkim
// rotate` starts one at once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Rollover } from '../../core/state.js';
import { toStateRecord } from '../../core/state-records.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { stagedPath } from '../../io/files.js';
import { publishRollover } from '../../rollover/publish.js';
import type { Session } from '../../rollover/session.js';
import { generateDkimKey, readDkimKey, stateKeyType } from './key.js';
import { computeDkimRecord, computeSelector, formatDkimOwner, parseSelector } from './records.js';
import { readSignerKey } from './signer.js';

/**
 * The key the signer uses now becomes the live one (records = what DNS serves at its selector):
 * it stays published until the new key has taken over and `retain` has passed, and — being served
 * with — is then retired like any key danehook published.
 */
async function adoptSignerKey(s: Session, id: string): Promise<void> {
  const es = s.entryState(id);
  if (es.liveKnown) return;
  const entry = s.dkimEntry(id);
  const current = readSignerKey(entry);
  if (current) {
    const name = formatDkimOwner(current.selector, entry.domain);
    const served = (await (await s.provider()).listRecords([name], 'TXT')).get(name);
    const records = (served?.records ?? []).map((rdata) => toStateRecord({ name, ttl: served?.ttl ?? 0, rdata }));
    const key = readDkimKey(current.keyFile);
    es.live = { spki: key.spki, fingerprint: key.spki, notAfter: s.now().toISOString(), records, source: 'installed-files' };
    es.owned = [...es.owned, ...records];
    s.ctx.log.info(`"${id}": the ${entry.signer.preset} signer uses selector ${current.selector} now; it stays published until the new key took over and ${Math.round(entry.retain / 3_600_000)}h passed`);
  }
  es.liveKnown = true;
  s.save();
}

export async function startRotation(s: Session, id: string, why: string): Promise<Rollover> {
  const entry = s.dkimEntry(id);
  const es = s.entryState(id);
  await adoptSignerKey(s, id);
  const used = new Set([...es.rollovers.flatMap((r) => r.records), ...(es.live?.records ?? []), ...es.owned].map((r) => parseSelector(r.name)));
  const now = s.now();
  const selector = computeSelector(entry.selector, id, now, used);
  const key = generateDkimKey(entry.keyType);
  const ttl = entry.ttl ?? s.loaded.config.dns.ttl;
  const rolloverId = `${selector}-${now.getTime().toString(36)}`.slice(0, 63).replace(/[^a-z0-9-]/g, '-');
  const r: Rollover = {
    id: rolloverId, phase: 'staged', spki: key.spki, fingerprint: key.spki,
    notAfter: new Date(now.getTime() + entry.every).toISOString(), keyType: stateKeyType(entry.keyType),
    stagedDir: `staged/${id}/${rolloverId}`,
    records: [toStateRecord(computeDkimRecord(selector, entry.domain, ttl, entry.keyType, key.spkiDer))],
    replacedTtl: null, alreadyServed: false, createdAt: now.toISOString(),
    publishedAt: null, propagatedAt: null, activateAfter: null, activatedAt: null, cleanedAt: null,
    servers: {}, attempts: 0, lastError: null, path: 'new-key',
  };
  s.ctx.log.info(`"${id}": starting a DKIM rotation of ${entry.domain} to selector ${selector} (${why})`);
  if (s.dryRun) return publishRollover(s, id, r);
  const dir = join(s.loaded.config.stateDir, r.stagedDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(stagedPath(s.loaded.config.stateDir, r.stagedDir, 'key'), key.pem, { mode: 0o600, what: 'staging DKIM key' });
  es.rollovers.push(r);
  s.event({ id, rollover: r.id, event: 'phase', phase: 'staged', selector, spki: r.spki });
  s.save();
  const published = await publishRollover(s, id, r).catch((err: Error) => {
    es.rollovers = es.rollovers.map((x) => (x.id === r.id ? { ...x, lastError: err.message, attempts: x.attempts + 1 } : x));
    s.save();
    throw err;
  });
  es.rollovers = es.rollovers.map((x) => (x.id === r.id ? published : x));
  s.save();
  return published;
}
