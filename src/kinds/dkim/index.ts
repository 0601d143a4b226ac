// DKIM keys as a credential kind: a TXT record at <selector>._domainkey.<domain> (RFC 6376
// §3.6.2), the signer switched by its own tables, the old selector kept `retain` for mail in
// flight, then deleted or revoked. The state machine, lock, events and safety checks are shared.
import { formatDkimOwner, REVOKED_TXT } from './records.js';
import { activateDkim, recoverDkim } from './activate.js';
import { fromStateRecords } from '../../core/state-records.js';
import { isPending } from '../../core/phases.js';
import type { CredentialKind } from '../types.js';

export const dkimKind: CredentialKind = {
  name: 'dkim',
  recordType: 'TXT',
  ownerNames(s, id) {
    // The selector in service and those on their way: never emptied by a cleanup.
    const es = s.entryState(id);
    const entry = s.dkimEntry(id);
    const names = [...(es.live?.records ?? []), ...es.rollovers.filter((r) => isPending(r.phase)).flatMap((r) => r.records)].map((r) => r.name);
    return [...new Set(names.filter((n) => n.endsWith(formatDkimOwner('', entry.domain).slice(1))))];
  },
  beforePublish: async () => undefined,
  // A new selector joins no RRset, but a verifier may have asked for it already (and cached the
  // negative answer) and will cache the new one: wait its own TTL as well.
  waitTtl: (replacedTtl, records) => Math.max(replacedTtl ?? 0, ...records.map((r) => r.ttl)),
  activate: activateDkim,
  recoverActivation: recoverDkim,
  checkBeforeCleanup: async () => undefined,
  replacementsFor(s, id, stale) {
    if (s.dkimEntry(id).retire !== 'revoke') return [];
    return fromStateRecords(stale.map((r) => ({ name: r.name, ttl: r.ttl, txt: REVOKED_TXT }))).filter((r, i, all) => all.findIndex((o) => o.name === r.name) === i);
  },
};
