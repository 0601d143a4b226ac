// A lean reading of a reply for zone-apex detection (RFC 1035 §4.1): header, question, and the
// owner name and type of each answer and authority record — no rdata. Bursts read a thousand.
import { parseHeader, readName, readQuestions, WireFormatError, type WireHeader, type WireQuestion } from './dns-wire.js';

export interface RecordHead {
  name: string;
  type: number;
}

/** What zone-apex detection reads; a full WireMessage has the same fields. */
export interface ReplySummary {
  header: WireHeader;
  questions: WireQuestion[];
  answers: RecordHead[];
  authorities: RecordHead[];
}

/**
 * As strict as parseMessage: every record of every section (additional too) must be whole and
 * nothing may follow the last one — a reply we cannot fully read is not one we trust.
 */
export function readReplySummary(buf: Buffer): ReplySummary {
  const header = parseHeader(buf);
  const { questions, end } = readQuestions(buf, header.qdcount);
  let pos = end;
  // Owner, then TYPE, CLASS, TTL, RDLENGTH (10 bytes), then RDATA (RFC 1035 §4.1.3).
  const heads = (count: number, keep: boolean): RecordHead[] => {
    const out: RecordHead[] = [];
    for (let i = 0; i < count; i++) {
      const { name, end } = readName(buf, pos);
      if (end + 10 > buf.length) throw new WireFormatError('truncated resource record');
      pos = end + 10 + buf.readUInt16BE(end + 8);
      if (pos > buf.length) throw new WireFormatError('rdata runs past end of message');
      if (keep) out.push({ name, type: buf.readUInt16BE(end) });
    }
    return out;
  };
  const answers = heads(header.ancount, true);
  const authorities = heads(header.nscount, true);
  heads(header.arcount, false);
  if (pos !== buf.length) throw new WireFormatError(`${buf.length - pos} unexpected bytes after the last record`);
  return { header, questions, answers, authorities };
}
