// Resolve install owner/group names to ids from /etc/passwd and /etc/group (node has no getpwnam).
// Numeric ids are taken as they are.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

function lookup(file: string, name: string, field: 2): number {
  if (/^\d+$/.test(name)) return Number(name);
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[0] === name);
  if (!line) throw new ConfigError(`install: no ${file === '/etc/passwd' ? 'user' : 'group'} named "${name}" on this host`);
  return Number(line.split(':')[field]);
}

/** uid/gid for install.owner / install.group; undefined when neither is configured. */
export function resolveOwner(owner?: string, group?: string): { uid: number; gid: number } | undefined {
  if (!owner && !group) return undefined;
  return { uid: owner ? lookup('/etc/passwd', owner, 2) : -1, gid: group ? lookup('/etc/group', group, 2) : -1 };
}

/** I/O: "uid 1001 (svc)" / "gid 4 (adm)" for messages; the bare id when the name is unknown. */
export function readAccountLabel(kind: 'uid' | 'gid', id: number): string {
  try {
    const file = kind === 'uid' ? '/etc/passwd' : '/etc/group';
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[2] === String(id));
    const name = line?.split(':')[0];
    return name ? `${kind} ${id} (${name})` : `${kind} ${id}`;
  } catch {
    return `${kind} ${id}`;
  }
}
