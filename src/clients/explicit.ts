// Explicit files on the command line: --pem FILE (key + chain in one file), or --cert FILE
// [--chain FILE] [--key FILE]. Mixing the two forms is a usage error.
import { UsageError } from '../errors.js';
import { addFile, type CertEvent } from './event.js';

export interface ExplicitFiles {
  pem?: string;
  cert?: string;
  chain?: string;
  key?: string;
}

export function readExplicit(f: ExplicitFiles): CertEvent {
  if (f.pem && (f.cert || f.chain || f.key)) throw new UsageError('give either --pem FILE or --cert/--chain/--key, not both');
  if (f.pem) return { client: 'explicit', domains: [], files: { pem: f.pem }, sources: { pem: '--pem' } };
  if (!f.cert) throw new UsageError('--chain and --key need --cert FILE as well');
  const event: CertEvent = { client: 'explicit', domains: [], files: { certificate: f.cert }, sources: { certificate: '--cert' } };
  addFile(event, 'chain', f.chain, '--chain');
  addFile(event, 'key', f.key, '--key');
  return event;
}
