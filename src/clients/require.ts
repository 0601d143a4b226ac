// Shared check for client adapters: every named variable must be set and non-empty.
import { UsageError } from '../errors.js';
import type { Env } from './event.js';

export function requireVars(env: Env, client: string, names: string[]): Record<string, string> {
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) throw new UsageError(`${client} hook environment is incomplete: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set`);
  return Object.fromEntries(names.map((n) => [n, env[n]!]));
}

export function splitList(value: string | undefined, separator: RegExp): string[] {
  return (value ?? '').split(separator).map((s) => s.trim().toLowerCase()).filter(Boolean);
}
