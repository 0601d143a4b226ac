// Accept one renewal under the lock — what `deploy` does, whether the certificate came from the
// client just now or from the inbox: already live or pending is a no-op (staged: published now),
// rolled back waits for --retry, older than the live one is refused, anything else supersedes what
// is pending, is staged (0600) and published beside the live one.
import type { CertificateEntry } from '../../config/schema.js';
import type { CertificateBundle } from '../../core/certificate.js';
import { computeCertificateRecords } from '../../core/desired.js';
import { computeKeyType, computeKeyTypeField } from '../../core/key-type.js';
import { isPending, type Phase } from '../../core/phases.js';
import { supersedePending } from '../../core/rollover.js';
import type { Rollover } from '../../core/state.js';
import { toStateRecord } from '../../core/state-records.js';
import { CertificateError } from '../../errors.js';
import { formatMaterial, removeOrphanStagedDirs, writeStagedFiles } from '../../io/files.js';
import { requireLiveKnown } from './live.js';
import { publishRollover } from '../../rollover/publish.js';
import { chooseNextKey } from './next-key.js';
import type { Session } from '../../rollover/session.js';

export interface Renewal {
  entry: CertificateEntry;
  bundle: CertificateBundle;
  spkiHash: string;
  fingerprint: string;
  /** Which ACME client handed it over (for the event log, and whether it takes a generated next key). */
  client: string;
  /** The client's next key by path (acme.sh Le_Next_Domain_Key, dehydrated privkey.roll.pem). */
  nextKey?: string;
}

/** Already live, rolled back (waits for --retry), or pending in `phase` (new or as before). */
export type AcceptOutcome = { kind: 'live' } | { kind: 'rolled-back' } | { kind: 'pending'; phase: Phase; rollover?: Rollover };

/** Whether the state already carries this certificate (live, or a rollover that is not finished). */
export function isKnownRenewal(s: Session, id: string, fingerprint: string): boolean {
  const es = s.state.certificates[id];
  return Boolean(es && (es.live?.fingerprint === fingerprint || es.rollovers.some((r) => r.fingerprint === fingerprint && isPending(r.phase))));
}

/** Refuse a certificate older than the live one (a stale file re-run from cron would roll back). */
function checkNotOlderThanLive(s: Session, renewal: Renewal): void {
  const live = s.entryState(renewal.entry.id).live;
  const newer = renewal.bundle.leaf.notBefore;
  if (!live?.notBefore || s.ctx.options.force || newer.getTime() >= Date.parse(live.notBefore)) return;
  throw new CertificateError(
    `"${renewal.entry.id}": this certificate (valid from ${newer.toISOString()}) is older than the live one (valid from ${live.notBefore}); deploying it would roll back. Use --force if that is what you want`,
  );
}

async function stageAndPublish(s: Session, renewal: Renewal): Promise<Rollover> {
  const { entry, bundle, fingerprint } = renewal;
  const id = entry.id;
  const { config } = s.loaded;
  // First, as nothing is written yet: a trust anchor outside the issuer set is refused (65).
  const records = computeCertificateRecords(entry, bundle, config.dns.ttl).map(toStateRecord);
  // Before anything is written: the certificate served now must be known (exit 78 otherwise).
  await requireLiveKnown(s, entry, computeKeyType(bundle.leaf.spki) ?? undefined);
  const now = s.now();
  const sup = supersedePending(s.entryState(id), now);
  for (const old of sup.superseded) {
    s.ctx.log.info(`"${id}": rollover ${old.id} is superseded by this renewal`);
    s.event({ id, rollover: old.id, event: 'phase', phase: 'superseded' });
  }
  const es = s.entryState(id);
  es.rollovers = sup.entry.rollovers;
  const rolloverId = `${fingerprint.slice(0, 12)}-${now.getTime().toString(36)}`;
  const r: Rollover = {
    id: rolloverId,
    phase: 'staged',
    spki: renewal.spkiHash,
    fingerprint,
    notAfter: bundle.leaf.notAfter.toISOString(),
    notBefore: bundle.leaf.notBefore.toISOString(),
    ...computeKeyTypeField(bundle.leaf.spki),
    stagedDir: `staged/${id}/${rolloverId}`,
    records,
    replacedTtl: null,
    alreadyServed: false,
    createdAt: now.toISOString(),
    publishedAt: null, propagatedAt: null, activateAfter: null, activatedAt: null, cleanedAt: null,
    servers: {},
    attempts: 0,
    lastError: null,
  };
  if (!s.dryRun) {
    for (const orphan of removeOrphanStagedDirs(config.stateDir, id, es.rollovers.map((x) => x.stagedDir))) {
      s.ctx.log.info(`removed ${orphan}, left by an interrupted run`);
    }
    writeStagedFiles(config.stateDir, r.stagedDir, formatMaterial(bundle));
    es.rollovers.push(r);
    s.event({ id, rollover: r.id, event: 'phase', phase: 'staged', spki: r.spki, client: renewal.client });
    s.save();
  }
  return publishStaged(s, id, r);
}

/** Publish a staged rollover and store the result (a failure leaves it staged for the timer). */
async function publishStaged(s: Session, id: string, r: Rollover): Promise<Rollover> {
  const es = s.entryState(id);
  let published: Rollover;
  try {
    published = await publishRollover(s, id, r);
  } catch (err) {
    const i = es.rollovers.findIndex((x) => x.id === r.id);
    if (!s.dryRun && i >= 0) {
      es.rollovers[i] = { ...es.rollovers[i]!, lastError: (err as Error).message, attempts: r.attempts + 1 };
      s.save();
      s.ctx.log.warn(`"${id}": the renewal stays staged; "danehook post-deploy" publishes it when DNS answers`);
    }
    throw err;
  }
  if (!s.dryRun) {
    es.rollovers[es.rollovers.findIndex((x) => x.id === r.id)] = published;
    s.save();
  }
  return published;
}

export async function acceptRenewal(s: Session, renewal: Renewal): Promise<AcceptOutcome> {
  const id = renewal.entry.id;
  s.entry(id);
  const es = s.entryState(id);
  const pending = es.rollovers.find((r) => r.fingerprint === renewal.fingerprint && isPending(r.phase));
  if (es.live?.fingerprint === renewal.fingerprint) {
    s.ctx.log.info(`"${id}": this certificate is already live; nothing to do`);
    return { kind: 'live' };
  }
  if (pending?.phase === 'rolled-back') {
    s.ctx.log.warn(`"${id}": this certificate was rolled back (${pending.lastError}); run "danehook deploy --id ${id} --retry" once the cause is fixed`);
    return { kind: 'rolled-back' };
  }
  if (pending?.phase === 'staged') {
    // An earlier deploy could not publish (DNS down): try again now rather than claim success.
    s.ctx.log.info(`"${id}": this certificate is staged but not yet published (${pending.lastError ?? 'interrupted'}); publishing now`);
    const published = await publishStaged(s, id, pending);
    chooseNextKey(s, id, { client: renewal.client, clientKey: renewal.nextKey, templateSpki: renewal.bundle.leaf.spki });
    return { kind: 'pending', phase: published.phase, rollover: published };
  }
  if (pending) {
    s.ctx.log.info(`"${id}": this certificate is already pending (${pending.phase}); nothing to do`);
    return { kind: 'pending', phase: pending.phase };
  }
  checkNotOlderThanLive(s, renewal);
  const staged = await stageAndPublish(s, renewal);
  // After the path was chosen (it may use up the announced next key): choose the one after it.
  chooseNextKey(s, id, { client: renewal.client, clientKey: renewal.nextKey, templateSpki: renewal.bundle.leaf.spki });
  return { kind: 'pending', phase: staged.phase, rollover: staged };
}
