// Hook commands that record what an ACME client hands its hook (see dump-hook.mjs), in the form each
// client expects: lego splits a string on spaces, certbot runs `sh -c`, dehydrated runs a script path.
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DUMP_HOOK = fileURLToPath(new URL('./dump-hook.mjs', import.meta.url));

export interface HookInvocation {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** original path → copied file name under <invocation dir>/files (or {dir: entries}) */
  copies: Record<string, string | { dir: string[] }>;
  /** directory of this invocation's record */
  path: string;
}

/** Command string for lego/certbot (no spaces allowed in paths: lego splits on them). */
export function dumpHookCommand(outDir: string): string {
  return `${process.execPath} ${DUMP_HOOK} ${outDir}`;
}

/** Executable script for dehydrated's HOOK= setting. */
export function writeDumpHookScript(path: string, outDir: string): string {
  writeFileSync(path, `#!/bin/sh\nexec '${process.execPath}' '${DUMP_HOOK}' '${outDir}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

export function readHookInvocations(outDir: string): HookInvocation[] {
  let names: string[];
  try {
    names = readdirSync(outDir).sort();
  } catch {
    return [];
  }
  return names.map((n) => ({ ...JSON.parse(readFileSync(join(outDir, n, 'invocation.json'), 'utf8')), path: join(outDir, n) }));
}
