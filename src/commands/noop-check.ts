// The fast path of a timer-driven `post-deploy`: when the config is byte-identical to one a full
// run validated (stamp in stateDir), the inbox is empty and no rollover is due, exit 0 without
// loading zod, cosmiconfig or any DNS code. Anything unusual falls through to the full command.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RolloverPolicy } from '../core/rollover.js';
import { isEntryDue } from '../core/due.js';
import type { State } from '../core/state.js';
import { parseDuration } from '../config/duration.js';
import { DEFAULT_STATE_DIR, ROLLOVER_DEFAULTS } from '../config/defaults.js';
import { readInboxNames } from '../io/inbox-list.js';

export const STAMP_FILE = 'config.validated';
const SYSTEM_CANDIDATES = ['/etc/danehook/config.yaml', '/etc/danehook/config.yml', '/etc/danehook/config.json'];

/** The config path the loader would pick: --config, $DANEHOOK_CONFIG, then /etc/danehook. */
export function locateConfig(file: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const explicit = file ?? (env.DANEHOOK_CONFIG || undefined);
  if (explicit) return resolve(explicit);
  return SYSTEM_CANDIDATES.find((p) => existsSync(p));
}

/** What the stamp holds: the config's path and bytes, hashed. */
export function computeConfigStamp(path: string, text: string): string {
  return createHash('sha256').update(path).update('\0').update(text).digest('hex');
}

async function parseRaw(path: string, text: string): Promise<Record<string, unknown>> {
  if (path.endsWith('.json')) return JSON.parse(text);
  const { load } = await import('js-yaml');
  return load(text) as Record<string, unknown>;
}

function ms(value: unknown, fallback: number): number {
  return value === undefined ? fallback : parseDuration(value as string | number) ?? NaN;
}

/** True only when it is certain that nothing is due; any doubt returns false (full run). */
export async function isNothingDue(opts: { config?: string; env: NodeJS.ProcessEnv; now: Date }): Promise<boolean> {
  try {
    const path = locateConfig(opts.config, opts.env);
    if (!path) return false;
    const text = readFileSync(path, 'utf8');
    const raw = await parseRaw(path, text);
    const stateDir = opts.env.DANEHOOK_STATE_DIR || (typeof raw.stateDir === 'string' ? raw.stateDir : DEFAULT_STATE_DIR);
    // Before the first deploy there is no state directory: nothing can be due (a full run would
    // only validate the config, which `pre-deploy` and `deploy` do anyway).
    if (!existsSync(stateDir)) return true;
    if (readFileSync(join(stateDir, STAMP_FILE), 'utf8').trim() !== computeConfigStamp(path, text)) return false;
    // A queued renewal is due at once; an absent or empty inbox costs one readdir.
    if (readInboxNames(stateDir).length > 0) return false;
    const r = (raw.rollover ?? {}) as Record<string, unknown>;
    // The stamp proves the schema accepted this very file; defaults come from config/defaults.ts.
    const policy = Object.fromEntries(
      Object.entries(ROLLOVER_DEFAULTS).map(([k, d]) => [k, k === 'delayFactor' ? Number(r[k] ?? d) : ms(r[k], d)]),
    ) as unknown as RolloverPolicy;
    if (Object.values(policy).some((v) => !Number.isFinite(v))) return false;
    let state: State;
    try {
      state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as State;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
    if (![1, 2].includes(state.version as number) || typeof state.certificates !== 'object') return false;
    return Object.values(state.certificates).every((entry) => !isEntryDue(entry, policy, opts.now));
  } catch {
    return false;
  }
}
