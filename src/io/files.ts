// Certificate files on disk: staging under stateDir (0600 in 0700 dirs), and installing where the
// service reads them — back up every target, then replace each atomically (io/atomic-write.ts),
// keeping its owner, group and mode unless the entry sets them; restoring puts back the backup.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StateIoError } from '../errors.js';
import { removeStaleTemps, writeFileAtomic } from './atomic-write.js';
import { readBackup, restoreFromBackup, writeBackup } from './backup.js';
import { computeInstallMeta, type ConfiguredMeta } from './install-meta.js';
import { MATERIAL_KINDS, type CertMaterial, type MaterialKind } from './material.js';
import { readPathNoFollow, type PathSnapshot } from './read-nofollow.js';

export { formatMaterial, MATERIAL_KINDS, type CertMaterial, type MaterialKind } from './material.js';
export { writeFileAtomic } from './atomic-write.js';
export { removeBackups } from './backup.js';

function fail(what: string, path: string, err: unknown): never {
  throw new StateIoError(`${what} ${path} failed (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
}

/** Stage the material under stateDir/relDir; every file 0600, the directory 0700. */
export function writeStagedFiles(stateDir: string, relDir: string, material: CertMaterial): void {
  const dir = join(stateDir, relDir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    fail('creating', dir, err);
  }
  for (const kind of MATERIAL_KINDS) writeFileAtomic(join(dir, `${kind}.pem`), material[kind], { mode: 0o600 });
}

export function stagedPath(stateDir: string, relDir: string, kind: MaterialKind): string {
  return join(stateDir, relDir, `${kind}.pem`);
}

export function readStagedMaterial(stateDir: string, relDir: string): CertMaterial {
  const out = {} as CertMaterial;
  for (const kind of MATERIAL_KINDS) {
    const p = stagedPath(stateDir, relDir, kind);
    const snap = readPathNoFollow(p, 'reading staged file');
    if (snap.type !== 'file') throw new StateIoError(`reading staged file ${p} failed (${snap.type === 'absent' ? 'ENOENT' : snap.type === 'other' ? snap.what : 'a symlink'})`);
    out[kind] = snap.data.toString('utf8');
  }
  return out;
}

export type InstallTargets = Partial<Record<MaterialKind, string>>;

/** Settings of the entry's install form that shape how targets are written. */
export interface InstallOptions extends ConfiguredMeta {
  /** install.replaceSymlinks: a symlink target is replaced by a regular file (never written through). */
  replaceSymlinks?: boolean;
}

function refuseTarget(target: string, snap: PathSnapshot, opts: InstallOptions): void {
  if (snap.type === 'other') throw new StateIoError(`refusing to install ${target}: it is ${snap.what}`);
  if (snap.type === 'symlink' && !opts.replaceSymlinks) throw new StateIoError(`refusing to install ${target}: it is a symlink (install.replaceSymlinks is not set)`);
}

/**
 * Back up every target into backupDir, then install the material. Every backup is complete before
 * the first target is replaced, so a crash anywhere leaves a full set to restore from.
 */
export function installMaterial(targets: InstallTargets, material: CertMaterial, backupDir: string, opts: InstallOptions = {}): void {
  const snapshots = new Map<MaterialKind, PathSnapshot>();
  for (const kind of MATERIAL_KINDS) {
    const target = targets[kind];
    if (!target) continue;
    const snap = readPathNoFollow(target, 'backing up');
    refuseTarget(target, snap, opts);
    snapshots.set(kind, snap);
  }
  for (const [kind, snap] of snapshots) writeBackup(backupDir, kind, targets[kind]!, snap);
  for (const [kind, snap] of snapshots) {
    // A replaced symlink is a new file: the link's target's metadata is not ours to copy.
    writeFileAtomic(targets[kind]!, material[kind], { ...computeInstallMeta(snap, opts), what: 'installing' });
  }
}

/**
 * Put every target back as its backup recorded it (content, owner, group, mode; absent → removed).
 * A target without a complete backup was never touched. Returns the targets restored. Temp files a
 * killed run left beside the targets go too.
 */
export function restoreMaterial(targets: InstallTargets, backupDir: string): string[] {
  const restored: string[] = [];
  for (const kind of MATERIAL_KINDS) {
    const target = targets[kind];
    if (!target) continue;
    removeStaleTemps(target);
    const backup = readBackup(backupDir, kind);
    // A backup of another path (the config changed since) is not this target's previous state.
    if (!backup || backup.record.target !== target) continue;
    restoreFromBackup(target, backup);
    restored.push(target);
  }
  return restored;
}

/**
 * Remove staged directories of `id` that no rollover in the state refers to: a run killed between
 * staging and saving the state leaves one behind, with a private key in it.
 */
export function removeOrphanStagedDirs(stateDir: string, id: string, referenced: string[]): string[] {
  const dir = join(stateDir, 'staged', id);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const keep = new Set(referenced);
  const orphans = names.map((n) => `staged/${id}/${n}`).filter((rel) => !keep.has(rel));
  for (const rel of orphans) rmSync(join(stateDir, rel), { recursive: true, force: true });
  return orphans;
}
