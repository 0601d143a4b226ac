// A PEM bundle (leaf, chain and key in any order) → the parsed leaf, its issuer chain and key, with
// the checks an operator needs before anything is published: key matches, names covered, valid now.
import 'reflect-metadata';
import { X509Certificate as PeculiarCertificate, SubjectAlternativeNameExtension, BasicConstraintsExtension } from '@peculiar/x509';
import { X509Certificate as NodeCertificate, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CertificateError } from '../errors.js';
import type { PemBlock } from './pem.js';

export interface CertInfo {
  der: Buffer; // the certificate, DER (TLSA selector 0)
  spki: Buffer; // SubjectPublicKeyInfo, DER (TLSA selector 1)
  subject: string;
  issuer: string;
  dnsNames: string[]; // subjectAltName dNSName entries, lowercase
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
}

export interface CertificateBundle {
  leaf: CertInfo;
  /** Issuers in order: chain[0] issued the leaf, chain[1] issued chain[0], ... */
  chain: CertInfo[];
  /** The private key's DER as read and its kind; absent when no key was given. */
  key?: { der: Buffer; format: 'pkcs8' | 'sec1' | 'pkcs1'; description: string };
}

const KEY_FORMATS: Record<string, 'pkcs8' | 'sec1' | 'pkcs1'> = {
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
  'RSA PRIVATE KEY': 'pkcs1',
};
const IGNORED_LABELS = new Set(['EC PARAMETERS']);

/** SHA-256 of the SPKI, hex: the stable identity of a key across renewals (= TLSA 3 1 1 data). */
export function computeSpkiHash(spki: Uint8Array): string {
  return createHash('sha256').update(spki).digest('hex');
}

/** SHA-256 of the certificate's DER: tells a renewal with the same key from the same certificate. */
export function computeCertFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** One CERTIFICATE block → its parts; CertificateError when it is not X.509. */
export function parseCertificate(block: PemBlock): CertInfo {
  let cert: PeculiarCertificate;
  try {
    cert = new PeculiarCertificate(new Uint8Array(block.der));
  } catch (err) {
    throw new CertificateError(`${block.source}: a CERTIFICATE block is not a valid X.509 certificate (${(err as Error).message})`);
  }
  const san = cert.getExtension(SubjectAlternativeNameExtension);
  const dnsNames = san ? san.names.items.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase().replace(/\.$/, '')) : [];
  const bc = cert.getExtension(BasicConstraintsExtension);
  return {
    der: Buffer.from(cert.rawData),
    spki: Buffer.from(cert.publicKey.rawData),
    subject: cert.subject,
    issuer: cert.issuer,
    dnsNames,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: bc?.ca === true,
  };
}

function readPrivateKey(block: PemBlock): { der: Buffer; format: 'pkcs8' | 'sec1' | 'pkcs1'; object: KeyObject } {
  const format = KEY_FORMATS[block.label]!;
  try {
    const object = createPrivateKey({ key: block.der, format: 'der', type: format });
    return { der: block.der, format, object };
  } catch (err) {
    throw new CertificateError(`${block.source}: the ${block.label} block is not a readable private key (${(err as Error).message})`);
  }
}

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return `RSA ${d?.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') return `ECDSA ${d?.namedCurve ?? '?'}`;
  return String(key.asymmetricKeyType);
}

/** Did `issuer` sign `subject`? Name match plus signature check (node:crypto, synchronous). */
function issued(issuer: CertInfo, subject: CertInfo): boolean {
  if (issuer.subject !== subject.issuer) return false;
  try {
    const s = new NodeCertificate(subject.der);
    return s.verify(new NodeCertificate(issuer.der).publicKey);
  } catch {
    return false;
  }
}

/**
 * Assemble a bundle from PEM blocks. `leafHint` is the DER of the certificate the client named as
 * "the certificate" (lego's .crt starts with it); without it the leaf is the one certificate that
 * issued no other certificate in the set.
 */
export function assembleBundle(blocks: PemBlock[], leafHint?: Buffer): CertificateBundle {
  const unknown = blocks.find((b) => b.label !== 'CERTIFICATE' && !(b.label in KEY_FORMATS) && !IGNORED_LABELS.has(b.label));
  if (unknown) {
    const why = unknown.label === 'ENCRYPTED PRIVATE KEY' ? 'encrypted private keys are not supported' : `unexpected PEM block "${unknown.label}"`;
    throw new CertificateError(`${unknown.source}: ${why}`);
  }
  const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certBlocks.length === 0) throw new CertificateError(`no certificate found in ${[...new Set(blocks.map((b) => b.source))].join(', ')}`);
  // The same certificate often arrives twice (cert.pem and fullchain.pem): keep one of each.
  const byDer = new Map<string, CertInfo>();
  for (const b of certBlocks) {
    const key = b.der.toString('base64');
    if (!byDer.has(key)) byDer.set(key, parseCertificate(b));
  }
  const certs = [...byDer.values()];

  let leaf: CertInfo;
  if (leafHint) {
    leaf = byDer.get(leafHint.toString('base64')) ?? parseCertificate({ label: 'CERTIFICATE', der: leafHint, source: 'certificate' });
  } else {
    // The leaf issued nothing in the set; prefer non-CA certificates so a stray root is not taken for it.
    const issuedNothing = certs.filter((c) => !certs.some((o) => o !== c && issued(c, o)));
    const endEntities = issuedNothing.filter((c) => !c.isCa);
    const leaves = endEntities.length > 0 ? endEntities : issuedNothing;
    if (leaves.length !== 1) {
      throw new CertificateError(
        leaves.length === 0
          ? 'cannot tell which certificate is the leaf: every certificate issued another (a loop?)'
          : `the input holds ${leaves.length} unrelated end-entity certificates (${leaves.map((l) => l.subject).join('; ')}); give one certificate with its own chain`,
      );
    }
    leaf = leaves[0]!;
  }
  if (leaf.isCa && certs.length > 1) throw new CertificateError(`the leaf certificate "${leaf.subject}" is a CA certificate; the bundle's order or content is wrong`);

  // Walk issuers from the leaf; every other certificate must be on that path (chain order sane).
  const chain: CertInfo[] = [];
  const rest = new Set(certs.filter((c) => c !== leaf));
  for (let current = leaf; ; ) {
    if (current.subject === current.issuer && issued(current, current)) break; // self-signed root
    const next = [...rest].find((c) => issued(c, current));
    if (!next) break;
    chain.push(next);
    rest.delete(next);
    current = next;
  }
  if (rest.size > 0) {
    throw new CertificateError(`certificate "${[...rest][0]!.subject}" in the chain did not issue "${(chain.at(-1) ?? leaf).subject}" or any certificate above it; the chain does not belong to this leaf`);
  }

  const keyBlocks = blocks.filter((b) => b.label in KEY_FORMATS);
  const uniqueKeys = [...new Map(keyBlocks.map((b) => [b.der.toString('base64'), b])).values()];
  if (uniqueKeys.length > 1) throw new CertificateError(`the input holds ${uniqueKeys.length} different private keys; give exactly one`);
  if (uniqueKeys.length === 0) return { leaf, chain };

  const key = readPrivateKey(uniqueKeys[0]!);
  const keySpki = createPublicKey(key.object).export({ type: 'spki', format: 'der' });
  if (!keySpki.equals(leaf.spki)) {
    throw new CertificateError(`the private key (${uniqueKeys[0]!.source}) does not belong to the certificate "${leaf.subject}" (public keys differ)`);
  }
  return { leaf, chain, key: { der: key.der, format: key.format, description: describeKey(key.object) } };
}

export const NOT_BEFORE_TOLERANCE_MS = 5 * 60_000;

/** RFC 6125 §6.4.3: "*" only as the whole left-most label, matching exactly one label. */
export function nameCovers(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const n = name.toLowerCase().replace(/\.$/, '');
  if (p === n) return true;
  if (!p.startsWith('*.')) return false;
  const suffix = p.slice(1); // ".example.com"
  if (suffix.split('.').length < 3) return false; // no "*.com"
  if (!n.endsWith(suffix)) return false;
  const label = n.slice(0, n.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

/** Checks before publishing: each domain covered, valid at `now`, key present when required. */
export function checkBundle(bundle: CertificateBundle, opts: { domains: string[]; now: Date; requireKey: boolean }): void {
  const { leaf } = bundle;
  if (opts.requireKey && !bundle.key) throw new CertificateError(`no private key given for "${leaf.subject}" (use --key or a --pem file holding the key)`);
  if (leaf.dnsNames.length === 0) throw new CertificateError(`certificate "${leaf.subject}" has no DNS names in subjectAltName`);
  const missing = opts.domains.filter((d) => !leaf.dnsNames.some((p) => nameCovers(p, d)));
  if (missing.length > 0) {
    throw new CertificateError(`certificate for ${leaf.dnsNames.join(', ')} does not cover ${missing.join(', ')}; renew it with those names or fix "domains" in the config`);
  }
  // A CA clock a little ahead of ours is common right after issuance: allow a few minutes.
  if (opts.now.getTime() + NOT_BEFORE_TOLERANCE_MS < leaf.notBefore.getTime()) throw new CertificateError(`certificate "${leaf.subject}" is not valid until ${leaf.notBefore.toISOString()} (check the clock)`);
  if (opts.now > leaf.notAfter) throw new CertificateError(`certificate "${leaf.subject}" expired on ${leaf.notAfter.toISOString()}`);
}
