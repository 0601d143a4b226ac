// Many queries to one server over one TCP connection: written back to back without waiting
// (pipelining, RFC 7766 §6.2.1.1), replies matched by ID and question in whatever order they come
// (RFC 7766 §7), each framed by its 2-byte length (RFC 1035 §4.2.2).
import net from 'node:net';
import { DnsProtocolError, UnavailableError } from '../errors.js';
import { unavailable } from './dns-exchange.js';
import { formatHostPort, type HostPort } from './host-port.js';

export interface PipelineResult<T> {
  /** The reply to each request as `read` gave it, in request order; undefined where the connection ended first. */
  replies: (T | undefined)[];
  /** Why requests were left unanswered: UnavailableError (trying again may help) or DnsProtocolError. */
  stopped?: PipelineStop;
}

export interface PipelineStop {
  error: UnavailableError | DnsProtocolError;
  /** The server closed the connection between replies after answering some: a per-connection cap, not a fault. */
  closedAfterProgress: boolean;
}

/**
 * Send every request on one connection and collect the replies. Never rejects: a connection that
 * fails or ends early leaves the rest undefined and says why. Request IDs must be distinct
 * (RFC 7766 §7: the ID is what tells pipelined replies apart); `read` checks the rest of the match
 * (QR, opcode, question) and parses, returning a string when the reply does not answer request i.
 * A reply that matches no request, or a second reply to one, or one `read` rejects, ends the
 * connection with DnsProtocolError: over TCP nobody off-path can inject one, so the server is broken.
 */
export function exchangePipelined<T>(server: HostPort, requests: Buffer[], timeoutMs: number, what: string, read: (i: number, reply: Buffer) => T | string): Promise<PipelineResult<T>> {
  const where = formatHostPort(server);
  const indexOf = new Map<number, number>();
  requests.forEach((r, i) => indexOf.set(r.readUInt16BE(0), i));
  if (indexOf.size !== requests.length) throw new RangeError('pipelined requests need distinct IDs');
  const framed = Buffer.allocUnsafe(requests.reduce((n, r) => n + 2 + r.length, 0));
  let at = 0;
  for (const r of requests) {
    framed.writeUInt16BE(r.length, at);
    r.copy(framed, at + 2);
    at += 2 + r.length;
  }

  return new Promise((resolve) => {
    const replies: (T | undefined)[] = new Array(requests.length).fill(undefined);
    let answered = 0;
    let pending: Buffer = Buffer.alloc(0);
    let done = false;
    const socket = net.connect({ host: server.host, port: server.port });
    const finish = (stopped?: PipelineStop): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(stopped ? { replies, stopped } : { replies });
    };
    const fail = (error: UnavailableError | DnsProtocolError): void => finish({ error, closedAfterProgress: false });
    // Idle timeout: any reply (any byte) restarts it, so a long pipeline that keeps answering is not cut off.
    socket.setTimeout(timeoutMs, () => fail(new UnavailableError(`${what}: ${where} stopped answering over TCP for ${timeoutMs} ms (${answered} of ${requests.length} answered)`, { hint: 'check that the DNS server runs and is reachable over TCP' })));
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(framed));
    socket.on('error', (err) => fail(unavailable(server, what, err)));
    socket.on('end', () => {
      if (pending.length > 0) return fail(new DnsProtocolError(`${what}: ${where} closed the connection mid-reply (${pending.length} bytes)`));
      const error = unavailable(server, what, new Error(`connection closed after ${answered} of ${requests.length} replies`));
      finish({ error, closedAfterProgress: answered > 0 });
    });
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let pos = 0;
      while (pending.length - pos >= 2 && pending.length - pos - 2 >= pending.readUInt16BE(pos)) {
        const wire = pending.subarray(pos + 2, pos + 2 + pending.readUInt16BE(pos));
        pos += 2 + wire.length;
        const i = wire.length >= 2 ? indexOf.get(wire.readUInt16BE(0)) : undefined;
        const reply = i === undefined ? 'reply matches no query sent on this connection' : replies[i] !== undefined ? `second reply with ID ${wire.readUInt16BE(0)}` : read(i, wire);
        if (typeof reply === 'string') return fail(new DnsProtocolError(`${what} at ${where}: ${reply}`));
        replies[i!] = reply;
        if (++answered === requests.length) return finish();
      }
      pending = pending.subarray(pos);
    });
  });
}
