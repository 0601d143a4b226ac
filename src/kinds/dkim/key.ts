// DKIM private keys: generated with node:crypto (RSA 2048/3072 as PKCS#1 PEM, which every signer
// reads; Ed25519 as PKCS#8), and the public half (DER SPKI) of a key file for the TXT record.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { computeSpkiHash } from '../../core/certificate.js';
import { StateIoError } from '../../errors.js';
import type { DkimKeyType } from './records.js';

export interface DkimKey {
  pem: string;
  spkiDer: Buffer;
  /** SHA-256 of the SPKI (hex): the key's identity in the state. */
  spki: string;
}

export function generateDkimKey(keyType: DkimKeyType): DkimKey {
  if (keyType === 'ed25519') {
    const { privateKey } = generateKeyPairSync('ed25519');
    return describe(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: keyType === 'rsa-3072' ? 3072 : 2048, publicExponent: 65537 });
  return describe(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
}

export function describe(pem: string): DkimKey {
  const spkiDer = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
  return { pem, spkiDer, spki: computeSpkiHash(spkiDer) };
}

export function readDkimKey(path: string): DkimKey {
  try {
    return describe(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new StateIoError(`reading DKIM key ${path} failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

/** "rsa" / "ed25519" for the state's keyType field. */
export const stateKeyType = (t: DkimKeyType): 'rsa' | 'ed25519' => (t === 'ed25519' ? 'ed25519' : 'rsa');
