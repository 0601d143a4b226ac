// Plain DNS queries to one server: one at a time over UDP, TCP when the reply is truncated
// (RFC 1035 §4.2.1, RFC 7766 §5), or many pipelined over one TCP connection (RFC 7766 §6.2.1.1);
// random IDs, reply/question matching, rcode → danehook error mapping.
import { randomInt } from 'node:crypto';
import { DnsProtocolError, UnavailableError, type DanehookError } from '../errors.js';
import { computeRcodeError } from './dns-errors.js';
import { checkReplyQuestion, matchReply, sendTcpMessage, sendUdpMessage, sendWithRetry, sleep, type RetryOptions } from './dns-exchange.js';
import { exchangePipelined } from './dns-pipeline.js';
import { formatHostPort, type HostPort } from './host-port.js';
import { readReplySummary, type ReplySummary } from './dns-reply-summary.js';
import { CLASS, formatAbsoluteName, HEADER_BYTES, WireFormatError, type WireMessage } from './dns-wire.js';

export const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 16: 'TXT', 28: 'AAAA', 43: 'DS', 46: 'RRSIG', 48: 'DNSKEY', 52: 'TLSA' };

/**
 * How to ask: `dnssec` adds an OPT record with the DO bit (RFC 3225, RFC 6891 §6: UDP size 1232)
 * so signatures come back; `recursion` sets RD and AD (RFC 6840 §5.7) for a validating resolver.
 */
export interface QueryFlags {
  dnssec?: boolean;
  recursion?: boolean;
}

/**
 * A query: by default RD=0 (we ask authoritative servers, never a recursor) and no EDNS. Written
 * straight into one buffer (a lone name needs no compression): bursts format a thousand of these.
 */
export function formatQueryMessage(id: number, name: string, type: number, flags: QueryFlags = {}): Buffer {
  const n = name.toLowerCase().replace(/\.+$/, '');
  const labels = n === '' ? [] : n.split('.');
  let nameBytes = 1;
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) throw new RangeError(`bad DNS label in ${JSON.stringify(name)}`);
    nameBytes += 1 + label.length;
  }
  if (nameBytes > 255) throw new RangeError(`DNS name too long: ${name}`); // RFC 1035 §2.3.4
  const buf = Buffer.alloc(HEADER_BYTES + nameBytes + 4 + (flags.dnssec ? 11 : 0));
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(flags.recursion ? 0x0120 : 0, 2); // QR=0, OPCODE=QUERY; RD (0x0100) + AD (0x0020) for a resolver
  buf.writeUInt16BE(1, 4); // QDCOUNT; ANCOUNT and NSCOUNT stay 0
  buf.writeUInt16BE(flags.dnssec ? 1 : 0, 10);
  let pos = HEADER_BYTES;
  for (const label of labels) {
    buf[pos] = label.length;
    buf.write(label, pos + 1, 'ascii');
    pos += 1 + label.length;
  }
  pos++; // the root label: 0
  buf.writeUInt16BE(type, pos);
  buf.writeUInt16BE(CLASS.IN, pos + 2);
  if (flags.dnssec) {
    // OPT pseudo-RR (RFC 6891 §6.1.2): root owner, CLASS = UDP payload size, TTL = ext-rcode,
    // version, DO bit (0x8000 of the flags half), no options.
    buf.writeUInt16BE(41, pos + 5);
    buf.writeUInt16BE(1232, pos + 7);
    buf.writeUInt32BE(0x00008000, pos + 9);
  }
  return buf;
}

export interface QueryReply {
  wire: Buffer;
  message: WireMessage;
}

/**
 * Ask `server` for name/type. Resolves with the reply for NOERROR and NXDOMAIN; throws
 * UnavailableError (69) after retries, DnsRefusedError (77) for REFUSED/NOTAUTH,
 * DnsProtocolError (76) for anything else or a reply we cannot read.
 */
export async function queryServer(server: HostPort, name: string, type: number, opts: RetryOptions, flags: QueryFlags = {}): Promise<QueryReply> {
  const what = `${TYPE_NAMES[type] ?? `TYPE${type}`} query for ${name}`;
  const reply = await sendWithRetry(async () => {
    const request = formatQueryMessage(randomInt(0x10000), name, type, flags);
    // The first datagram that matches is the reply; keep its parse (matchReply) with it.
    let udp: QueryReply | undefined;
    const accept = (wire: Buffer): boolean => {
      const message = udp ? undefined : matchReply(request, wire);
      if (message === undefined || typeof message === 'string') return false;
      udp = { wire, message };
      return true;
    };
    await sendUdpMessage(server, request, opts.timeoutMs, what, accept);
    if (!udp!.message.header.tc) return udp!;
    const wire = await sendTcpMessage(server, request, opts.timeoutMs, what);
    const message = matchReply(request, wire);
    if (typeof message === 'string') throw new DnsProtocolError(`${what} at ${formatHostPort(server)}: ${message}`);
    return { wire, message };
  }, opts);
  const { message } = reply;
  const err = computeRcodeError(message.header.rcode, { what, server: formatHostPort(server) }, 'query');
  if (err) throw err;
  return reply;
}

/** Most queries on one connection; a larger batch uses several (the caller's limiter bounds them). */
export const MAX_PIPELINED = 1000;

/**
 * Ask `server` for `type` at each of `names` over one TCP connection (dns-pipeline.ts): per name,
 * a summary of its reply (dns-reply-summary.ts: no rdata) or the error queryServer would throw for
 * it. What a connection leaves unanswered goes out again on a new one — at once when the server
 * closed it after answering some (servers may cap queries per connection), otherwise after a
 * backoff and at most `retries` times, as sendWithRetry.
 */
export async function queryServerPipelined(server: HostPort, names: string[], type: number, opts: RetryOptions): Promise<(ReplySummary | DanehookError)[]> {
  if (names.length > MAX_PIPELINED) throw new RangeError(`at most ${MAX_PIPELINED} pipelined queries per connection`);
  const typeName = TYPE_NAMES[type] ?? `TYPE${type}`;
  const questions = names.map((n) => ({ name: formatAbsoluteName(n), type, class: CLASS.IN }));
  const out: (ReplySummary | DanehookError | undefined)[] = new Array(names.length).fill(undefined);
  let todo = names.map((_, i) => i);
  let failures = 0;
  let delay = opts.backoffMs ?? 200;
  for (;;) {
    // Consecutive IDs from a random start: distinct on the connection, as RFC 7766 §7 requires.
    const base = randomInt(0x10000);
    const requests = todo.map((i, k) => formatQueryMessage((base + k) & 0xffff, names[i]!, type));
    // The ID matched already (dns-pipeline.ts); the rest of RFC 5452 §9.1, as matchReply.
    const read = (k: number, wire: Buffer): ReplySummary | string => {
      let reply: ReplySummary;
      try {
        reply = readReplySummary(wire);
      } catch (err) {
        if (err instanceof WireFormatError) return `malformed reply: ${err.message}`;
        throw err;
      }
      if (!reply.header.qr) return 'reply has QR=0';
      if (reply.header.opcode !== 0) return `reply opcode ${reply.header.opcode} does not match request opcode 0`;
      return checkReplyQuestion(questions[todo[k]!], reply) ?? reply;
    };
    const what = `${typeName} queries for ${todo.length} names pipelined over TCP`;
    const { replies, stopped } = await exchangePipelined(server, requests, opts.timeoutMs, what, read);
    const left = todo.filter((i, k) => {
      const reply = replies[k];
      if (reply) out[i] = computeRcodeError(reply.header.rcode, { what: `${typeName} query for ${names[i]}`, server: formatHostPort(server) }, 'query') ?? reply;
      return !reply;
    });
    if (!stopped || left.length === 0) break;
    if (!stopped.closedAfterProgress) {
      // Only transport failures are worth another try (as sendWithRetry); a broken reply is final.
      if (!(stopped.error instanceof UnavailableError) || ++failures > (opts.retries ?? 2)) {
        for (const i of left) out[i] = stopped.error;
        break;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
    todo = left;
  }
  return out as (ReplySummary | DanehookError)[];
}
