// One plain DNS query to one server: UDP first, TCP when the reply is truncated (RFC 1035 §4.2.1,
// RFC 7766 §5), random IDs, reply/question matching, rcode → danehook error mapping.
import { randomInt } from 'node:crypto';
import { DnsProtocolError } from '../errors.js';
import { computeRcodeError } from './dns-errors.js';
import { checkReplyMatches, sendTcpMessage, sendUdpMessage, sendWithRetry, type RetryOptions } from './dns-exchange.js';
import { formatHostPort, type HostPort } from './host-port.js';
import { CLASS, parseHeader, parseMessage, WireWriter, type WireMessage } from './dns-wire.js';

export const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 16: 'TXT', 28: 'AAAA', 43: 'DS', 46: 'RRSIG', 48: 'DNSKEY', 52: 'TLSA' };

/**
 * How to ask: `dnssec` adds an OPT record with the DO bit (RFC 3225, RFC 6891 §6: UDP size 1232)
 * so signatures come back; `recursion` sets RD and AD (RFC 6840 §5.7) for a validating resolver.
 */
export interface QueryFlags {
  dnssec?: boolean;
  recursion?: boolean;
}

/** A query: by default RD=0 (we ask authoritative servers, never a recursor) and no EDNS. */
export function formatQueryMessage(id: number, name: string, type: number, flags: QueryFlags = {}): Buffer {
  const w = new WireWriter();
  w.u16(id);
  w.u16(flags.recursion ? 0x0120 : 0); // QR=0, OPCODE=QUERY; RD (0x0100) + AD (0x0020) for a resolver
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(flags.dnssec ? 1 : 0);
  w.writeName(name);
  w.u16(type);
  w.u16(CLASS.IN);
  if (flags.dnssec) {
    // OPT pseudo-RR (RFC 6891 §6.1.2): root owner, CLASS = UDP payload size, TTL = ext-rcode,
    // version, DO bit (0x8000 of the flags half), no options.
    w.writeName('.');
    w.u16(41);
    w.u16(1232);
    w.u32(0x00008000);
    w.u16(0);
  }
  return w.toBuffer();
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
    let wire = await sendUdpMessage(server, request, opts.timeoutMs, what, (r) => checkReplyMatches(request, r) === undefined);
    if (parseHeader(wire).tc) {
      wire = await sendTcpMessage(server, request, opts.timeoutMs, what);
      const mismatch = checkReplyMatches(request, wire);
      if (mismatch) throw new DnsProtocolError(`${what} at ${formatHostPort(server)}: ${mismatch}`);
    }
    return wire;
  }, opts);
  const message = parseMessage(reply); // checkReplyMatches already parsed it once: cannot throw
  const err = computeRcodeError(message.header.rcode, { what, server: formatHostPort(server) }, 'query');
  if (err) throw err;
  return { wire: reply, message };
}
