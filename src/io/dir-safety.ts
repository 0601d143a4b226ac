// Is a directory safe for root to install into? Every directory on the way to it — as written and
// after resolving symlinks — must belong to root or danehook's own user and be writable by no one
// else. Otherwise another account can swap a name for a symlink between our checks and our writes
// and turn root's rename/chown onto a file of its choosing (CWE-59; the tmpfiles/logrotate class).
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { readAccountLabel } from './accounts.js';

/** "/", "/a", "/a/b" for "/a/b". */
export function computePrefixes(absDir: string): string[] {
  const parts = absDir.split('/').filter(Boolean);
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}

function writableBy(st: Stats): string | undefined {
  const who = [st.mode & 0o020 ? `group ${readAccountLabel('gid', st.gid).replace(/^gid /, '')}` : '', st.mode & 0o002 ? 'everyone' : ''].filter(Boolean);
  return who.length > 0 ? who.join(' and ') : undefined;
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/**
 * Problems along one spelling of the path. A sticky ancestor (/tmp) is fine: there only an entry's
 * owner may rename or remove it, and the entry below is itself checked to be ours. The target's
 * own directory must not be writable at all: anyone who can create names there can plant the
 * target (and, with it, the owner we would keep) before we write it.
 */
function readWalkProblems(absDir: string, uid: number): string[] {
  const out: string[] = [];
  const prefixes = computePrefixes(absDir);
  for (const [i, p] of prefixes.entries()) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (err) {
      // A missing directory holds nothing to swap; installing into it fails loudly later.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      out.push(`cannot inspect ${p} (${(err as NodeJS.ErrnoException).code})`);
      return out;
    }
    if (st.uid !== 0 && st.uid !== uid) out.push(`${p} is owned by ${readAccountLabel('uid', st.uid)} (chown root ${p})`);
    if (st.isSymbolicLink()) continue; // its directory was checked above; where it leads is walked separately
    if (!st.isDirectory()) {
      out.push(`${p} is not a directory`);
      return out;
    }
    const own = i === prefixes.length - 1;
    const who = writableBy(st);
    if (who && (own || !(st.mode & 0o1000))) out.push(`${p} is writable by ${who} (mode ${octal(st.mode)}; chmod g-w,o-w ${p})`);
  }
  return out;
}

/** I/O: every reason `dir` is unsafe for a process running as `uid` to install into; [] when safe. */
export function readDirProblems(dir: string, uid: number): string[] {
  const abs = resolve(dir);
  const problems = readWalkProblems(abs, uid);
  let real: string | undefined;
  try {
    real = realpathSync(abs);
  } catch {
    real = undefined; // missing (nothing to check) or a loop (installing will fail)
  }
  if (real && real !== abs) problems.push(...readWalkProblems(real, uid).filter((p) => !problems.includes(p)));
  return problems;
}
