// Unprivileged accounts for root-safety tests: an unprivileged user (nobody, or one we create and
// remove), a group such as ssl-cert (created and removed if absent), and running argv as that user
// (setpriv drops uid, gid and supplementary groups), plus stat(1) as an independent witness.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { HarnessContext } from './tempdir.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

function lookupUser(name: string): Account | undefined {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { name, uid: Number(r.stdout.trim()), gid };
}

/** I/O: `nobody`, or a system user we create now and remove after the test. */
export function ensureUnprivilegedUser(t: HarnessContext): Account {
  const nobody = lookupUser('nobody');
  if (nobody) return nobody;
  const name = `dhtest${randomBytes(3).toString('hex')}`;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
  t.after(() => void spawnSync('userdel', [name]));
  return lookupUser(name)!;
}

/** I/O: the gid of `name`, creating the group (and removing it after the test) when absent. */
export function ensureGroup(t: HarnessContext, name: string): number {
  const have = spawnSync('getent', ['group', name], { encoding: 'utf8' });
  if (have.status === 0) return Number(have.stdout.split(':')[2]);
  execFileSync('groupadd', ['--system', name]);
  t.after(() => void spawnSync('groupdel', [name]));
  return Number(execFileSync('getent', ['group', name], { encoding: 'utf8' }).split(':')[2]);
}

/** I/O: run argv as `user` (no supplementary groups); throws on a non-zero exit. */
export function runAs(user: Account, argv: string[]): string {
  return execFileSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', ...argv], { encoding: 'utf8' });
}

/** I/O: "owner:group mode content-sha256" of a path as stat(1) and sha256sum(1) see it (no symlink followed). */
export function describeFile(path: string): string {
  const st = execFileSync('stat', ['-c', '%U:%G %a %F', path], { encoding: 'utf8' }).trim();
  const isFile = st.endsWith('regular file') || st.endsWith('regular empty file');
  const sum = isFile ? execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0] : '-';
  return `${st} ${sum}`;
}
