// The lock holder's first duty: accept every queued renewal (stateDir/inbox) in arrival order,
// exactly as `deploy` would. An item leaves the inbox only once the state carries its certificate,
// or is set aside when it can never be accepted; anything passing keeps it for the next holder.
import { assembleBundle, checkBundle, computeCertFingerprint, computeSpkiHash } from '../core/certificate.js';
import { parsePemBlocks } from '../core/pem.js';
import { CertificateError, ExitCode, toDanehookError, type DanehookError } from '../errors.js';
import { listInboxItems, readInboxItem, rejectInboxItem, removeInboxItem, removeStaleInboxTemps } from '../io/inbox.js';
import type { InboxItem } from '../core/inbox-item.js';
import { acceptRenewal, isKnownRenewal, type AcceptOutcome, type Renewal } from '../kinds/tls/accept.js';
import type { Session } from './session.js';

export interface DrainResult {
  name: string;
  id: string | undefined;
  outcome?: AcceptOutcome;
  error?: DanehookError;
  /** Where the item went: accepted (removed), rejected (set aside), kept (retried later). */
  disposition: 'accepted' | 'rejected' | 'kept';
}

/** A renewal from an item, checked as deploy checks the client's files (the config may have changed). */
function computeRenewal(s: Session, item: InboxItem, source: string): Renewal {
  const entry = s.loaded.config.certificates.find((c) => c.id === item.id);
  if (!entry) throw new CertificateError(`${source}: no certificates[] entry "${item.id}" any more`);
  const blocks = parsePemBlocks(item.pem, source);
  const bundle = assembleBundle(blocks, blocks.find((b) => b.label === 'CERTIFICATE')?.der);
  checkBundle(bundle, { domains: entry.domains, now: s.now(), requireKey: true });
  const fingerprint = computeCertFingerprint(bundle.leaf.der);
  if (fingerprint !== item.fingerprint) throw new CertificateError(`${source}: the certificate does not match the item's fingerprint`);
  return { entry, bundle, spkiHash: computeSpkiHash(bundle.leaf.spki), fingerprint, client: item.client, ...(item.nextKey ? { nextKey: item.nextKey } : {}) };
}

/** Bad data or a usage problem never fixes itself: retrying such an item forever helps nobody. */
function isPermanent(e: DanehookError): boolean {
  return e.exitCode === ExitCode.data || e.exitCode === ExitCode.usage;
}

/** `own`: the item of the calling deploy, whose error it reports itself (the others' are logged here). */
export async function drainInbox(s: Session, own?: string): Promise<DrainResult[]> {
  if (s.dryRun) return [];
  const stateDir = s.loaded.config.stateDir;
  for (const t of removeStaleInboxTemps(stateDir, s.now())) s.ctx.log.info(`removed inbox/${t}, left by a deploy killed while queueing`);
  const results: DrainResult[] = [];
  for (const name of listInboxItems(stateDir)) {
    const source = `queued renewal inbox/${name}`;
    let item: InboxItem | undefined;
    let renewal: Renewal | undefined;
    try {
      item = readInboxItem(stateDir, name);
      renewal = computeRenewal(s, item, source);
      s.ctx.log.info(`"${item.id}": accepting ${source} (from ${item.client}, received ${item.receivedAt})`);
      const outcome = await acceptRenewal(s, renewal);
      removeInboxItem(stateDir, name);
      results.push({ name, id: item.id, outcome, disposition: 'accepted' });
    } catch (err) {
      const e = toDanehookError(err);
      if (name !== own) s.ctx.log.error(e.message);
      let disposition: DrainResult['disposition'] = 'kept';
      if (renewal && isKnownRenewal(s, renewal.entry.id, renewal.fingerprint)) {
        // Staged before the failure: the state carries it now, and post-deploy publishes it.
        removeInboxItem(stateDir, name);
        disposition = 'accepted';
      } else if (isPermanent(e) && name === own) {
        // The deploy reports it to the client at once, as it always has: nothing to keep.
        removeInboxItem(stateDir, name);
        disposition = 'rejected';
      } else if (isPermanent(e)) {
        s.ctx.log.warn(`${source} cannot be accepted; moved to ${rejectInboxItem(stateDir, name)}`);
        disposition = 'rejected';
      }
      results.push({ name, id: item?.id, error: e, disposition });
    }
  }
  return results;
}
