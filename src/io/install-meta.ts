// Owner, group and mode of an installed file (pure): what the entry sets wins; otherwise the
// target keeps its own (exim reads root:Debian-exim 0640, and a reset to 0600 breaks TLS); a new
// file, or a symlink being replaced, is created 0600 and owned by danehook's user (root).
import type { FileMeta, PathSnapshot } from './read-nofollow.js';

export interface ConfiguredMeta {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** uid/gid undefined: leave as created (our euid/egid, or a setgid directory's group). */
export interface InstallMeta {
  mode: number;
  uid?: number;
  gid?: number;
}

export const NEW_FILE_MODE = 0o600;

export function computeInstallMeta(existing: PathSnapshot, configured: ConfiguredMeta): InstallMeta {
  const kept: Partial<FileMeta> = existing.type === 'file' ? existing : {};
  const pick = (set: number | undefined, have: number | undefined) => (set !== undefined && set !== -1 ? set : have);
  return {
    mode: configured.mode ?? kept.mode ?? NEW_FILE_MODE,
    uid: pick(configured.uid, kept.uid),
    gid: pick(configured.gid, kept.gid),
  };
}
