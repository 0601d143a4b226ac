// RFC 2136 UPDATE messages: zone section, prerequisites, single-RR adds and deletes of TLSA and
// TXT records, written with name compression; TLSA rdata via dns-packet's codec. Pure.
import { rdataType, type Rdata, type RecordType } from '../../core/rdata.js';
import { encodeRdata } from '../../io/dns-rdata.js';
import { CLASS, OPCODE, TYPE, WireWriter } from '../../io/dns-wire.js';

/**
 * Prerequisites (RFC 2136 §2.4) for one owner name's RRset of one type:
 *  - 'absent': "RRset does not exist" (§2.4.3: class NONE, TTL 0, RDLENGTH 0);
 *  - 'exactly': "RRset exists (value dependent)" (§2.4.2: class IN, TTL 0, every RR of the set).
 */
export type Prerequisite = { kind: 'absent'; name: string; type: RecordType } | { kind: 'exactly'; name: string; type: RecordType; records: Rdata[] };

/** One update-section RR (§2.5): add (§2.5.1) or delete one RR from an RRset (§2.5.4). */
export interface UpdateOp {
  op: 'add' | 'delete';
  name: string;
  ttl: number;
  rdata: Rdata;
}

export interface UpdateMessage {
  id: number;
  zone: string;
  prerequisites: Prerequisite[];
  updates: UpdateOp[];
  /** Already formatted with id 0 (the splitter checks sizes on it): the sender sets the id. */
  wire?: Buffer;
}

/** OPCODE=UPDATE lives in bits 11–14 of the flags word (RFC 2136 §2.2); QR=0, no other flags. */
const UPDATE_FLAGS = OPCODE.UPDATE << 11;

function writeRecord(w: WireWriter, name: string, type: number, klass: number, ttl: number, rdataWithLength: Buffer): void {
  w.writeName(name);
  w.u16(type);
  w.u16(klass);
  w.u32(ttl);
  w.append(rdataWithLength);
}

const EMPTY_RDATA = Buffer.from([0, 0]);

function writePrerequisite(w: WireWriter, p: Prerequisite): void {
  if (p.kind === 'absent') writeRecord(w, p.name, TYPE[p.type], CLASS.NONE, 0, EMPTY_RDATA);
  else for (const r of p.records) writeRecord(w, p.name, TYPE[p.type], CLASS.IN, 0, encodeRdata(r));
}

function writeUpdate(w: WireWriter, u: UpdateOp): void {
  // §2.5.4: a single-RR delete has class NONE and TTL 0. dns-packet cannot write class NONE
  // (it silently writes 0), which is why records are written here and only the rdata by dns-packet.
  const type = TYPE[rdataType(u.rdata)];
  if (u.op === 'add') writeRecord(w, u.name, type, CLASS.IN, u.ttl, encodeRdata(u.rdata));
  else writeRecord(w, u.name, type, CLASS.NONE, 0, encodeRdata(u.rdata));
}

/** Number of RRs the prerequisite section holds for these prerequisites. */
export function countPrerequisiteRecords(prereqs: Prerequisite[]): number {
  return prereqs.reduce((n, p) => n + (p.kind === 'absent' ? 1 : p.records.length), 0);
}

/** The unsigned wire form of an UPDATE (§2: header, zone, prerequisite, update, additional). */
export function formatUpdateMessage(m: UpdateMessage): Buffer {
  const w = new WireWriter();
  w.u16(m.id);
  w.u16(UPDATE_FLAGS);
  w.u16(1); // ZOCOUNT: exactly one zone (§2.3)
  w.u16(countPrerequisiteRecords(m.prerequisites)); // PRCOUNT
  w.u16(m.updates.length); // UPCOUNT
  w.u16(0); // ADCOUNT; TSIG is appended by the signer
  w.writeName(m.zone);
  w.u16(TYPE.SOA); // ZTYPE must be SOA (§2.3)
  w.u16(CLASS.IN);
  for (const p of m.prerequisites) writePrerequisite(w, p);
  for (const u of m.updates) writeUpdate(w, u);
  return w.toBuffer();
}
