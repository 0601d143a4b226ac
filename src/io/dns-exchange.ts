// Sending one DNS message and reading the reply over UDP or TCP (RFC 1035 §4.2.1, §4.2.2),
// with per-attempt timeouts and bounded retries with backoff for timeouts and unreachable servers.
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { DnsProtocolError, UnavailableError } from '../errors.js';
import { formatHostPort, type HostPort } from './host-port.js';
import { parseHeader, parseMessage, WireFormatError, type WireHeader, type WireMessage, type WireQuestion } from './dns-wire.js';

export interface RetryOptions {
  timeoutMs: number;
  /** Further attempts after the first; only timeouts and unreachable servers are retried. */
  retries?: number;
  /** First backoff delay; doubles per attempt, capped at 2 s. */
  backoffMs?: number;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

/** A transport failure as UnavailableError (69): retrying may help. */
export function unavailable(server: HostPort, what: string, err: unknown): UnavailableError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail = code && UNREACHABLE.has(code) ? code : err instanceof Error ? err.message : String(err);
  return new UnavailableError(`${what}: ${formatHostPort(server)} unreachable (${detail})`, { cause: err, hint: 'check that the DNS server runs and that dns.server / nameservers name the right host and port' });
}

/** One TCP exchange: 2-byte length prefix each way (RFC 1035 §4.2.2). */
export function sendTcpMessage(server: HostPort, wire: Buffer, timeoutMs: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(wire.length);
    let got = Buffer.alloc(0);
    let done = false;
    const socket = net.connect({ host: server.host, port: server.port });
    const finish = (err: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new UnavailableError(`${what}: no reply from ${formatHostPort(server)} over TCP within ${timeoutMs} ms`, { hint: 'check that the DNS server runs and is reachable over TCP' })), timeoutMs);
    socket.on('connect', () => socket.write(Buffer.concat([prefix, wire])));
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) finish(undefined, got.subarray(2, 2 + got.readUInt16BE(0)));
    });
    socket.on('end', () => finish(got.length === 0 ? unavailable(server, what, new Error('connection closed without a reply')) : new DnsProtocolError(`${what}: ${formatHostPort(server)} closed the connection mid-reply (${got.length} bytes)`)));
    socket.on('error', (err) => finish(unavailable(server, what, err)));
  });
}

async function resolveUdpFamily(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const ip = net.isIP(host);
  if (ip === 4 || ip === 6) return { address: host, family: ip };
  const r = await lookup(host);
  return { address: r.address, family: r.family === 6 ? 6 : 4 };
}

/**
 * One UDP exchange. Datagrams that `accept` rejects (wrong ID or question) are ignored, not
 * errors: a spoofer must then also win the race against the real reply.
 */
export async function sendUdpMessage(server: HostPort, wire: Buffer, timeoutMs: number, what: string, accept: (reply: Buffer) => boolean): Promise<Buffer> {
  let target: { address: string; family: 4 | 6 };
  try {
    target = await resolveUdpFamily(server.host);
  } catch (err) {
    throw unavailable(server, what, err);
  }
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(target.family === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (err: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new UnavailableError(`${what}: no reply from ${formatHostPort(server)} within ${timeoutMs} ms`, { hint: 'check that the DNS server runs and is reachable' })), timeoutMs);
    socket.on('message', (msg) => {
      if (accept(msg)) finish(undefined, msg);
    });
    socket.on('error', (err) => finish(unavailable(server, what, err)));
    // connect() makes ICMP port-unreachable surface as ECONNREFUSED instead of a timeout.
    socket.connect(server.port, target.address, () => socket.send(wire, (err) => err && finish(unavailable(server, what, err))));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Run `attempt` up to 1 + retries times, backing off between tries, retrying only UnavailableError. */
export async function sendWithRetry<T>(attempt: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const retries = opts.retries ?? 2;
  let delay = opts.backoffMs ?? 200;
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof UnavailableError) || i >= retries) throw err;
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/**
 * Check that a reply answers our request (RFC 5452 §9.1): QR set, same ID, opcode and question.
 * A reply may omit the question only when it reports an error (FORMERR replies often do).
 */
export function checkReplyMatches(request: Buffer, reply: Buffer): string | undefined {
  const r = matchReply(request, reply);
  return typeof r === 'string' ? r : undefined;
}

/** checkReplyMatches, returning the parsed reply when it matches (so nobody parses it twice). */
export function matchReply(request: Buffer, reply: Buffer): WireMessage | string {
  let req: WireMessage;
  let rep: WireMessage;
  try {
    req = parseMessage(request);
    const h = parseHeader(reply);
    if (!h.qr) return 'reply has QR=0';
    if (h.id !== req.header.id) return `reply ID ${h.id} does not match request ID ${req.header.id}`;
    if (h.opcode !== req.header.opcode) return `reply opcode ${h.opcode} does not match request opcode ${req.header.opcode}`;
    rep = parseMessage(reply);
  } catch (err) {
    if (err instanceof WireFormatError) return `malformed reply: ${err.message}`;
    throw err;
  }
  return checkReplyQuestion(req.questions[0], rep) ?? rep;
}

/** The reply repeats our question; it may omit it only when it reports an error (RFC 5452 §9.1). */
export function checkReplyQuestion(q: WireQuestion | undefined, rep: { header: WireHeader; questions: WireQuestion[] }): string | undefined {
  const a = rep.questions[0];
  if (rep.questions.length === 0) return rep.header.rcode === 0 ? 'reply without a question section' : undefined;
  if (rep.questions.length !== 1 || !q || !a || a.name !== q.name || a.type !== q.type || a.class !== q.class) {
    return `reply question ${a?.name ?? '?'} does not match ${q?.name ?? '?'}`;
  }
  return undefined;
}
