// Which certificates[] entry a renewal belongs to (DESIGN.md): --id, else the entry whose id equals
// the client's certificate name, else the one entry whose domains the certificate covers.
import { UsageError } from '../errors.js';
import { nameCovers } from './certificate.js';

interface EntryLike {
  id: string;
  domains: string[];
}

export function identifyEntry<E extends EntryLike>(entries: E[], opts: { id?: string; clientName?: string; dnsNames: string[] }): E {
  const ids = entries.map((e) => e.id).join(', ');
  if (opts.id !== undefined) {
    const byId = entries.find((e) => e.id === opts.id);
    if (!byId) throw new UsageError(`--id ${opts.id}: no certificates[] entry has that id (configured: ${ids})`);
    return byId;
  }
  if (opts.clientName) {
    const byName = entries.find((e) => e.id.toLowerCase() === opts.clientName!.toLowerCase());
    if (byName) return byName;
  }
  const covered = entries.filter((e) => e.domains.every((d) => opts.dnsNames.some((p) => nameCovers(p, d))));
  if (covered.length === 1) return covered[0]!;
  if (covered.length > 1) {
    throw new UsageError(`the certificate for ${opts.dnsNames.join(', ')} fits several entries (${covered.map((e) => e.id).join(', ')}); choose one with --id`);
  }
  throw new UsageError(`no certificates[] entry matches the certificate for ${opts.dnsNames.join(', ') || '(no DNS names)'} (configured: ${ids}); pass --id or add an entry`);
}
