// `danehook pre-deploy`: preflight before a renewal — config valid, state dir writable and state
// readable, install targets safe, an empty signed UPDATE accepted (server reachable, key good),
// every authoritative server answering for each zone. Writes nothing to DNS; reports every problem,
// exits with the worst.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { computeOwners } from '../core/desired.js';
import { StateIoError, toDanehookError, worstExitCode, type DanehookError } from '../errors.js';
import { formatHostPort, parseHostPort } from '../io/host-port.js';
import { assertInstallSafe } from '../io/install-safety.js';
import { StateStore } from '../io/state-store.js';
import { groupByZone } from '../rollover/records.js';
import { closeSession, openSession, type Session } from '../rollover/session.js';
import type { CommandContext } from './context.js';
import { isZoneSigned } from '../rollover/propagation.js';

/**
 * DANE needs DNSSEC: a warning (not a failure: publishing works) when the zone is unsigned or, with
 * a validating resolver configured, has no DS at its parent; `check` reports both as CRITICAL.
 */
async function warnIfInsecure(s: Session, zone: string): Promise<void> {
  const log = s.ctx.log;
  try {
    if (!(await isZoneSigned(s, zone))) {
      log.warn(`zone ${zone} is not signed: DANE clients ignore TLSA records without DNSSEC ("danehook check" reports CRITICAL)`);
      return;
    }
    const via = s.loaded.config.dnssec?.resolver;
    if (!via) {
      log.info(`zone ${zone} is signed; its DS at the parent is not checked (configure dnssec.resolver)`);
      return;
    }
    const ds = await (await s.resolver()).queryValidated(parseHostPort(via, 53)!, zone, 'DS');
    if (ds.count === 0) log.warn(`zone ${zone} has no DS at its parent (resolver ${via}): it is insecure, DANE clients ignore its TLSA records ("danehook check" reports CRITICAL)`);
  } catch (err) {
    log.warn(`zone ${zone}: DNSSEC status unknown (${(err as Error).message})`);
  }
}

export async function preDeployCommand(ctx: CommandContext): Promise<number> {
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env });
  for (const w of loaded.warnings) ctx.log.warn(w);
  const problems: DanehookError[] = [];
  const check = async (what: string, fn: () => Promise<void> | void) => {
    try {
      await fn();
      ctx.log.info(`ok: ${what}`);
    } catch (err) {
      const e = toDanehookError(err);
      ctx.log.error(`${what}: ${e.message}`);
      problems.push(e);
    }
  };
  const store = new StateStore(loaded.config.stateDir);
  await check(`state directory ${store.dir} is writable`, () => {
    store.ensureDir();
    const probe = join(store.dir, `.pre-deploy-${process.pid}`);
    try {
      writeFileSync(probe, '', { mode: 0o600 });
    } catch (err) {
      throw new StateIoError(`cannot write in ${store.dir} (${(err as NodeJS.ErrnoException).code})`);
    }
    rmSync(probe, { force: true });
  });
  await check(`state file ${store.statePath} is readable`, () => void store.load());
  for (const entry of loaded.config.certificates) {
    if (entry.install) await check(`install targets of "${entry.id}" are safe to write as ${process.geteuid?.() === 0 ? 'root' : 'this user'}`, () => assertInstallSafe(entry.id, entry.install));
  }

  const s = await openSession({ ...ctx, options: { ...ctx.options, dryRun: true } }, loaded, { lock: false }).catch((e) => {
    problems.push(toDanehookError(e));
    return undefined;
  });
  if (s) {
    try {
      let zones = new Map<string, string[]>();
      await check('zones of the configured names found', async () => {
        zones = await groupByZone(s, loaded.config.certificates.flatMap((e) => computeOwners(e)));
      });
      const provider = await s.provider();
      const resolver = await s.resolver();
      for (const zone of zones.keys()) {
        await check(`${provider.identity} may write zone ${zone}`, async () => {
          for (const w of (await provider.checkAccess(zone)) ?? []) ctx.log.warn(w);
        });
        let servers: Awaited<ReturnType<typeof s.nameservers>> = [];
        await check(`authoritative servers of ${zone} found`, async () => {
          servers = await s.nameservers(zone);
        });
        for (const ns of servers) {
          const label = ns.name === formatHostPort(ns) ? ns.name : `${formatHostPort(ns)} (${ns.name})`;
          await check(`${label} answers for ${zone}`, async () => void (await resolver.querySoaSerial(ns, zone)));
        }
        await warnIfInsecure(s, zone);
      }
    } finally {
      closeSession(s);
    }
  }
  return worstExitCode(problems);
}
