// Turning one zone's changes into UPDATE messages: one message when it fits (atomic), else as few
// messages as fit under the 64 KiB TCP limit (RFC 1035 §4.2.2), ordered so that no partial
// application can remove a record before its replacement is there. Pure.
import { rdataType, sameRdata, type Rdata, type RecordType } from '../../core/rdata.js';
import { UnsafePlanError } from '../../errors.js';
import type { Change } from '../types.js';
import { formatUpdateMessage, type Prerequisite, type UpdateMessage, type UpdateOp } from './message.js';

/** The RRsets as last read, by snapshotKey(name, type); RRsets never read get no prerequisite. */
export type Snapshot = Map<string, Rdata[]>;

/** One RRset = one owner name and one type. */
export const snapshotKey = (name: string, type: RecordType): string => `${type} ${name}`;

/** The RRset after applying ops to it (RFC 2136 §3.4.2: duplicates ignored, absent deletes no-ops). */
export function computeRRsetAfter(records: Rdata[], ops: UpdateOp[]): Rdata[] {
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
  const keys = [...new Set(ops.map((u) => snapshotKey(u.name, rdataType(u.rdata))))];
  return keys.flatMap((key): Prerequisite[] => {
    const records = state.get(key);
    if (records === undefined) return [];
    const [type, name] = key.split(' ') as [RecordType, string];
    return [records.length === 0 ? { kind: 'absent', name, type } : { kind: 'exactly', name, type, records }];
  });
}

/** What the server holds after `ops` (for the prerequisites of the next message). */
export function applyToSnapshot(state: Snapshot, ops: UpdateOp[]): void {
  for (const key of new Set(ops.map((u) => snapshotKey(u.name, rdataType(u.rdata))))) {
    const before = state.get(key);
    if (before !== undefined) state.set(key, computeRRsetAfter(before, ops.filter((u) => snapshotKey(u.name, rdataType(u.rdata)) === key)));
  }
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
 * Each message is as full as it can be (search on the count; size grows with it), so the number of messages is
 * minimal for this order. Message ids are left 0 for the sender to fill in.
 */
export function computeUpdateMessages(zone: string, changes: Change[], snapshot: Snapshot, maxBytes: number): UpdateMessage[] {
  const ops = [...changes.filter((c) => c.op === 'create'), ...changes.filter((c) => c.op === 'delete')].map(toOp);
  const state: Snapshot = new Map(snapshot);
  const messages: UpdateMessage[] = [];
  let start = 0;
  while (start < ops.length) {
    const remaining = ops.length - start;
    const size = (n: number): number => formatUpdateMessage(buildMessage(zone, ops.slice(start, start + n), state)).length;
    const base = size(0);
    let lo = 1;
    let sLo = size(1);
    if (sLo > maxBytes) throw new UnsafePlanError(`the change to ${ops[start]!.name} alone does not fit in one DNS message of ${maxBytes} bytes`);
    // Formatting is the cost, and size grows almost linearly with the count: extrapolate from the
    // bytes per op seen so far, then interpolate between a fitting and a too-large count. A few
    // formats find the largest count that fits, where bisection needed a dozen.
    let hi = 0; // 0: no too-large count seen yet
    let sHi = 0;
    for (let step = 1; lo < remaining && (hi === 0 || hi - lo > 1); step++) {
      let n: number;
      if (hi === 0) n = Math.min(remaining, Math.floor(lo + (maxBytes - sLo) / ((sLo - base) / lo)));
      else if (step % 3 === 0) n = (lo + hi) >> 1; // a bisection step now and then bounds the worst case
      else n = lo + Math.floor(((maxBytes - sLo) * (hi - lo)) / (sHi - sLo));
      n = Math.max(lo + 1, hi === 0 ? n : Math.min(n, hi - 1));
      const sn = size(n);
      if (sn <= maxBytes) {
        lo = n;
        sLo = sn;
      } else {
        hi = n;
        sHi = sn;
      }
    }
    const chunk = ops.slice(start, start + lo);
    messages.push(buildMessage(zone, chunk, state));
    applyToSnapshot(state, chunk);
    start += lo;
  }
  return messages;
}
