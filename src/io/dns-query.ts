// One plain DNS query to one server: UDP first, TCP when the reply is truncated (RFC 1035 §4.2.1,
// RFC 7766 §5), random IDs, reply/question matching, rcode → danehook error mapping.
import { randomInt } from 'node:crypto';
import { DnsProtocolError } from '../errors.js';
import { computeRcodeError } from './dns-errors.js';
import { checkReplyMatches, sendTcpMessage, sendUdpMessage, sendWithRetry, type RetryOptions } from './dns-exchange.js';
import { formatHostPort, type HostPort } from './host-port.js';
import { CLASS, parseHeader, parseMessage, WireWriter, type WireMessage } from './dns-wire.js';

export const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 28: 'AAAA', 52: 'TLSA' };

/** A plain query (RD=0: we ask authoritative servers, never a recursor), no EDNS. */
export function formatQueryMessage(id: number, name: string, type: number): Buffer {
  const w = new WireWriter();
  w.u16(id);
  w.u16(0); // QR=0, OPCODE=QUERY, RD=0
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  w.writeName(name);
  w.u16(type);
  w.u16(CLASS.IN);
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
export async function queryServer(server: HostPort, name: string, type: number, opts: RetryOptions): Promise<QueryReply> {
  const what = `${TYPE_NAMES[type] ?? `TYPE${type}`} query for ${name}`;
  const reply = await sendWithRetry(async () => {
    const request = formatQueryMessage(randomInt(0x10000), name, type);
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
