// The signer's configuration on disk (I/O): which key it signs the domain with now, switching it
// to another (each file written atomically, keeping its owner, group and mode), and backing the
// files up / restoring them for a rollback. Custom signers are driven by their `activate` argv.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DkimEntry } from '../../config/dkim-schema.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { readDomainMap, readOpendkimKey, writeDomainMap, writeKeyTable, writeSigningTable, type SignerKey } from './signer-tables.js';

const readText = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');

function writeKeepingMeta(path: string, text: string): void {
  const st = existsSync(path) ? statSync(path) : undefined;
  writeFileAtomic(path, text, { mode: st ? st.mode & 0o777 : 0o644, uid: st?.uid, gid: st?.gid, what: 'writing signer configuration' });
}

/**
 * Where the signer reads the key of a selector: rspamd by its path template
 * "<keyDir>/$domain.$selector.key", the others "<keyDir>/<selector>.private".
 */
export function signerKeyFile(entry: DkimEntry, selector: string): string {
  return entry.signer.preset === 'rspamd' ? join(entry.signer.keyDir, `${entry.domain}.${selector}.key`) : join(entry.signer.keyDir, `${selector}.private`);
}

/** The files a preset edits (a custom signer: none). */
export function listSignerFiles(entry: DkimEntry): string[] {
  const g = entry.signer;
  return g.preset === 'opendkim' ? [g.keyTable, g.signingTable] : g.preset === 'rspamd' ? [g.selectorMap] : [];
}

/** The key the signer uses for the domain now, as its configuration says (custom: unknown). */
export function readSignerKey(entry: DkimEntry): SignerKey | undefined {
  const g = entry.signer;
  if (g.preset === 'opendkim') return readOpendkimKey(readText(g.keyTable), readText(g.signingTable), entry.domain);
  if (g.preset === 'rspamd') {
    const selector = readDomainMap(readText(g.selectorMap), entry.domain);
    return selector ? { selector, keyFile: signerKeyFile(entry, selector) } : undefined;
  }
  return undefined;
}

/** Point the signer's configuration at `key` (the reload is the caller's). */
export function writeSignerKey(entry: DkimEntry, key: SignerKey): void {
  const g = entry.signer;
  if (g.preset === 'opendkim') {
    // The SigningTable first (it names the key by the KeyTable's old names), then the KeyTable.
    const keyTable = readText(g.keyTable);
    const signingTable = writeSigningTable(readText(g.signingTable), entry.domain, key.selector, keyTable);
    writeKeepingMeta(g.keyTable, writeKeyTable(keyTable, entry.domain, key));
    writeKeepingMeta(g.signingTable, signingTable);
  } else if (g.preset === 'rspamd') {
    writeKeepingMeta(g.selectorMap, writeDomainMap(readText(g.selectorMap), entry.domain, key.selector));
  }
}

/** Copy the signer's files into `dir` (an absent file is remembered as absent). */
export function backupSignerFiles(entry: DkimEntry, dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [i, path] of listSignerFiles(entry).entries()) {
    const copy = join(dir, `${i}-${basename(path)}`);
    rmSync(copy, { force: true });
    if (existsSync(path)) copyFileSync(path, copy);
  }
}

/** Put the backed-up files back (atomically); an absent backup means the file did not exist. */
export function restoreSignerFiles(entry: DkimEntry, dir: string): void {
  for (const [i, path] of listSignerFiles(entry).entries()) {
    const copy = join(dir, `${i}-${basename(path)}`);
    if (existsSync(copy)) writeKeepingMeta(path, readFileSync(copy, 'utf8'));
    else rmSync(path, { force: true });
  }
}
