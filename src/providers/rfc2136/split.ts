// Turning one zone's changes into UPDATE messages: one message when it fits (atomic), else as few
// messages as fit under the 64 KiB TCP limit (RFC 1035 §4.2.2), ordered so that no partial
// application can remove a record before its replacement is there. Pure.
import { rdataType, sameRdata, type Rdata, type RecordType } from '../../core/rdata.js';
import { UnsafePlanError } from '../../errors.js';
import type { Change } from '../types.js';
import { formatUpdateMessage, type Prerequisite, type UpdateMessage, type UpdateOp } from './message.js';
import { txtStrings } from '../../core/rdata.js';

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

/** Bytes of a name written in full before the zone's labels: its own labels, then a pointer to the zone (RFC 1035 §4.1.4). */
function prefixBound(name: string, zone: string): number {
  if (name === zone) return 2;
  const prefix = name.endsWith(`.${zone}`) ? name.slice(0, name.length - zone.length - 1) : name.replace(/\.$/, '');
  return Buffer.byteLength(prefix, 'ascii') + 1 + 2; // label length octets + text = prefix + 1, then the pointer
}

/** RDATA bytes (without RDLENGTH): TLSA 3 + the data (RFC 6698 §2.1); TXT a length octet per string. */
const rdataBytes = (rdata: Rdata): number => ('text' in rdata ? txtStrings(rdata).reduce((n, b) => n + 1 + b.length, 0) : 3 + rdata.data.length / 2);

/**
 * Split a zone's changes into messages of at most `maxBytes` unsigned bytes (the caller subtracts
 * the TSIG record's size). Creates come before deletes, so if a later message fails the earlier
 * ones have only added records: a partial application leaves extra records, never missing ones.
 * Sizes are added up op by op, each from an upper bound that follows the writer's compression:
 * a name costs its labels plus a pointer to the zone, or 2 bytes once it stands in full at an
 * offset a pointer can reach (< 16384) — which only prerequisites, written first and never moved
 * by later ones, are sure to. Each message is formatted once, to check the bound held.
 */
export function computeUpdateMessages(zone: string, changes: Change[], snapshot: Snapshot, maxBytes: number): UpdateMessage[] {
  const ops = [...changes.filter((c) => c.op === 'create'), ...changes.filter((c) => c.op === 'delete')].map(toOp);
  const state: Snapshot = new Map(snapshot);
  const messages: UpdateMessage[] = [];
  const header = 12 + Buffer.byteLength(zone, 'ascii') + 1 + 4; // header, zone name, ZTYPE, ZCLASS
  let chunk: UpdateOp[] = [];
  let prereqBytes = 0;
  let updateBytes = 0;
  let rrsets = new Set<string>();
  let targets = new Set<string>(); // names written in full below offset 16384
  const flush = () => {
    if (chunk.length === 0) return;
    const m = buildMessage(zone, chunk, state);
    const wire = formatUpdateMessage(m);
    if (wire.length > maxBytes) throw new Error(`internal: an UPDATE of ${wire.length} bytes exceeds ${maxBytes} despite its size bound`);
    messages.push({ ...m, wire });
    applyToSnapshot(state, chunk);
    chunk = [];
    prereqBytes = updateBytes = 0;
    rrsets = new Set();
    targets = new Set();
  };
  const nameCost = (name: string) => (targets.has(name) ? 2 : prefixBound(name, zone));
  /** Bytes adding `op` costs now: its prerequisite the first time its RRset appears, and its own RR. */
  const costOf = (op: UpdateOp, key: string): { prereq: number; update: number } => {
    const known = rrsets.has(key) ? undefined : state.get(key);
    let prereq = 0;
    if (known !== undefined) {
      const first = nameCost(op.name);
      prereq = known.length === 0 ? first + 10 : known.reduce((n, r, i) => n + (i === 0 ? first : 2) + 10 + rdataBytes(r), 0);
    }
    const inPrereq = known !== undefined && header + prereqBytes < 0x4000;
    return { prereq, update: (inPrereq || targets.has(op.name) ? 2 : prefixBound(op.name, zone)) + 10 + rdataBytes(op.rdata) };
  };
  for (const op of ops) {
    const key = snapshotKey(op.name, rdataType(op.rdata));
    let cost = costOf(op, key);
    if (header + prereqBytes + updateBytes + cost.prereq + cost.update > maxBytes && chunk.length > 0) {
      flush();
      cost = costOf(op, key); // prerequisites now come from the state after the previous message
    }
    if (header + cost.prereq + cost.update > maxBytes) throw new UnsafePlanError(`the change to ${op.name} alone does not fit in one DNS message of ${maxBytes} bytes`);
    if (cost.prereq > 0 && header + prereqBytes < 0x4000) targets.add(op.name);
    chunk.push(op);
    rrsets.add(key);
    prereqBytes += cost.prereq;
    updateBytes += cost.update;
  }
  flush();
  return messages;
}
