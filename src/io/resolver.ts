// Authoritative DNS queries (RD=0) over node:dgram/node:net with our own wire code:
// TLSA RRsets, SOA serials, zone apexes, a zone's nameservers and addresses. Identical concurrent
// queries are de-duplicated, zone lookups batched, and the number in flight is bounded.
import { lookup } from 'node:dns/promises';
import type { Rdata, RecordType } from '../core/rdata.js';
import { DnsProtocolError, UnavailableError } from '../errors.js';
import type { RRset } from '../providers/types.js';
import { createDeduper, createLimiter } from './dns-limiter.js';
import { createCoalescer } from './dns-coalesce.js';
import type { ReplySummary } from './dns-reply-summary.js';
import { MAX_PIPELINED, queryServer, queryServerPipelined, type QueryFlags, type QueryReply } from './dns-query.js';
import { parseAddressRdata, parseNameRdata, parseRrsigRdata, parseSoaRdata, parseTlsaRdata, parseTxtRdata, type RrsigInfo } from './dns-rdata.js';
import { formatAbsoluteName, TYPE, type WireRecord } from './dns-wire.js';
import { formatHostPort, type HostPort } from './host-port.js';
import { isInZone, readZoneApex } from './zone-apex.js';

export interface ResolverOptions {
  timeoutMs: number;
  retries?: number;
  /** Queries in flight at once across all servers (default 64). */
  concurrency?: number;
  /** Addresses of an out-of-zone nameserver name; default node:dns lookup (hosts file + system resolver). */
  lookupAddresses?: (name: string) => Promise<string[]>;
}

export interface TlsaAnswer {
  rrset: RRset;
  /** The server set AA: it answered from its own copy of the zone. */
  authoritative: boolean;
}

export interface SignedAnswer extends TlsaAnswer {
  rrsigs: RrsigInfo[];
  /** Records of the type asked (for DNSKEY, whose rdata is not parsed). */
  count: number;
}

export interface ValidatedAnswer {
  ad: boolean;
  count: number;
  rcode: number;
}

export interface Nameserver extends HostPort {
  /** The NS name this address belongs to (absolute, lowercase). */
  name: string;
}

export interface Resolver {
  queryTlsa(server: HostPort, name: string): Promise<TlsaAnswer>;
  /** With DO (RFC 3225): the RRset and the RRSIGs that cover it; DNSKEY: only its count and signatures. */
  querySigned(server: HostPort, name: string, type: RecordType | 'DNSKEY'): Promise<SignedAnswer>;
  /** Ask a validating resolver (RD, DO, AD): did it validate the answer (AD set)? */
  queryValidated(server: HostPort, name: string, type: RecordType | 'DS'): Promise<ValidatedAnswer>;
  /** The RRset of `type` at `name` (TLSA or TXT), following CNAMEs inside the answer. */
  queryRRset(server: HostPort, name: string, type: RecordType): Promise<TlsaAnswer>;
  querySoaSerial(server: HostPort, zone: string): Promise<number>;
  /** The apex of the zone `name` is in, as `server` (authoritative for it) sees it. */
  queryZoneApex(server: HostPort, name: string): Promise<string>;
  queryAddresses(server: HostPort, name: string): Promise<string[]>;
  discoverNameservers(zone: string, primary: HostPort, port: number): Promise<Nameserver[]>;
}

/** Follow a CNAME chain inside one answer section (RFC 1034 §3.6.2); returns the final owner. */
export function computeCanonicalOwner(wire: Buffer, answers: WireRecord[], name: string): string {
  let owner = formatAbsoluteName(name);
  for (let i = 0; i < 8; i++) {
    const cname = answers.find((r) => r.type === TYPE.CNAME && r.name === owner);
    if (!cname) return owner;
    owner = parseNameRdata(wire, cname);
  }
  throw new DnsProtocolError(`CNAME chain for ${name} is longer than 8`);
}

async function lookupSystem(name: string): Promise<string[]> {
  try {
    return (await lookup(name.replace(/\.$/, ''), { all: true })).map((a) => a.address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw new UnavailableError(`cannot resolve nameserver ${name} (${code ?? String(err)})`, { cause: err });
  }
}

export function createResolver(opts: ResolverOptions): Resolver {
  const limit = createLimiter(opts.concurrency ?? 64);
  const dedupe = createDeduper();
  const retry = { timeoutMs: opts.timeoutMs, retries: opts.retries ?? 2 };
  const lookupAddresses = opts.lookupAddresses ?? lookupSystem;

  const ask = (server: HostPort, name: string, type: number, flags: QueryFlags = {}): Promise<QueryReply> => {
    const qname = formatAbsoluteName(name);
    const key = `${formatHostPort(server)} ${qname} ${type}${flags.dnssec ? ' do' : ''}${flags.recursion ? ' rd' : ''}`;
    return dedupe(key, () => limit(() => queryServer(server, qname, type, retry, flags)));
  };

  async function querySigned(server: HostPort, name: string, type: RecordType | 'DNSKEY'): Promise<SignedAnswer> {
    const code = TYPE[type];
    const { wire, message } = await ask(server, name, code, { dnssec: true });
    const owner = computeCanonicalOwner(wire, message.answers, name);
    const rrs = message.answers.filter((r) => r.type === code && r.name === owner);
    const records: Rdata[] = type === 'DNSKEY' ? [] : rrs.map((r) => (type === 'TXT' ? parseTxtRdata(r) : parseTlsaRdata(r)));
    const rrsigs = message.answers.filter((r) => r.type === TYPE.RRSIG && r.name === owner).map((r) => parseRrsigRdata(wire, r)).filter((g) => g.typeCovered === code);
    const ttl = rrs.length === 0 ? null : Math.min(...rrs.map((r) => r.ttl));
    return { rrset: { name: formatAbsoluteName(name), ttl, records }, authoritative: message.header.aa, rrsigs, count: rrs.length };
  }

  async function queryValidated(server: HostPort, name: string, type: RecordType | 'DS'): Promise<ValidatedAnswer> {
    const { message } = await ask(server, name, TYPE[type], { dnssec: true, recursion: true });
    return { ad: message.header.ad, count: message.answers.filter((r) => r.type === TYPE[type]).length, rcode: message.header.rcode };
  }

  async function queryRRset(server: HostPort, name: string, type: RecordType): Promise<TlsaAnswer> {
    const code = TYPE[type];
    const { wire, message } = await ask(server, name, code);
    const owner = computeCanonicalOwner(wire, message.answers, name);
    const rrs = message.answers.filter((r) => r.type === code && r.name === owner);
    const records: Rdata[] = rrs.map((r) => (type === 'TXT' ? parseTxtRdata(r) : parseTlsaRdata(r)));
    const ttl = rrs.length === 0 ? null : Math.min(...rrs.map((r) => r.ttl));
    return { rrset: { name: formatAbsoluteName(name), ttl, records }, authoritative: message.header.aa };
  }

  async function querySoaSerial(server: HostPort, zone: string): Promise<number> {
    const apex = formatAbsoluteName(zone);
    const { wire, message } = await ask(server, apex, TYPE.SOA);
    const soa = message.answers.find((r) => r.type === TYPE.SOA && r.name === apex);
    if (!soa || !message.header.aa) {
      throw new DnsProtocolError(`${formatHostPort(server)} is not authoritative for zone ${apex} (no SOA${message.header.aa ? '' : ', AA not set'})`);
    }
    return parseSoaRdata(wire, soa).serial;
  }

  // Zone lookups come in bursts (one per owner name of a plan): those asked in the same turn go to
  // their server as one batch — a lone one as a plain query, more pipelined over TCP, which the
  // primary must serve anyway (UPDATEs go over TCP) and where a burst is not lost as UDP can be.
  const soaBatches = new Map<string, (qname: string) => Promise<ReplySummary>>();
  const askSoa = (server: HostPort, qname: string): Promise<ReplySummary> => {
    const where = formatHostPort(server);
    let batch = soaBatches.get(where);
    if (!batch) {
      batch = createCoalescer<ReplySummary>(async (names) => {
        if (names.length === 1) return [await ask(server, names[0]!, TYPE.SOA).then((r) => r.message, (e: Error) => e)];
        const parts: string[][] = [];
        for (let i = 0; i < names.length; i += MAX_PIPELINED) parts.push(names.slice(i, i + MAX_PIPELINED));
        const replies = await Promise.all(parts.map((part) => limit(() => queryServerPipelined(server, part, TYPE.SOA, retry))));
        return replies.flat();
      });
      soaBatches.set(where, batch);
    }
    return batch(qname);
  };

  async function queryZoneApex(server: HostPort, name: string): Promise<string> {
    const qname = formatAbsoluteName(name);
    return readZoneApex(await askSoa(server, qname), qname, formatHostPort(server));
  }

  async function queryAddresses(server: HostPort, name: string): Promise<string[]> {
    const [a, aaaa] = await Promise.all([ask(server, name, TYPE.A), ask(server, name, TYPE.AAAA)]);
    const out: string[] = [];
    for (const { wire, message } of [a, aaaa]) {
      const owner = computeCanonicalOwner(wire, message.answers, name);
      for (const r of message.answers) if ((r.type === TYPE.A || r.type === TYPE.AAAA) && r.name === owner) out.push(parseAddressRdata(r));
    }
    return [...new Set(out)];
  }

  async function discoverNameservers(zone: string, primary: HostPort, port: number): Promise<Nameserver[]> {
    const apex = formatAbsoluteName(zone);
    const { wire, message } = await ask(primary, apex, TYPE.NS);
    const nsRecords = message.answers.filter((r) => r.type === TYPE.NS && r.name === apex);
    if (!message.header.aa || nsRecords.length === 0) {
      throw new DnsProtocolError(`${formatHostPort(primary)} gave no authoritative NS set for ${apex}`);
    }
    const names = [...new Set(nsRecords.map((r) => parseNameRdata(wire, r)))].sort();
    const perName = await Promise.all(
      names.map(async (ns) => {
        // In-zone names: the primary is the authority for their addresses. Out-of-zone names
        // belong to other zones; ask the system resolver.
        const addrs = isInZone(ns, apex) ? await queryAddresses(primary, ns) : await lookupAddresses(ns);
        return addrs.map((host) => ({ host, port, name: ns }));
      }),
    );
    const seen = new Set<string>();
    return perName.flat().filter((n) => !seen.has(n.host) && seen.add(n.host) !== undefined);
  }

  const queryTlsa = (server: HostPort, name: string) => queryRRset(server, name, 'TLSA');

  return { queryTlsa, queryRRset, querySigned, queryValidated, querySoaSerial, queryZoneApex, queryAddresses, discoverNameservers };
}
