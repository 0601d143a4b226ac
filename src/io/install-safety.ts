// Refuse unsafe install targets before any DNS write and again right before installing: a directory
// others can write (unless install.allowWritableDir), a target that is a symlink (unless
// install.replaceSymlinks), a directory or device at a target path. Exit 78 says what to change.
import { lstatSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { CertificateEntry } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { readAccountLabel } from './accounts.js';
import { readDirProblems } from './dir-safety.js';
import { MATERIAL_KINDS } from './material.js';
import { describeFileType } from './read-nofollow.js';

export type InstallConfig = NonNullable<CertificateEntry['install']>;

/** The user danehook runs as: it may own install directories besides root. */
export const currentUid = (): number => process.geteuid?.() ?? 0;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined; // absent: a new file (an unreadable one fails loudly when installed)
  }
}

/** I/O: every problem with the entry's install targets, as lines naming path and fix; [] when safe. */
export function readInstallProblems(install: InstallConfig | undefined, uid = currentUid()): string[] {
  if (!install) return [];
  const out: string[] = [];
  const dirsSeen = new Map<string, string[]>();
  for (const kind of MATERIAL_KINDS) {
    const target = install[kind];
    if (!target) continue;
    const label = `install.${kind} ${target}`;
    const dir = dirname(target);
    let dirProblems = dirsSeen.get(dir);
    if (!dirProblems) {
      dirProblems = readDirProblems(dir, uid);
      dirsSeen.set(dir, dirProblems);
      if (!install.allowWritableDir) out.push(...dirProblems.map((p) => `${label}: ${p}`));
    }
    const st = lstatOrUndefined(target);
    if (!st) continue;
    if (st.isSymbolicLink()) {
      if (!install.replaceSymlinks) out.push(`${label} is a symlink: danehook never writes through one; point install.${kind} at the file it leads to, or set install.replaceSymlinks: true to replace the link itself with a regular file`);
      continue;
    }
    if (!st.isFile()) {
      out.push(`${label} is ${describeFileType(st)}, not a regular file`);
      continue;
    }
    // Allowed writable directory: someone else may have put this file there. Keeping its owner
    // would hand them the key; a second hard link could be a file of theirs (or /etc/shadow).
    if (dirProblems.length > 0) {
      if (st.uid !== 0 && st.uid !== uid && !install.owner) out.push(`${label} is owned by ${readAccountLabel('uid', st.uid)} in a directory others can write; set install.owner (and install.group) explicitly to keep that owner`);
      if (st.nlink > 1) out.push(`${label} has ${st.nlink} hard links in a directory others can write; remove the other links`);
    }
  }
  return out;
}

/** I/O: throw a ConfigError (78) listing every problem with the entry's install targets. */
export function assertInstallSafe(id: string, install: InstallConfig | undefined): void {
  const problems = readInstallProblems(install);
  if (problems.length === 0) return;
  throw new ConfigError(`"${id}": refusing to install: ${problems.join('; ')}`, {
    hint: 'an account that can write an install directory could make danehook, running as root, overwrite or chown any file; fix the directories, or set install.allowWritableDir: true if every account that can write there is trusted',
  });
}
