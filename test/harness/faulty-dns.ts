// A DNS proxy (UDP + TCP) in front of a real server that can be switched to misbehave: answer
// SERVFAIL or REFUSED itself, stay silent, or — over TCP, where a reply cannot be spoofed — send
// garbage or cut a reply short (over UDP a client rightly drops such datagrams and waits, RFC 5452).
import { createSocket } from 'node:dgram';
import { createServer, connect, type Socket } from 'node:net';
import type { Endpoint } from './dns.js';
import { freePort } from './ports.js';

export type FaultMode = 'pass' | 'servfail' | 'refused' | 'garbage' | 'truncated' | 'silent';

export interface FaultyDns {
  endpoint: Endpoint;
  mode: FaultMode;
  /** Requests seen in each mode. */
  seen: Record<FaultMode, number>;
  close(): Promise<void>;
}

/** An error reply built by hand: the request's ID and question, QR set, the given RCODE (RFC 1035 §4.1.1). */
function errorReply(request: Buffer, rcode: number): Buffer {
  const qdEnd = questionEnd(request);
  const reply = Buffer.from(request.subarray(0, qdEnd));
  reply[2] = (request[2]! | 0x80) & ~0x04; // QR=1, keep opcode, AA=0
  reply[3] = rcode & 0x0f;
  reply.writeUInt16BE(0, 6); // ANCOUNT
  reply.writeUInt16BE(0, 8); // NSCOUNT (UPDATE: zone section stays as QDCOUNT)
  reply.writeUInt16BE(0, 10); // ARCOUNT: no TSIG — like a server that refuses before checking it
  return reply;
}

function questionEnd(msg: Buffer): number {
  let off = 12;
  for (let q = msg.readUInt16BE(4); q > 0; q--) {
    while (msg[off]! !== 0) off += msg[off]! + 1;
    off += 5;
  }
  return off;
}

const GARBAGE = Buffer.from('this is not a DNS message at all, just bytes');

function fault(mode: FaultMode, request: Buffer): Buffer | undefined {
  if (mode === 'servfail') return errorReply(request, 2);
  if (mode === 'refused') return errorReply(request, 5);
  if (mode === 'garbage') return Buffer.concat([request.subarray(0, 2), GARBAGE]);
  return undefined;
}

export async function startFaultyDns(target: Endpoint): Promise<FaultyDns> {
  const port = await freePort();
  const self: FaultyDns = {
    endpoint: { host: '127.0.0.1', port },
    mode: 'pass',
    seen: { pass: 0, servfail: 0, refused: 0, garbage: 0, truncated: 0, silent: 0 },
    close: async () => {},
  };
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const mode = self.mode === 'garbage' || self.mode === 'truncated' ? 'pass' : self.mode;
    self.seen[mode]++;
    if (mode === 'silent') return;
    const bad = fault(mode, msg);
    if (bad) return udp.send(bad, rinfo.port, rinfo.address);
    const up = createSocket('udp4');
    up.on('message', (reply) => {
      udp.send(reply, rinfo.port, rinfo.address);
      up.close();
    });
    up.send(msg, target.port, target.host);
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', () => r()));

  const sockets = new Set<Socket>();
  const tcp = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    let buf = Buffer.alloc(0);
    client.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = Buffer.alloc(0);
      self.seen[self.mode]++;
      if (self.mode === 'silent') return;
      const bad = fault(self.mode, msg);
      const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
      if (bad) return void client.write(frame(bad));
      const up = connect(target.port, target.host, () => up.write(frame(msg)));
      let replyBuf = Buffer.alloc(0);
      up.on('data', (r) => {
        replyBuf = Buffer.concat([replyBuf, r]);
        if (replyBuf.length >= 2 && replyBuf.length >= 2 + replyBuf.readUInt16BE(0)) {
          // "truncated": the length prefix promises the whole reply, then the stream ends early.
          if (self.mode === 'truncated') client.end(replyBuf.subarray(0, 20));
          else client.write(replyBuf);
          up.end();
        }
      });
      up.on('error', () => client.destroy());
    });
    client.on('error', () => {});
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  self.close = async () => {
    for (const s of sockets) s.destroy();
    udp.close();
    await new Promise<void>((r) => tcp.close(() => r()));
  };
  return self;
}
