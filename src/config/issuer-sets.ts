// Read an entry's `issuers` item: a PEM file (one or more CA certificates) or the name of a set
// shipped in examples/issuers/ (sets.json lists its files). I/O at config load; errors name the path.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCertificate } from '../core/certificate.js';
import { dedupeIssuers, toIssuerCert, type IssuerCert } from '../core/issuers.js';
import { parsePemBlocks } from '../core/pem.js';
import { formatIssuePath } from './issues.js';

/** examples/issuers/ of the package: two levels up from src/config/ and from dist/config/ alike. */
export const ISSUER_DATA_DIR = fileURLToPath(new URL('../../examples/issuers/', import.meta.url));

/** A bare lowercase word is a set name; anything else ("./letsencrypt", "/etc/x.pem") is a file. */
const SET_NAME = /^[a-z][a-z0-9-]*$/;

interface NamedSet {
  files: string[];
  about: string;
}

function readNamedSets(): Record<string, NamedSet> {
  return JSON.parse(readFileSync(join(ISSUER_DATA_DIR, 'sets.json'), 'utf8')) as Record<string, NamedSet>;
}

/** Names of the shipped sets with what each holds (for messages and docs). */
export function listNamedSets(): { name: string; about: string }[] {
  return Object.entries(readNamedSets()).map(([name, s]) => ({ name, about: s.about }));
}

function describeReadError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${path} does not exist`;
  if (code === 'EACCES') return `${path} is not readable (permission denied)`;
  if (code === 'EISDIR') return `${path} is a directory, not a PEM file`;
  return `${path} cannot be read: ${(err as Error).message}`;
}

/** I/O: the CA certificates in one PEM file; throws Error with a message naming the file. */
function readIssuerFile(path: string, source: string): IssuerCert[] {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    throw new Error(describeReadError(path, err));
  }
  const blocks = parsePemBlocks(text, path);
  const other = blocks.find((b) => b.label !== 'CERTIFICATE');
  // A key here means the wrong file (a combined key + chain file): never read a key as an issuer.
  if (other) throw new Error(`${path} holds a "${other.label}" block; an issuer file holds CA certificates only`);
  return blocks.map((b) => {
    const c = parseCertificate(b);
    if (!c.isCa) throw new Error(`${path}: "${c.subject}" is not a CA certificate (basicConstraints CA:TRUE); list the intermediates that sign your certificates, not a leaf`);
    return toIssuerCert(c, source);
  });
}

/** I/O: the certificates one `issuers` item names; throws Error with a message for the config path. */
export function readIssuerSource(item: string): IssuerCert[] {
  if (!SET_NAME.test(item)) return readIssuerFile(item, item);
  const sets = readNamedSets();
  const set = Object.hasOwn(sets, item) ? sets[item] : undefined;
  if (!set) {
    throw new Error(`unknown issuer set "${item}" (shipped sets: ${Object.keys(sets).join(', ')}); for a file in the working directory write "./${item}"`);
  }
  return set.files.flatMap((f) => readIssuerFile(join(ISSUER_DATA_DIR, f), item));
}

/**
 * I/O: fill each entry's `issuers` from the `issuers` items it was configured with (deduplicated);
 * returns every problem as "certificates[0].issuers[1]: ...", like the schema's messages.
 */
export function resolveIssuerSets(entries: { issuerSources?: string[] | undefined; issuers?: readonly IssuerCert[] | undefined }[]): string[] {
  const problems: string[] = [];
  entries.forEach((entry, i) => {
    if (!entry.issuerSources) return;
    const certs: IssuerCert[] = [];
    entry.issuerSources.forEach((item, j) => {
      try {
        certs.push(...readIssuerSource(item));
      } catch (err) {
        problems.push(`${formatIssuePath(['certificates', i, 'issuers', j])}: ${(err as Error).message}`);
      }
    });
    entry.issuers = dedupeIssuers(certs);
  });
  return problems;
}
