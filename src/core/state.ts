// The state file's shape (DESIGN.md "State file"): schema-versioned, validated on every load.
// Per certificate id: the live certificate, rollovers with phases and timestamps, the announced
// next key, owned records. Version 2 added `next`/`retiredNext` (io/state-migrate.ts reads version 1).
import { z } from 'zod';

export const STATE_VERSION = 2;

import { NEXT_PHASES, PHASES, ROLLOVER_PATHS } from './phases.js';
import { KEY_TYPES } from './key-type.js';

export { PHASES, ACTIVE_PHASES, type Phase } from './phases.js';

/** Per authoritative server ("zone@host:port"): when it first served every record in question. */
const serversSchema = z.record(z.string(), z.strictObject({ firstServedAt: z.iso.datetime().nullable() }));

const iso = z.iso.datetime();
const hex = z.string().regex(/^[0-9a-f]+$/);

/** A record as stored: TLSA as "3 1 1 <hex>", TXT (DKIM) as its joined value; exactly one of them. */
export const stateRecordSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9_.-]+\.$/),
    ttl: z.number().int().min(0),
    tlsa: z.string().regex(/^[0-3] [01] [0-2] [0-9a-f]+$/).optional(),
    txt: z.string().max(4000).optional(),
  })
  .refine((r) => (r.tlsa === undefined) !== (r.txt === undefined), { message: 'a record has either "tlsa" or "txt"' });
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

/** What a rollover and an announced next key share: records published, then seen on every server. */
const publicationFields = {
  records: z.array(stateRecordSchema),
  /** Largest TTL of the RRsets our records joined (a kind may wait its own); null: no wait for one. */
  replacedTtl: z.number().int().min(0).nullable(),
  /** The new records were served all along (same key, or an aged next key): no wait. */
  alreadyServed: z.boolean(),
  createdAt: iso,
  publishedAt: iso.nullable(),
  propagatedAt: iso.nullable(),
  activateAfter: iso.nullable(),
  /** Per authoritative server ("zone@host:port"): when it first served every record. */
  servers: serversSchema,
  attempts: z.number().int().min(0),
  lastError: z.string().nullable(),
};

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
  ...publicationFields,
  activatedAt: iso.nullable(),
  cleanedAt: iso.nullable(),
  /**
   * How the renewal's records came to be served (absent before version 2): "same-key" (the live
   * key's), "next-key" (the announced next key's, aged) — both go live at once — or "new-key".
   */
  path: z.enum(ROLLOVER_PATHS).optional(),
  /** Path "next-key": since when every authoritative server served the announced key's records. */
  servedSince: iso.optional(),
});
export type Rollover = z.infer<typeof rolloverSchema>;

/**
 * The key the next renewal is expected to use (RFC 7671 §8.1 "current + next"): its records are
 * published beside the live ones long before that renewal, so when it comes it needs no wait.
 * The publication fields mean what they mean in a rollover; `activateAfter` is when the records
 * have been served long enough (delayFactor × TTL + margin) for a certificate with this key to go
 * live at once ("aged").
 */
export const nextKeySchema = z.strictObject({
  phase: z.enum(NEXT_PHASES),
  spki: hex.length(64),
  keyType: z.enum(KEY_TYPES).optional(),
  /** Who made it: danehook ("generated", key under stateDir) or the ACME client that keeps it. */
  source: z.enum(['generated', 'acme.sh', 'dehydrated']),
  /** Generated: relative to stateDir; a client's: its absolute path (the client owns the file). */
  keyPath: z.string().min(1),
  ...publicationFields,
});
export type NextKey = z.infer<typeof nextKeySchema>;

export const entryStateSchema = z.strictObject({
  /** The certificate the service presents now; null with liveKnown: nothing is served yet. */
  live: liveSchema.nullable(),
  /** False until the live certificate (or its absence) is known: activation waits for it. */
  liveKnown: z.boolean(),
  rollovers: z.array(rolloverSchema),
  /** Every record this id ever published or served with: only these may ever be deleted. */
  owned: z.array(stateRecordSchema),
  /** The announced next key, or null (none yet, or next-key mode off). */
  next: nextKeySchema.nullable(),
  /** Records of next keys replaced before use: deleted (unless still required) by the next run. */
  retiredNext: z.array(stateRecordSchema),
});
export type EntryState = z.infer<typeof entryStateSchema>;

export const stateSchema = z.strictObject({
  version: z.literal(STATE_VERSION),
  certificates: z.record(z.string(), entryStateSchema),
  /** DKIM entries by id: the same entry state (live key, rollovers, owned TXT records). */
  dkim: z.record(z.string(), entryStateSchema).default({}),
});
export type State = z.infer<typeof stateSchema>;

export function emptyState(): State {
  return { version: STATE_VERSION, certificates: {}, dkim: {} };
}

export function emptyEntryState(): EntryState {
  return { live: null, liveKnown: false, rollovers: [], owned: [], next: null, retiredNext: [] };
}

/** Every entry's state, of every kind (ids are unique across kinds). */
export function listEntryStates(state: State): EntryState[] {
  return [...Object.values(state.certificates), ...Object.values(state.dkim)];
}
