// Test certificates made with the openssl CLI at test time (an independent implementation, so the
// code under test never produces its own fixtures): a small CA, intermediates, and leaves (RSA or
// ECDSA or Ed25519) in a temp dir, with PEM paths, DER bytes and the PEM bundles services load.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyType = 'rsa' | 'ecdsa' | 'ed25519';

export interface CertFiles {
  /** Directory the files live in. */
  dir: string;
  name: string;
  keyPath: string;
  certPath: string;
  /** Certificate followed by its issuers up to (not including) a root, as servers send it. */
  fullchainPath: string;
  /** Private key followed by the full chain (postfix smtpd_tls_chain_files, lego --pem). */
  combinedPath: string;
  certPem: string;
  der: Buffer;
  /** DER of the full chain, leaf first (what a server presents with fullchainPath). */
  chainDer: Buffer[];
}

export interface Ca extends CertFiles {
  /** Issuer of this CA (undefined for a root). */
  parent: Ca | undefined;
}

export interface CertOptions {
  keyType?: KeyType;
  days?: number;
  /** Where to write; default a fresh temp dir removed by `removeCertDir`. */
  dir?: string;
  /** Extra openssl x509v3 extension lines (CA-signed certificates), e.g. "subjectKeyIdentifier=none". */
  extraExtensions?: string;
  /** Sign this existing private key instead of a new one (a renewal that keeps its key; CA-signed only). */
  keyPath?: string;
}

function runOpenssl(args: string[], input?: string | Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function keygenArgs(keyType: KeyType): string[] {
  if (keyType === 'rsa') return ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
  if (keyType === 'ed25519') return ['-algorithm', 'ED25519'];
  return ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
}

let serial = Date.now();

function pemToDer(pem: string): Buffer {
  return runOpenssl(['x509', '-outform', 'DER'], pem);
}

function finish(dir: string, name: string, keyPath: string, certPath: string, issuers: CertFiles[]): CertFiles {
  const certPem = readFileSync(certPath, 'utf8');
  const fullchainPem = [certPem, ...issuers.map((c) => c.certPem)].join('');
  const fullchainPath = join(dir, `${name}.fullchain.pem`);
  writeFileSync(fullchainPath, fullchainPem);
  const combinedPath = join(dir, `${name}.combined.pem`);
  writeFileSync(combinedPath, readFileSync(keyPath, 'utf8') + fullchainPem, { mode: 0o600 });
  const der = pemToDer(certPem);
  return { dir, name, keyPath, certPath, fullchainPath, combinedPath, certPem, der, chainDer: [der, ...issuers.map((c) => c.der)] };
}

function issuerPath(ca: Ca): Ca[] {
  // The chain a server sends: intermediates, excluding the self-signed root.
  const out: Ca[] = [];
  for (let c: Ca | undefined = ca; c !== undefined && c.parent !== undefined; c = c.parent) out.push(c);
  return out;
}

/** I/O: a self-signed root CA (keyType default ecdsa). */
export function makeCa(name = 'Test Root CA', opts: CertOptions = {}): Ca {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'danehook-certs-'));
  const file = name.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
  const keyPath = join(dir, `${file}.key.pem`);
  const certPath = join(dir, `${file}.pem`);
  runOpenssl(['genpkey', ...keygenArgs(opts.keyType ?? 'ecdsa'), '-out', keyPath]);
  runOpenssl([
    'req', '-x509', '-new', '-key', keyPath, '-out', certPath, '-subj', `/CN=${name}`,
    '-days', String(opts.days ?? 30), '-set_serial', String(serial++),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { ...finish(dir, file, keyPath, certPath, []), parent: undefined };
}

function signWithCa(ca: Ca, dir: string, file: string, subject: string, keyType: KeyType, days: number, ext: string, existingKey?: string): { keyPath: string; certPath: string } {
  const keyPath = existingKey ?? join(dir, `${file}.key.pem`);
  const csrPath = join(dir, `${file}.csr`);
  const certPath = join(dir, `${file}.pem`);
  const extPath = join(dir, `${file}.ext`);
  if (!existingKey) runOpenssl(['genpkey', ...keygenArgs(keyType), '-out', keyPath]);
  runOpenssl(['req', '-new', '-key', keyPath, '-out', csrPath, '-subj', subject]);
  writeFileSync(extPath, ext);
  runOpenssl([
    'x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', String(serial++),
    '-days', String(days), '-extfile', extPath, '-out', certPath,
  ]);
  return { keyPath, certPath };
}

/** I/O: an intermediate CA signed by `ca`. */
export function makeIntermediate(ca: Ca, name = 'Test Intermediate CA', opts: CertOptions = {}): Ca {
  const dir = opts.dir ?? ca.dir;
  const file = name.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
  const { keyPath, certPath } = signWithCa(ca, dir, file, `/CN=${name}`, opts.keyType ?? 'ecdsa', opts.days ?? 30,
    `basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n${opts.extraExtensions ?? ''}\n`, opts.keyPath);
  return { ...finish(dir, file, keyPath, certPath, issuerPath(ca)), parent: ca };
}

/** I/O: a leaf for `names` (first is the CN) signed by `ca`; fullchain = leaf + non-root issuers. */
export function makeLeaf(ca: Ca, names: string[], opts: CertOptions = {}): CertFiles {
  if (names.length === 0) throw new Error('makeLeaf needs at least one name');
  const dir = opts.dir ?? ca.dir;
  const keyType = opts.keyType ?? 'ecdsa';
  const file = `${names[0]!.replace(/[^A-Za-z0-9]+/g, '-')}-${keyType}-${serial}`;
  const san = names.map((n) => (/^[0-9.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const { keyPath, certPath } = signWithCa(ca, dir, file, `/CN=${names[0]}`, keyType, opts.days ?? 30,
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature${keyType === 'rsa' ? ',keyEncipherment' : ''}\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n${opts.extraExtensions ?? ''}\n`, opts.keyPath);
  return finish(dir, file, keyPath, certPath, issuerPath(ca));
}

/** I/O: a self-signed leaf (no CA), e.g. a typical self-signed SMTP server certificate. */
export function makeSelfSignedLeaf(names: string[], opts: CertOptions = {}): CertFiles {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'danehook-certs-'));
  const keyType = opts.keyType ?? 'ecdsa';
  const file = `${names[0]!.replace(/[^A-Za-z0-9]+/g, '-')}-selfsigned-${keyType}-${serial++}`;
  const keyPath = join(dir, `${file}.key.pem`);
  const certPath = join(dir, `${file}.pem`);
  runOpenssl(['genpkey', ...keygenArgs(keyType), '-out', keyPath]);
  runOpenssl([
    'req', '-x509', '-new', '-key', keyPath, '-out', certPath, '-subj', `/CN=${names[0]}`, '-days', String(opts.days ?? 30),
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
  ]);
  return finish(dir, file, keyPath, certPath, []);
}

/** I/O: write `certs`' PEMs as one file (e.g. a chain in an unusual order); returns its path. */
export function writePemBundle(path: string, parts: string[]): string {
  writeFileSync(path, parts.join(''), { mode: 0o600 });
  return path;
}

/** I/O, independent known answer: openssl's TLSA association data for a PEM certificate file. */
export function opensslAssociation(certPath: string, selector: 0 | 1, matchingType: 0 | 1 | 2): string {
  const selected = selector === 0
    ? runOpenssl(['x509', '-in', certPath, '-outform', 'DER'])
    : runOpenssl(['pkey', '-pubin', '-outform', 'DER'], runOpenssl(['x509', '-in', certPath, '-pubkey', '-noout']).toString());
  if (matchingType === 0) return selected.toString('hex');
  const out = runOpenssl(['dgst', matchingType === 1 ? '-sha256' : '-sha512', '-r'], selected).toString();
  return out.split(/\s/)[0]!.toLowerCase();
}

export function removeCertDir(c: CertFiles): void {
  rmSync(c.dir, { recursive: true, force: true });
}

/** I/O: sign a CSR (e.g. `danehook next-key --csr`) with `ca` as a server leaf for `names`; openssl checks the CSR's signature first. */
export function signCsr(ca: Ca, csrPath: string, names: string[], opts: { days?: number; dir?: string } = {}): CertFiles {
  const dir = opts.dir ?? ca.dir;
  const file = `${names[0]!.replace(/[^A-Za-z0-9]+/g, '-')}-csr-${serial}`;
  runOpenssl(['req', '-in', csrPath, '-noout', '-verify']); // throws unless the CSR's self-signature verifies
  const certPath = join(dir, `${file}.pem`);
  const extPath = join(dir, `${file}.ext`);
  writeFileSync(extPath, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`);
  runOpenssl(['x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', String(serial++), '-days', String(opts.days ?? 30), '-extfile', extPath, '-out', certPath]);
  // No key of ours: the combined file holds only the chain (the key stays with whoever made the CSR).
  const certPem = readFileSync(certPath, 'utf8');
  const fullchainPath = join(dir, `${file}.fullchain.pem`);
  writeFileSync(fullchainPath, [certPem, ...issuerPath(ca).map((c) => c.certPem)].join(''));
  const der = pemToDer(certPem);
  return { dir, name: file, keyPath: '', certPath, fullchainPath, combinedPath: fullchainPath, certPem, der, chainDer: [der, ...issuerPath(ca).map((c) => c.der)] };
}

/** I/O, independent known answer: SHA-256 of a private key file's public key (DER SPKI), as TLSA 3 1 1 publishes it. */
export function opensslKeySpkiSha256(keyPath: string): string {
  const pub = runOpenssl(['pkey', '-in', keyPath, '-pubout', '-outform', 'DER']);
  return runOpenssl(['dgst', '-sha256', '-r'], pub).toString().split(/\s/)[0]!.toLowerCase();
}
