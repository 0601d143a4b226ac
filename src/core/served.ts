// Does one authoritative server serve a set of records? Every record present in an authoritative
// answer, and — in a signed zone — each of those RRsets covered by an RRSIG: a validating resolver
// rejects an unsigned RRset from a signed zone as bogus, so it does not count as served. Pure.
import type { DnsRecord } from './rdata.js';
import { containsAll } from './state-records.js';

export interface ServedAnswer {
  name: string;
  authoritative: boolean;
  records: DnsRecord['rdata'][];
  /** RRSIGs over this RRset in the answer (asked with DO). */
  signatures: number;
}

export function judgeServed(expected: DnsRecord[], answers: ServedAnswer[], zoneSigned: boolean): boolean {
  const served = answers.flatMap((a) => (a.authoritative ? a.records.map((rdata) => ({ name: a.name, ttl: 0, rdata })) : []));
  if (!containsAll(served, expected)) return false;
  if (!zoneSigned) return true;
  const names = new Set(expected.map((r) => r.name));
  return answers.filter((a) => names.has(a.name)).every((a) => a.signatures > 0);
}
