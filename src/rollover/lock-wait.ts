// How long a run waits for the state lock: as long as another run can legitimately hold it, which
// the config bounds (reload/activate/probe/DNS timeouts of each entry) — but a deploy hook must end
// inside lego's 120 s, so it waits less and queues its renewal in the inbox instead. Pure.
import type { Config, CertificateEntry } from '../config/schema.js';
import { LOCK_WAIT_MS } from '../io/state-store.js';

/** lego kills a hook after 120 s (FACTS.md); certbot and others wait longer. */
export const HOOK_LIMIT_MS = 120_000;
/** io/service.ts kills a command that ignores its timeout this much later. */
const KILL_GRACE_MS = 2_000;
/** DNS round trips a step may wait out in full: list, update, read-back, each server's answer. */
const DNS_STEPS = 6;
/** Node start, config and certificate parsing, exit: what a hook spends outside the lock. */
const HOOK_OVERHEAD_MS = 10_000;

/** One entry's longest activation: activate, reload, probe, and on failure reload and probe again. */
export function computeEntryHoldMs(entry: CertificateEntry, dnsTimeoutMs: number): number {
  const command = entry.reloadTimeout + KILL_GRACE_MS;
  const commands = (entry.activate ? 1 : 0) + (entry.reload ? 2 : 0);
  const probes = 2 * (entry.probe.timeout + entry.probe.grace);
  return commands * command + probes + DNS_STEPS * dnsTimeoutMs;
}

/** The longest a run can legitimately hold the lock: every entry activated (or rolled back) once. */
export function computeLockHoldMs(config: Config): number {
  return config.certificates.reduce((sum, e) => sum + computeEntryHoldMs(e, config.dns.timeout), 0);
}

/**
 * A deploy hook's wait: the hold above, but leaving room inside lego's limit for its own work under
 * the lock (learning the live certificate by a probe, publishing). Past it the renewal stays queued.
 */
export function computeDeployLockWaitMs(config: Config, entry: CertificateEntry): number {
  const ownWork = entry.probe.timeout + DNS_STEPS * config.dns.timeout + HOOK_OVERHEAD_MS;
  const room = HOOK_LIMIT_MS - ownWork;
  return Math.max(LOCK_WAIT_MS, Math.min(computeLockHoldMs(config), room));
}
