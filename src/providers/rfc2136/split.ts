// Turning one zone's changes into UPDATE messages: one message when it fits (atomic), else as few
// messages as fit under the 64 KiB TCP limit (RFC 1035 §4.2.2), ordered so that no partial
// application can remove a record before its replacement is there. Pure.
import { sameRdata, type TlsaRdata } from '../../core/tlsa.js';
import { UnsafePlanError } from '../../errors.js';
import type { Change } from '../types.js';
import { formatUpdateMessage, type Prerequisite, type UpdateMessage, type UpdateOp } from './message.js';

/** The TLSA RRsets as last read, by owner name; names never read get no prerequisite. */
export type Snapshot = Map<string, TlsaRdata[]>;

/** The RRset after applying ops to it (RFC 2136 §3.4.2: duplicates ignored, absent deletes no-ops). */
export function computeRRsetAfter(records: TlsaRdata[], ops: UpdateOp[]): TlsaRdata[] {
  let out = [...records];
  for (const u of ops) {
    if (u.op === 'add' && !out.some((r) => sameRdata(r, u.rdata))) out.push(u.rdata);
    if (u.op === 'delete') out = out.filter((r) => !sameRdata(r, u.rdata));
  }
  return out;
}

/**
 * Prerequisites guard against a concurrent editor (RFC 2136 §2.4, §3.2): each touched RRset must
 * still be exactly what we planned against — "RRset exists (value dependent)" (§2.4.2), or "RRset
 * does not exist" (§2.4.3) when it was empty. Otherwise the server answers NXRRSET/YXRRSET and
 * applies nothing; the next run re-reads and re-plans. This is what keeps "never empty an RRset
 * we manage" true when someone else deleted the live certificate's record in between. It also
 * means a forged answer to our (unsigned) read cannot steer a signed delete.
 */
function computePrerequisites(ops: UpdateOp[], state: Snapshot): Prerequisite[] {
  const names = [...new Set(ops.map((u) => u.name))];
  return names.flatMap((name): Prerequisite[] => {
    const records = state.get(name);
    if (records === undefined) return [];
    return [records.length === 0 ? { kind: 'absent', name } : { kind: 'exactly', name, records }];
  });
}

function toOp(c: Change): UpdateOp {
  return { op: c.op === 'create' ? 'add' : 'delete', name: c.name, ttl: c.ttl, rdata: c.rdata };
}

function buildMessage(zone: string, ops: UpdateOp[], state: Snapshot): UpdateMessage {
  return { id: 0, zone, prerequisites: computePrerequisites(ops, state), updates: ops };
}

/**
 * Split a zone's changes into messages of at most `maxBytes` unsigned bytes (the caller subtracts
 * the TSIG record's size). Creates come before deletes, so if a later message fails the earlier
 * ones have only added records: a partial application leaves extra records, never missing ones.
 * Each message is as full as it can be (binary search on the count), so the number of messages is
 * minimal for this order. Message ids are left 0 for the sender to fill in.
 */
export function computeUpdateMessages(zone: string, changes: Change[], snapshot: Snapshot, maxBytes: number): UpdateMessage[] {
  const ops = [...changes.filter((c) => c.op === 'create'), ...changes.filter((c) => c.op === 'delete')].map(toOp);
  const state: Snapshot = new Map(snapshot);
  const messages: UpdateMessage[] = [];
  let start = 0;
  while (start < ops.length) {
    const fits = (n: number): boolean => formatUpdateMessage(buildMessage(zone, ops.slice(start, start + n), state)).length <= maxBytes;
    if (!fits(1)) throw new UnsafePlanError(`the change to ${ops[start]!.name} alone does not fit in one DNS message of ${maxBytes} bytes`);
    let lo = 1;
    let hi = ops.length - start;
    if (!fits(hi)) {
      // Invariant: fits(lo) && !fits(hi).
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (fits(mid)) lo = mid;
        else hi = mid;
      }
      hi = lo;
    }
    const chunk = ops.slice(start, start + hi);
    messages.push(buildMessage(zone, chunk, state));
    for (const name of new Set(chunk.map((u) => u.name))) {
      const before = state.get(name);
      if (before !== undefined) state.set(name, computeRRsetAfter(before, chunk.filter((u) => u.name === name)));
    }
    start += hi;
  }
  return messages;
}
