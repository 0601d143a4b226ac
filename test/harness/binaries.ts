// Finds the external programs a real-server test needs. Missing ones skip the test locally but
// FAIL it in CI (CI=true), so a broken CI image can never turn the integration suite green.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// sbin directories are searched too: named, knotd, pdns_server live there and a non-root PATH
// often lacks them.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Absolute path of `name`, or an error naming the Debian package to install. */
export function binaryPath(name: string): string {
  const p = findBinary(name);
  if (!p) throw new Error(`required program not found: ${name} (install it; see .ci/run)`);
  return p;
}

/** Minimal slice of a node:test TestContext that we need. */
export interface SkippableContext {
  skip(message?: string): void;
}

/**
 * True when every binary exists. Otherwise: throws under CI=true, else marks the test skipped and
 * returns false — the caller must `return` then (t.skip() does not stop the test body).
 */
export function requireBinaries(t: SkippableContext, names: readonly string[]): boolean {
  const missing = names.filter((n) => !findBinary(n));
  if (missing.length === 0) return true;
  const message = `missing programs: ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: a missing program is a failure, not a skip)`);
  t.skip(message);
  return false;
}
