// Read the files a CertEvent names and assemble the certificate bundle. Missing, unreadable or
// oversized files are usage errors naming the variable or flag they came from.
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { CertEvent, CertFiles } from '../clients/event.js';
import { parsePemBlocks, type PemBlock } from '../core/pem.js';
import { assembleBundle, type CertificateBundle } from '../core/certificate.js';

/** A certificate bundle is a few KiB; anything far larger is not what the client meant to hand us. */
export const MAX_PEM_BYTES = 1 << 20;

const READ_ORDER: (keyof CertFiles)[] = ['pem', 'certificate', 'fullchain', 'chain', 'key'];

export function readPemFile(path: string, source: string): string {
  const label = `${path} (${source})`;
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`${label} is a directory, not a PEM file`);
    size = st.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ELOOP' ? 'is a symlink loop' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code})`;
    throw new UsageError(`${label} ${why}`);
  }
  if (size > MAX_PEM_BYTES) throw new UsageError(`${label} is ${size} bytes; a certificate bundle is at most ${MAX_PEM_BYTES} bytes`);
  try {
    return readFileSync(path, 'latin1');
  } catch (err) {
    throw new UsageError(`${label} cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
}

/** Read every file of the event and assemble leaf, chain and key. */
export function readCertificateBundle(event: CertEvent): CertificateBundle {
  const blocks: PemBlock[] = [];
  let leafHint: Buffer | undefined;
  for (const kind of READ_ORDER) {
    const path = event.files[kind];
    if (!path) continue;
    const source = event.sources[kind] ?? kind;
    const fileBlocks = parsePemBlocks(readPemFile(path, source), `${path} (${source})`);
    // The file the client calls "the certificate" starts with the leaf (lego's .crt adds the issuer).
    if (kind === 'certificate') leafHint = fileBlocks.find((b) => b.label === 'CERTIFICATE')?.der;
    blocks.push(...fileBlocks);
  }
  return assembleBundle(blocks, leafHint);
}
