// A counting DNS forwarder for the "many pending rollovers" bench: listens on UDP and TCP on a
// free loopback port, forwards every message unchanged to one upstream server and relays the
// replies, and counts what the client sent (per transport, per query type, and how many asked a
// question — same name and type — that it had already asked this server).
import dgram from 'node:dgram';
import net from 'node:net';
import { freePort } from '../harness/ports.js';

export interface ProxyCounts {
  udp: number;
  tcp: number;
  byType: Record<string, number>;
  /** Messages whose (opcode, name, type) this proxy had already forwarded once. */
  repeated: number;
}

export interface CountingProxy {
  port: number;
  counts(): ProxyCounts;
  reset(): void;
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: 'A', 2: 'NS', 6: 'SOA', 28: 'AAAA', 52: 'TLSA' };

/** "opcode name type" of the first question, lowercase; undefined when unreadable. */
function questionKey(msg: Buffer): { key: string; type: string } | undefined {
  if (msg.length < 12) return undefined;
  const opcode = (msg.readUInt16BE(2) >> 11) & 0xf;
  if (msg.readUInt16BE(4) === 0) return { key: `op${opcode} -`, type: `opcode ${opcode}` };
  const labels: string[] = [];
  let pos = 12;
  for (let len = msg[pos]; len !== undefined && len > 0 && len < 64; len = msg[pos]) {
    labels.push(msg.subarray(pos + 1, pos + 1 + len).toString('latin1').toLowerCase());
    pos += 1 + len;
  }
  if (pos + 3 > msg.length) return undefined;
  const qtype = msg.readUInt16BE(pos + 1);
  const type = opcode === 5 ? 'UPDATE' : TYPES[qtype] ?? `TYPE${qtype}`;
  return { key: `op${opcode} ${labels.join('.')}. ${qtype}`, type };
}

export async function startCountingProxy(upstream: { host: string; port: number }): Promise<CountingProxy> {
  const port = await freePort();
  let counts: ProxyCounts = { udp: 0, tcp: 0, byType: {}, repeated: 0 };
  let seen = new Set<string>();
  const count = (msg: Buffer, transport: 'udp' | 'tcp') => {
    counts[transport]++;
    const q = questionKey(msg);
    const type = q?.type ?? 'unreadable';
    counts.byType[type] = (counts.byType[type] ?? 0) + 1;
    if (q) {
      if (seen.has(q.key)) counts.repeated++;
      else seen.add(q.key);
    }
  };

  // UDP: one upstream socket per client address:port, closed once every forwarded query got its reply.
  const server = dgram.createSocket('udp4');
  const upstreams = new Map<string, { sock: dgram.Socket; pending: number }>();
  server.on('message', (msg, rinfo) => {
    count(msg, 'udp');
    const k = `${rinfo.address}:${rinfo.port}`;
    let u = upstreams.get(k);
    if (!u) {
      const sock = dgram.createSocket('udp4');
      const entry = { sock, pending: 0 };
      sock.on('message', (reply) => {
        server.send(reply, rinfo.port, rinfo.address);
        if (--entry.pending <= 0) {
          upstreams.delete(k);
          sock.close();
        }
      });
      sock.on('error', () => {});
      upstreams.set(k, entry);
      u = entry;
    }
    u.pending++;
    u.sock.send(msg, upstream.port, upstream.host);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind(port, '127.0.0.1', () => resolve());
  });

  // TCP: a byte pipe each way; client→server bytes are split on the 2-byte length prefix to count.
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((client) => {
    const up = net.connect(upstream.port, upstream.host);
    sockets.add(client).add(up);
    let buf = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        count(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      up.write(d);
    });
    up.on('data', (d) => client.write(d));
    const end = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    port,
    counts: () => structuredClone(counts),
    reset() {
      counts = { udp: 0, tcp: 0, byType: {}, repeated: 0 };
      seen = new Set();
    },
    async close() {
      for (const s of sockets) s.destroy();
      for (const u of upstreams.values()) u.sock.close();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
