// A tiny fake DNS server on 127.0.0.1 for tests: UDP and TCP on the same port, replies computed
// by a handler per request. Replies are built with dns-packet (not danehook's writer), so the
// code under test is checked against an independent encoder.
import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  wire: Buffer;
  transport: 'udp' | 'tcp';
}

/** Return reply bytes, an array of them (sent in order), or undefined to stay silent. */
export type Handler = (req: FakeRequest) => Buffer | Buffer[] | undefined | Promise<Buffer | Buffer[] | undefined>;

export interface FakeDns {
  port: number;
  requests: FakeRequest[];
  tcpConnections: number;
  close(): Promise<void>;
}

export async function startFakeDns(handler: Handler): Promise<FakeDns> {
  const requests: FakeRequest[] = [];
  const sockets = new Set<net.Socket>();
  const state = { tcpConnections: 0 };
  const tcp = net.createServer((s) => {
    state.tcpConnections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', async (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const wire = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + wire.length);
        const req = { wire: Buffer.from(wire), transport: 'tcp' as const };
        requests.push(req);
        const out = await handler(req);
        for (const r of out === undefined ? [] : Array.isArray(out) ? out : [out]) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(r.length);
          s.write(Buffer.concat([len, r]));
        }
      }
    });
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as AddressInfo).port;
  const udp = dgram.createSocket('udp4');
  udp.on('message', async (wire, rinfo) => {
    const req = { wire, transport: 'udp' as const };
    requests.push(req);
    const out = await handler(req);
    for (const r of out === undefined ? [] : Array.isArray(out) ? out : [out]) udp.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
  return {
    port,
    requests,
    get tcpConnections() {
      return state.tcpConnections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}

/** A port nothing listens on (bound then released). */
export async function findClosedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
