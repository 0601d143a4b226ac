// TLS certificates as a credential kind: TLSA records at _port._proto.domain (RFC 6698 §3),
// files installed + service reloaded + every endpoint probed (activate.ts here), and cleanup
// only once every endpoint presents a certificate the remaining records match (fleet safety).
import { computeOwners } from '../../core/desired.js';
import { isPending } from '../../core/phases.js';
import { activateRollover, recoverActivation } from './activate.js';
import { computeKeyTypes, readLiveKeyType, readRolloverKeyType } from './key-types.js';
import { requireLiveKnown } from './live.js';
import { computeProbeTargets, probeEndpoints } from './probe.js';
import type { CredentialKind } from '../types.js';

export const tlsKind: CredentialKind = {
  name: 'tls',
  recordType: 'TLSA',
  ownerNames: (s, id) => computeOwners(s.entry(id)),
  beforePublish: (s, id, r) => requireLiveKnown(s, s.entry(id), readRolloverKeyType(s, r)),
  waitTtl: (replacedTtl) => replacedTtl,
  activate: activateRollover,
  recoverActivation,
  async checkBeforeCleanup(s, id, r, remaining) {
    const entry = s.entry(id);
    const es = s.entryState(id);
    // Each endpoint is asked for this id's certificate by its key type (the live one first): a
    // service holding another entry's certificate of another type must not answer for this one.
    const pending = es.rollovers.filter((x) => x !== r && isPending(x.phase));
    const keyTypes = computeKeyTypes(readLiveKeyType(entry, es), ...pending.map((x) => readRolloverKeyType(s, x)));
    const verdicts = await probeEndpoints(await computeProbeTargets(s, entry), remaining, { graceMs: 0, allParams: false, keyTypes });
    const bad = verdicts.filter((v) => !v.ok);
    return bad.length > 0 ? bad.map((v) => `${v.target} ${v.detail}`).join('; ') : undefined;
  },
  replacementsFor: () => [],
};
