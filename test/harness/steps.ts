// CLI steps the rollover tests share: `status --json`, the newest rollover of an entry, and
// `post-deploy` runs (each its own process, like a timer) until a rollover reaches a phase.
import assert from 'node:assert/strict';
import { runCli } from './cli.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StatusRollover {
  phase: string;
  spki: string;
  publishedAt: string | null;
  propagatedAt: string | null;
  activateAfter: string | null;
  activatedAt: string | null;
  lastError: string | null;
}

export interface StatusEntry {
  id: string;
  live: { spki: string } | null;
  rollovers: StatusRollover[];
  foreignRecords?: { name: string; tlsa: string }[];
}

/** I/O: `danehook status --json` (offline unless asked), parsed; exit 0 required. */
export async function readStatus(config: string, opts: { online?: boolean } = {}): Promise<{ certificates: StatusEntry[] }> {
  const r = await runCli(['status', '--json', ...(opts.online ? [] : ['--offline']), '-c', config]);
  assert.equal(r.code, 0, `status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export async function entryStatus(config: string, id = 'mx', opts: { online?: boolean } = {}): Promise<StatusEntry> {
  const entry = (await readStatus(config, opts)).certificates.find((c) => c.id === id);
  assert.ok(entry, `status has no entry "${id}"`);
  return entry;
}

/** The newest rollover of `id`, or undefined. */
export async function lastRollover(config: string, id = 'mx'): Promise<StatusRollover | undefined> {
  return (await entryStatus(config, id)).rollovers.at(-1);
}

/**
 * Run `post-deploy` (exit 0 each time) every ~everyMs until the newest rollover of `id` is in
 * `phase`; returns the phases seen in order. Fails after maxRuns.
 */
export async function postDeployUntil(config: string, phase: string, opts: { id?: string; maxRuns?: number; everyMs?: number } = {}): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i <= (opts.maxRuns ?? 60); i++) {
    const now = (await lastRollover(config, opts.id))?.phase ?? 'none';
    if (seen.at(-1) !== now) seen.push(now);
    if (now === phase) return seen;
    const p = await runCli(['post-deploy', '-c', config], { timeoutMs: 60_000 });
    assert.equal(p.code, 0, `post-deploy (phase ${now}) exited ${p.code}:\n${p.stderr}`);
    await sleep(opts.everyMs ?? 300);
  }
  assert.fail(`rollover never reached ${phase}; phases seen: ${seen.join(' → ')}`);
}
