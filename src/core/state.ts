// The state file's shape (DESIGN.md "State file"): schema-versioned, validated on every load.
// Per certificate id: the live certificate, rollovers with phases and timestamps, owned records.
import { z } from 'zod';

export const STATE_VERSION = 1;

import { PHASES } from './phases.js';
import { KEY_TYPES } from './key-type.js';

export { PHASES, ACTIVE_PHASES, type Phase } from './phases.js';

const iso = z.iso.datetime();
const hex = z.string().regex(/^[0-9a-f]+$/);

export const stateRecordSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_.-]+\.$/),
  ttl: z.number().int().min(0),
  tlsa: z.string().regex(/^[0-3] [01] [0-2] [0-9a-f]+$/),
});
export type StateRecord = z.infer<typeof stateRecordSchema>;

export const liveSchema = z.strictObject({
  spki: hex.length(64),
  /** SHA-256 of the leaf's DER: tells a renewal with the same key from the same certificate. */
  fingerprint: hex.length(64),
  notAfter: iso,
  /** Absent in states written before it was recorded. */
  notBefore: iso.optional(),
  /** What the probe offers to see this certificate among others (absent in states before it was kept). */
  keyType: z.enum(KEY_TYPES).optional(),
  /** Records of every certificate presented (all of them are live when endpoints differ). */
  records: z.array(stateRecordSchema),
  source: z.enum(['installed-files', 'probe', 'activation', 'operator']),
  /** SPKI hashes of further certificates the endpoints presented beside `spki`. */
  others: z.array(hex.length(64)).optional(),
});
export type Live = z.infer<typeof liveSchema>;

export const rolloverSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  phase: z.enum(PHASES),
  spki: hex.length(64),
  fingerprint: hex.length(64),
  notAfter: iso,
  /** Absent in states written before it was recorded. */
  notBefore: iso.optional(),
  keyType: z.enum(KEY_TYPES).optional(),
  /** Staged files, relative to stateDir. */
  stagedDir: z.string().regex(/^staged\/[A-Za-z0-9._-]+\/[a-z0-9-]+$/),
  records: z.array(stateRecordSchema),
  /** Largest TTL of the RRsets our records joined; null: none existed, no cache can disagree. */
  replacedTtl: z.number().int().min(0).nullable(),
  /** The new records were already served with the live certificate's (same key): no wait. */
  alreadyServed: z.boolean(),
  createdAt: iso,
  publishedAt: iso.nullable(),
  propagatedAt: iso.nullable(),
  activateAfter: iso.nullable(),
  activatedAt: iso.nullable(),
  cleanedAt: iso.nullable(),
  /** Per authoritative server ("host:port"): when it first served every record of this rollover. */
  servers: z.record(z.string(), z.strictObject({ firstServedAt: iso.nullable() })),
  attempts: z.number().int().min(0),
  lastError: z.string().nullable(),
});
export type Rollover = z.infer<typeof rolloverSchema>;

export const entryStateSchema = z.strictObject({
  /** The certificate the service presents now; null with liveKnown: nothing is served yet. */
  live: liveSchema.nullable(),
  /** False until the live certificate (or its absence) is known: activation waits for it. */
  liveKnown: z.boolean(),
  rollovers: z.array(rolloverSchema),
  /** Every record this id ever published or served with: only these may ever be deleted. */
  owned: z.array(stateRecordSchema),
});
export type EntryState = z.infer<typeof entryStateSchema>;

export const stateSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  certificates: z.record(z.string(), entryStateSchema),
});
export type State = z.infer<typeof stateSchema>;

export function emptyState(): State {
  return { version: STATE_VERSION, certificates: {} };
}

export function emptyEntryState(): EntryState {
  return { live: null, liveKnown: false, rollovers: [], owned: [] };
}
