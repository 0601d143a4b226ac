// Certificate files on disk: staging under stateDir (0600 in 0700 dirs), atomic install where the
// service reads them (temp + fsync + rename), backup before install and restore on rollback.
import { chmodSync, chownSync, closeSync, constants, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StateIoError } from '../errors.js';
import type { CertificateBundle } from '../core/certificate.js';
import { formatPem, KEY_LABELS } from '../core/pem-format.js';

/** The five forms services read: leaf, issuers, leaf+issuers, key, key+leaf+issuers (postfix). */
export interface CertMaterial {
  certificate: string;
  chain: string;
  fullchain: string;
  key: string;
  combined: string;
}
export type MaterialKind = keyof CertMaterial;
export const MATERIAL_KINDS: MaterialKind[] = ['certificate', 'chain', 'fullchain', 'key', 'combined'];

export function formatMaterial(bundle: CertificateBundle): CertMaterial {
  if (!bundle.key) throw new StateIoError('internal: staging needs the private key');
  const certificate = formatPem(bundle.leaf.der, 'CERTIFICATE');
  const chain = bundle.chain.map((c) => formatPem(c.der, 'CERTIFICATE')).join('');
  const key = formatPem(bundle.key.der, KEY_LABELS[bundle.key.format]);
  return { certificate, chain, fullchain: certificate + chain, key, combined: key + certificate + chain };
}

function fail(what: string, path: string, err: unknown): never {
  throw new StateIoError(`${what} ${path} failed (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
}

/** Write `text` to `path` atomically with `mode`: readers see the old file or the new, never half. */
export function writeFileAtomic(path: string, text: string, mode: number, owner?: { uid: number; gid: number }): void {
  const tmp = join(dirname(path), `.${path.split('/').pop()}.danehook-${process.pid}`);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode); // the umask may have narrowed the mode
    if (owner) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, path);
    const dfd = openSync(dirname(path), constants.O_RDONLY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    fail('writing', path, err);
  }
}

/** Stage the material under stateDir/relDir; every file 0600, the directory 0700. */
export function writeStagedFiles(stateDir: string, relDir: string, material: CertMaterial): void {
  const dir = join(stateDir, relDir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    fail('creating', dir, err);
  }
  for (const kind of MATERIAL_KINDS) writeFileAtomic(join(dir, `${kind}.pem`), material[kind], 0o600);
}

export function stagedPath(stateDir: string, relDir: string, kind: MaterialKind): string {
  return join(stateDir, relDir, `${kind}.pem`);
}

export function readStagedMaterial(stateDir: string, relDir: string): CertMaterial {
  const out = {} as CertMaterial;
  for (const kind of MATERIAL_KINDS) {
    const p = stagedPath(stateDir, relDir, kind);
    try {
      out[kind] = readFileSync(p, 'utf8');
    } catch (err) {
      fail('reading staged file', p, err);
    }
  }
  return out;
}

export type InstallTargets = Partial<Record<MaterialKind, string>>;

/**
 * Back up the targets that exist into backupDir (a missing one is remembered as absent), then
 * install the material. Restoring puts every target back as it was.
 */
export function installMaterial(targets: InstallTargets, material: CertMaterial, backupDir: string, mode: number, owner?: { uid: number; gid: number }): void {
  mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  for (const kind of MATERIAL_KINDS) {
    const target = targets[kind];
    if (!target) continue;
    const backup = join(backupDir, kind);
    if (existsSync(backup) || existsSync(`${backup}.absent`)) continue; // a rerun after a crash: keep the first backup
    try {
      if (existsSync(target)) copyFileSync(target, backup);
      else writeFileSync0600(`${backup}.absent`, target);
    } catch (err) {
      fail('backing up', target, err);
    }
  }
  for (const kind of MATERIAL_KINDS) {
    const target = targets[kind];
    if (target) writeFileAtomic(target, material[kind], mode, owner);
  }
}

export function restoreMaterial(targets: InstallTargets, backupDir: string, mode: number, owner?: { uid: number; gid: number }): void {
  for (const kind of MATERIAL_KINDS) {
    const target = targets[kind];
    if (!target) continue;
    const backup = join(backupDir, kind);
    if (existsSync(backup)) writeFileAtomic(target, readFileSync(backup, 'utf8'), mode, owner);
    else if (existsSync(`${backup}.absent`)) rmSync(target, { force: true });
  }
}

function writeFileSync0600(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
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
