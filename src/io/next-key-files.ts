// Next keys on disk: generate one like the current key (0600 PKCS#8 under stateDir/next/<id>/,
// named by its SPKI hash), read a client's next key, find the key a keyless certificate carries,
// write a CSR for it (RFC 2986, via @peculiar/x509), and remove keys nothing refers to any more.
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { computeSpkiHash } from '../core/certificate.js';
import { CertificateError, StateIoError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { readPemFile } from './cert-files.js';

export const NEXT_DIR = 'next';

export interface KeyOnDisk {
  /** SHA-256 of the DER SubjectPublicKeyInfo (hex): what 3 1 1 publishes. */
  spki: string;
  spkiDer: Buffer;
  pem: string;
}

function describe(key: KeyObject): KeyOnDisk & { key: KeyObject } {
  const spkiDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return { key, spkiDer, spki: computeSpkiHash(spkiDer), pem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A fresh key of the same algorithm and size (curve) as the public key `templateSpki` (DER). */
export function generateKeyLike(templateSpki: Uint8Array): KeyOnDisk {
  const pub = createPublicKey({ key: Buffer.from(templateSpki), format: 'der', type: 'spki' });
  const d = pub.asymmetricKeyDetails ?? {};
  switch (pub.asymmetricKeyType) {
    case 'rsa':
      return describe(generateKeyPairSync('rsa', { modulusLength: d.modulusLength ?? 2048, publicExponent: 65537 }).privateKey);
    case 'ec':
      return describe(generateKeyPairSync('ec', { namedCurve: d.namedCurve ?? 'prime256v1' }).privateKey);
    case 'ed25519':
      return describe(generateKeyPairSync('ed25519').privateKey);
    default:
      throw new CertificateError(`cannot generate a next key like a ${pub.asymmetricKeyType} key: use RSA, ECDSA or Ed25519`);
  }
}

/** Read a private key file (any PEM form the clients write) and describe its public half. */
export function readKeyFile(path: string, source: string): KeyOnDisk {
  const text = readPemFile(path, source);
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    throw new CertificateError(`${source} ${path} holds no readable private key (${(err as Error).message})`);
  }
  return describe(key);
}

const keyFileName = (spki: string): string => `${spki}.key`;

/** Store a generated key 0600 (directories 0700); returns its path relative to stateDir. */
export function writeGeneratedKey(stateDir: string, id: string, key: KeyOnDisk): string {
  const rel = join(NEXT_DIR, id, keyFileName(key.spki));
  try {
    mkdirSync(join(stateDir, NEXT_DIR, id), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StateIoError(`creating ${join(stateDir, NEXT_DIR, id)} failed (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
  writeFileAtomic(join(stateDir, rel), key.pem, { mode: 0o600, what: 'writing next key' });
  return rel;
}

/** The generated key whose public key has this SPKI hash (a certificate from our CSR), if kept. */
export function findGeneratedKey(stateDir: string, id: string, spki: string): string | undefined {
  const path = join(stateDir, NEXT_DIR, id, keyFileName(spki));
  return existsSync(path) ? path : undefined;
}

/** Delete generated keys (and their CSRs) of `id` other than those listed (used up and cleaned, or retired unused). */
export function removeGeneratedKeysExcept(stateDir: string, id: string, keep: string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(join(stateDir, NEXT_DIR, id));
  } catch {
    return [];
  }
  // Keys and the CSRs written for them (`danehook next-key --csr`), by SPKI hash.
  const gone = names.filter((n) => /\.(key|csr)$/.test(n) && !keep.includes(n.replace(/\.(key|csr)$/, '')));
  for (const n of gone) rmSync(join(stateDir, NEXT_DIR, id, n), { force: true });
  return gone;
}

/** Signature algorithm for a CSR by key type (WebCrypto names). */
function signingAlgorithm(key: KeyObject): { import: RsaHashedImportParams | EcKeyImportParams | Algorithm; sign: Algorithm | EcdsaParams } {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5' } };
    case 'ec': {
      const curve = d.namedCurve === 'secp384r1' ? 'P-384' : 'P-256';
      return { import: { name: 'ECDSA', namedCurve: curve }, sign: { name: 'ECDSA', hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' } as EcdsaParams };
    }
    case 'ed25519':
      return { import: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
    default:
      throw new CertificateError(`cannot write a CSR for a ${key.asymmetricKeyType} key`);
  }
}

/** A PEM CSR for `domains` (first as CN, all as SAN dNSName) signed by the key at `keyPath`. */
export async function createCsr(keyPath: string, domains: string[]): Promise<string> {
  const x509 = await import('@peculiar/x509');
  const key = createPrivateKey(readPemFile(keyPath, 'next key'));
  const alg = signingAlgorithm(key);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', pkcs8, alg.import, false, ['sign']);
  const publicKey = await subtle.importKey('spki', spki, alg.import, true, ['verify']);
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${domains[0]}`,
    keys: { privateKey, publicKey } as CryptoKeyPair,
    signingAlgorithm: alg.sign,
    extensions: [new x509.SubjectAlternativeNameExtension(domains.map((d) => ({ type: 'dns' as const, value: d })))],
  });
  return csr.toString('pem');
}
