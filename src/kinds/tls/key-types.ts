// Which key type a probe of an entry offers: the type of the certificate expected there (the
// rollover's or the live one), so a service holding RSA and ECDSA certificates for one name must
// show the one this entry manages (RFC 8446 §4.2.3 signature_algorithms steers the server's choice).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CertificateEntry } from '../../config/schema.js';
import { computeKeyType, type KeyType } from '../../core/key-type.js';
import { computeSpkiHash } from '../../core/certificate.js';
import type { EntryState, Rollover } from '../../core/state.js';
import { readStagedMaterial } from '../../io/files.js';
import { listInstalledCertificatePaths } from '../../io/material.js';
import type { Session } from '../../rollover/session.js';

/** The first certificate of a PEM text: its SPKI hash and key type; undefined when unreadable. */
function readLeafKey(pem: string): { spki: string; keyType: KeyType | undefined } | undefined {
  try {
    const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    return { spki: computeSpkiHash(spki), keyType: computeKeyType(spki) ?? undefined };
  } catch {
    return undefined;
  }
}

/** The rollover's key type: kept in state, else (a state from before it was kept) its staged certificate's. */
export function readRolloverKeyType(s: Session, r: Rollover): KeyType | undefined {
  if (r.keyType) return r.keyType;
  try {
    return readLeafKey(readStagedMaterial(s.loaded.config.stateDir, r.stagedDir).certificate)?.keyType;
  } catch {
    return undefined; // staged files gone: probe unrestricted, as before key types were known
  }
}

/** The live certificate's key type: kept in state, else the installed file's when it is that certificate. */
export function readLiveKeyType(entry: CertificateEntry, es: EntryState): KeyType | undefined {
  if (!es.live) return undefined;
  if (es.live.keyType) return es.live.keyType;
  for (const path of listInstalledCertificatePaths(entry.install)) {
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      continue;
    }
    // X509Certificate reads the first CERTIFICATE block (a combined file starts with the key).
    const found = readLeafKey(text.slice(Math.max(0, text.indexOf('-----BEGIN CERTIFICATE-----'))));
    if (found?.spki === es.live.spki) return found.keyType;
  }
  return undefined;
}

/** Key types, without repeats or unknowns, in the order given. */
export function computeKeyTypes(...types: (KeyType | undefined)[]): KeyType[] {
  return [...new Set(types.filter((t): t is KeyType => t !== undefined))];
}
