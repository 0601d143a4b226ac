// `danehook deploy`: identify the entry, stage the renewed certificate, publish its records beside
// the live one's, record `published`, and return at once (--wait: finish here; --detach: finish in
// a detached background post-deploy whose output goes to a log file, not the client's pipes).
import { openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CertificateError, UsageError } from '../errors.js';
import { computeCertificateRecords } from '../core/desired.js';
import { computeCertFingerprint } from '../core/certificate.js';
import { supersedePending } from '../core/rollover.js';
import type { Rollover } from '../core/state.js';
import { isPending } from '../core/phases.js';
import { toStateRecord } from '../core/state-records.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { formatMaterial, removeOrphanStagedDirs, writeStagedFiles } from '../io/files.js';
import { assertInstallSafe } from '../io/install-safety.js';
import { requireLiveKnown } from '../rollover/live.js';
import { computeKeyType, computeKeyTypeField } from '../core/key-type.js';
import { publishRollover } from '../rollover/publish.js';
import { closeSession, openSession, type Session } from '../rollover/session.js';
import { waitForRollovers } from '../rollover/wait.js';
import { readCertificateInput, type CertificateInput } from './certificate-input.js';
import type { CommandContext } from './context.js';

/** Refuse a certificate older than the live one (a stale file re-run from cron would roll back). */
function checkNotOlderThanLive(s: Session, input: CertificateInput): void {
  const live = s.entryState(input.entry.id).live;
  const newer = input.bundle.leaf.notBefore;
  if (!live?.notBefore || s.ctx.options.force || newer.getTime() >= Date.parse(live.notBefore)) return;
  throw new CertificateError(
    `"${input.entry.id}": this certificate (valid from ${newer.toISOString()}) is older than the live one (valid from ${live.notBefore}); deploying it would roll back. Use --force if that is what you want`,
  );
}

async function stageAndPublish(s: Session, input: CertificateInput, fingerprint: string): Promise<Rollover> {
  const { entry, bundle } = input;
  const id = entry.id;
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
    spki: input.spkiHash,
    fingerprint,
    notAfter: bundle.leaf.notAfter.toISOString(),
    notBefore: bundle.leaf.notBefore.toISOString(),
    ...computeKeyTypeField(bundle.leaf.spki),
    stagedDir: `staged/${id}/${rolloverId}`,
    records: computeCertificateRecords(entry, bundle, input.loaded.config.dns.ttl).map(toStateRecord),
    replacedTtl: null,
    alreadyServed: false,
    createdAt: now.toISOString(),
    publishedAt: null, propagatedAt: null, activateAfter: null, activatedAt: null, cleanedAt: null,
    servers: {},
    attempts: 0,
    lastError: null,
  };
  if (!s.dryRun) {
    for (const orphan of removeOrphanStagedDirs(input.loaded.config.stateDir, id, es.rollovers.map((x) => x.stagedDir))) {
      s.ctx.log.info(`removed ${orphan}, left by an interrupted run`);
    }
    writeStagedFiles(input.loaded.config.stateDir, r.stagedDir, formatMaterial(bundle));
    es.rollovers.push(r);
    s.event({ id, rollover: r.id, event: 'phase', phase: 'staged', spki: r.spki, client: input.event.client });
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

function spawnDetached(ctx: CommandContext, loaded: LoadedConfig, id: string): void {
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  // Output goes to a file: lego waits for the hook's stdout/stderr to close (FACTS.md).
  const log = openSync(join(loaded.config.stateDir, 'detached.log'), 'a', 0o600);
  const child = spawn(process.execPath, [cli, 'post-deploy', '--wait', '--id', id, '--config', loaded.path], {
    detached: true,
    stdio: ['ignore', log, log],
    env: ctx.env,
  });
  child.unref();
  ctx.log.info(`"${id}": the rest of the rollover continues in the background (pid ${child.pid}, log ${join(loaded.config.stateDir, 'detached.log')})`);
}

async function retryRolledBack(ctx: CommandContext): Promise<number> {
  if (!ctx.options.id) throw new UsageError('--retry needs --id ID');
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env });
  const s = await openSession(ctx, loaded, { lock: true });
  try {
    s.entry(ctx.options.id);
    const es = s.entryState(ctx.options.id);
    const i = es.rollovers.findIndex((r) => r.phase === 'rolled-back');
    if (i < 0) throw new UsageError(`"${ctx.options.id}" has no rolled-back rollover to retry`);
    const r = es.rollovers[i]!;
    es.rollovers[i] = { ...r, phase: 'propagated', activateAfter: s.now().toISOString(), lastError: null };
    s.event({ id: ctx.options.id, rollover: r.id, event: 'phase', phase: 'propagated', reason: 'retry requested' });
    s.save();
    ctx.log.info(`"${ctx.options.id}": rollover ${r.id} will be activated again on the next post-deploy`);
  } finally {
    closeSession(s);
  }
  return ctx.options.wait ? waitForRollovers(ctx, loaded, [ctx.options.id]) : 0;
}

export async function deployCommand(ctx: CommandContext): Promise<number> {
  const o = ctx.options;
  if (o.retry && !o.pem && !o.cert && o.args.length === 0) return retryRolledBack(ctx);
  const input = await readCertificateInput(ctx, { requireKey: true });
  const id = input.entry.id;
  // Before any state or DNS write: an install target root must refuse later is refused now (78).
  assertInstallSafe(id, input.entry.install);
  const fingerprint = computeCertFingerprint(input.bundle.leaf.der);
  const s = await openSession(ctx, input.loaded, { lock: true });
  let phase: Rollover['phase'];
  try {
    s.entry(id);
    const es = s.entryState(id);
    const pending = es.rollovers.find((r) => r.fingerprint === fingerprint && isPending(r.phase));
    if (es.live?.fingerprint === fingerprint) {
      ctx.log.info(`"${id}": this certificate is already live; nothing to do`);
      return 0;
    } else if (pending?.phase === 'rolled-back') {
      ctx.log.warn(`"${id}": this certificate was rolled back (${pending.lastError}); run "danehook deploy --id ${id} --retry" once the cause is fixed`);
      return 0;
    } else if (pending?.phase === 'staged') {
      // An earlier deploy could not publish (DNS down): try again now rather than claim success.
      ctx.log.info(`"${id}": this certificate is staged but not yet published (${pending.lastError ?? 'interrupted'}); publishing now`);
      phase = (await publishStaged(s, id, pending)).phase;
    } else if (pending) {
      ctx.log.info(`"${id}": this certificate is already pending (${pending.phase}); nothing to do`);
      phase = pending.phase;
    } else {
      checkNotOlderThanLive(s, input);
      phase = (await stageAndPublish(s, input, fingerprint)).phase;
    }
  } finally {
    closeSession(s);
  }
  if (o.dryRun) return 0;
  if (o.wait) return waitForRollovers(ctx, input.loaded, [id]);
  if (o.detach) spawnDetached(ctx, input.loaded, id);
  else ctx.log.info(`"${id}": ${phase}; "danehook post-deploy" (timer or cron) finishes the rollover`);
  return 0;
}
