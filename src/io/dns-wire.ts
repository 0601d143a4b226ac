// Pure DNS wire helpers that dns-packet lacks: canonical names (RFC 4034 §6.2, used by TSIG),
// name compression for the messages we build (RFC 1035 §4.1.4), and walking a message's records
// by byte offset (TSIG must find and strip the last additional record, RFC 8945 §4.3.3).

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, OPT: 41, DS: 43, RRSIG: 46, DNSKEY: 48, TLSA: 52, TSIG: 250, ANY: 255 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE = { QUERY: 0, UPDATE: 5 } as const;
export const HEADER_BYTES = 12;
/** RFC 1035 §4.2.2: the TCP length prefix is 16 bits, so no message can exceed this. */
export const MAX_TCP_MESSAGE = 65535;

/** Lowercase, absolute, trailing dot; "." stays ".". */
export function formatAbsoluteName(name: string): string {
  const n = name.toLowerCase().replace(/\.+$/, '');
  return n === '' ? '.' : `${n}.`;
}

function labelsOf(name: string): string[] {
  const n = name.replace(/\.+$/, '');
  return n === '' ? [] : n.split('.');
}

/**
 * Uncompressed wire form in canonical (lowercase) case: TSIG's MAC covers key and algorithm
 * names in this form (RFC 8945 §4.3.3).
 */
export function encodeCanonicalName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of labelsOf(name.toLowerCase())) {
    const b = Buffer.from(label, 'ascii');
    if (b.length === 0 || b.length > 63) throw new RangeError(`bad DNS label in ${JSON.stringify(name)}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new RangeError(`DNS name too long: ${name}`);
  return out;
}

/**
 * Builds a message left to right, compressing owner names against names already written
 * (RFC 1035 §4.1.4). Only names written through writeName() are pointer targets; rdata bytes are
 * appended verbatim (TLSA rdata holds no names).
 */
export class WireWriter {
  // One growing buffer, written in place: a 64 KiB UPDATE holds thousands of small fields, and a
  // Buffer per field made formatting the main cost of publishing many records.
  #buf = Buffer.allocUnsafe(1024);
  #length = 0;
  readonly #offsets = new Map<string, number>(); // lowercase suffix "a.b.c" → offset

  get length(): number {
    return this.#length;
  }

  #reserve(n: number): number {
    if (this.#length + n > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#length + n));
      this.#buf.copy(bigger, 0, 0, this.#length);
      this.#buf = bigger;
    }
    const at = this.#length;
    this.#length += n;
    return at;
  }

  // #reserve may replace #buf: take the position first, then the (new) buffer.
  append(bytes: Buffer): void {
    const at = this.#reserve(bytes.length);
    bytes.copy(this.#buf, at);
  }

  u16(v: number): void {
    const at = this.#reserve(2);
    this.#buf.writeUInt16BE(v, at);
  }

  u32(v: number): void {
    const at = this.#reserve(4);
    this.#buf.writeUInt32BE(v, at);
  }

  writeName(name: string, compress = true): void {
    const lower = name.toLowerCase();
    const labels = labelsOf(lower);
    // Suffix i is the name from its i-th label on: "a.b.c", "b.c", "c" (no trailing dot).
    let suffix = labels.join('.');
    for (let i = 0; i < labels.length; i++) {
      const at = this.#offsets.get(suffix);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      // Pointers hold 14 bits: only offsets below 16384 can be targets.
      if (this.#length < 0x4000 && !this.#offsets.has(suffix)) this.#offsets.set(suffix, this.#length);
      const label = labels[i]!;
      const len = Buffer.byteLength(label, 'ascii');
      if (len === 0 || len > 63) throw new RangeError(`bad DNS label in ${JSON.stringify(name)}`);
      const pos = this.#reserve(1 + len);
      this.#buf[pos] = len;
      this.#buf.write(label, pos + 1, 'ascii');
      suffix = suffix.slice(label.length + 1);
    }
    const end = this.#reserve(1);
    this.#buf[end] = 0;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#length));
  }
}

export class WireFormatError extends Error {}

/** Read a possibly compressed name; returns the name (lowercase, absolute) and the offset after it. */
export function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  let jumps = 0;
  for (;;) {
    if (pos >= buf.length) throw new WireFormatError('name runs past end of message');
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireFormatError('truncated compression pointer');
      if (end < 0) end = pos + 2;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (++jumps > 64 || target >= pos) throw new WireFormatError('bad compression pointer');
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new WireFormatError('bad label type');
    if (pos + 1 + len > buf.length) throw new WireFormatError('label runs past end of message');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : `${labels.join('.')}.`, end };
}

export interface WireHeader {
  id: number;
  flags: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  /** Authentic Data (RFC 4035 §3.2.3): a validating resolver checked the answer's signatures. */
  ad: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export function parseHeader(buf: Buffer): WireHeader {
  if (buf.length < HEADER_BYTES) throw new WireFormatError(`message of ${buf.length} bytes is shorter than a DNS header`);
  const flags = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    flags,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    ad: (flags & 0x0020) !== 0,
    rcode: flags & 0xf,
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  };
}

export interface WireQuestion {
  name: string;
  type: number;
  class: number;
}

export interface WireRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Offset of the record's first byte (its owner name) in the message. */
  start: number;
  /** Offset of the rdata in the message: names inside rdata may point back into it. */
  rdataStart: number;
  rdata: Buffer;
}

export interface WireMessage {
  header: WireHeader;
  questions: WireQuestion[];
  answers: WireRecord[];
  authorities: WireRecord[];
  additionals: WireRecord[];
}

/** The question section (RFC 1035 §4.1.2), which follows the header; `end` is where the answers start. */
export function readQuestions(buf: Buffer, count: number): { questions: WireQuestion[]; end: number } {
  let pos = HEADER_BYTES;
  const questions: WireQuestion[] = [];
  for (let i = 0; i < count; i++) {
    const { name, end } = readName(buf, pos);
    if (end + 4 > buf.length) throw new WireFormatError('truncated question');
    questions.push({ name, type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2) });
    pos = end + 4;
  }
  return { questions, end: pos };
}

/**
 * Parse a whole message into sections with raw rdata and record offsets. Strict: trailing bytes
 * or truncated records are errors (a reply we cannot fully read is not one we trust).
 */
export function parseMessage(buf: Buffer): WireMessage {
  const header = parseHeader(buf);
  const { questions, end } = readQuestions(buf, header.qdcount);
  let pos = end;
  const readRecords = (count: number): WireRecord[] => {
    const out: WireRecord[] = [];
    for (let i = 0; i < count; i++) {
      const start = pos;
      const { name, end } = readName(buf, pos);
      if (end + 10 > buf.length) throw new WireFormatError('truncated resource record');
      const rdlength = buf.readUInt16BE(end + 8);
      if (end + 10 + rdlength > buf.length) throw new WireFormatError('rdata runs past end of message');
      out.push({
        name,
        type: buf.readUInt16BE(end),
        class: buf.readUInt16BE(end + 2),
        ttl: buf.readUInt32BE(end + 4),
        start,
        rdataStart: end + 10,
        rdata: buf.subarray(end + 10, end + 10 + rdlength),
      });
      pos = end + 10 + rdlength;
    }
    return out;
  };
  const answers = readRecords(header.ancount);
  const authorities = readRecords(header.nscount);
  const additionals = readRecords(header.arcount);
  if (pos !== buf.length) throw new WireFormatError(`${buf.length - pos} unexpected bytes after the last record`);
  return { header, questions, answers, authorities, additionals };
}
