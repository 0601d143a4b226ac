// Zone lookups in a burst, pipelined over TCP (RFC 7766 §6.2.1.1) against fake servers whose
// replies dns-packet builds: one connection, replies matched by ID in any order (§7), per-name
// rcodes, servers that close early or go silent, and replies that match nothing.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import packet from 'dns-packet';
import { createResolver } from '../../../src/io/resolver.js';
import { findClosedPort, startFakeDns, type FakeRequest } from '../providers/fake-dns.js';

const AA = packet.AUTHORITATIVE_ANSWER;
const exitOf = (p: Promise<unknown>) => p.then(() => 0, (e: { exitCode?: number }) => e.exitCode ?? -1);

/** Name hI.zJ.test. is in zone zJ.test.: a reply matched to the wrong query shows as a wrong apex. */
const names = (n: number) => Array.from({ length: n }, (_, i) => `h${i}.z${i}.test.`);
const zoneOf = (name: string) => name.replace(/^[^.]+\./, '').replace(/\.$/, '');

function soaReply(wire: Buffer, rcode = 3, flags = AA): Buffer {
  const q = packet.decode(wire).questions![0]!;
  const zone = zoneOf(q.name);
  const soa = { name: zone, type: 'SOA' as const, ttl: 60, data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: 1, minimum: 60 } };
  return packet.encode({ id: packet.decode(wire).id!, type: 'response', flags: flags | rcode, questions: [q], authorities: rcode === 3 || rcode === 0 ? [soa] : [] });
}

/**
 * A TCP-only server that gathers what each connection sends (until 20 ms of quiet) and lets
 * `respond` write any replies, in any order, and close the connection or not.
 */
async function startBatchServer(respond: (queries: Buffer[], write: (reply: Buffer) => void, socket: net.Socket) => void) {
  const state = { connections: 0, queries: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    state.connections++;
    sockets.add(s);
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      clearTimeout(timer);
      timer = setTimeout(() => {
        const queries: Buffer[] = [];
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          queries.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        state.queries += queries.length;
        const write = (r: Buffer) => {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(r.length);
          s.write(Buffer.concat([len, r]));
        };
        respond(queries, write, s);
      }, 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port },
    state,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('a burst of zone lookups goes out on one TCP connection; a lone lookup stays a UDP query', async () => {
  const dns = await startFakeDns((req: FakeRequest) => soaReply(req.wire));
  try {
    const r = createResolver({ timeoutMs: 1000, retries: 0 });
    const server = { host: '127.0.0.1', port: dns.port };
    const ns = names(300);
    assert.deepEqual(await Promise.all(ns.map((n) => r.queryZoneApex(server, n))), ns.map((n) => `${zoneOf(n)}.`));
    assert.equal(dns.tcpConnections, 1);
    assert.deepEqual(new Set(dns.requests.map((q) => q.transport)), new Set(['tcp']));
    assert.equal(dns.requests.length, 300);
    assert.equal(await r.queryZoneApex(server, 'mx.example.com'), 'example.com.');
    assert.equal(dns.requests.at(-1)!.transport, 'udp');
    assert.equal(dns.tcpConnections, 1);
  } finally {
    await dns.close();
  }
});

test('pipelined replies in reverse order are matched to their queries by ID and question (RFC 7766 §7)', async () => {
  const s = await startBatchServer((queries, write) => queries.reverse().forEach((q) => write(soaReply(q))));
  try {
    const r = createResolver({ timeoutMs: 1000, retries: 0 });
    const ns = names(50);
    assert.deepEqual(await Promise.all(ns.map((n) => r.queryZoneApex(s.server, n))), ns.map((n) => `${zoneOf(n)}.`));
    assert.equal(s.state.connections, 1);
  } finally {
    await s.close();
  }
});

test('each name keeps its own outcome: REFUSED → 77, SERVFAIL or no AA → 76, the rest resolve', async () => {
  const dns = await startFakeDns((req) => {
    const name = packet.decode(req.wire).questions![0]!.name;
    if (name.startsWith('refused')) return soaReply(req.wire, 5);
    if (name.startsWith('servfail')) return soaReply(req.wire, 2);
    if (name.startsWith('noaa')) return soaReply(req.wire, 3, 0);
    return soaReply(req.wire);
  });
  try {
    const r = createResolver({ timeoutMs: 1000, retries: 0 });
    const server = { host: '127.0.0.1', port: dns.port };
    const got = await Promise.all(['refused.a.test', 'servfail.b.test', 'noaa.c.test', 'ok.d.test'].map((n) => r.queryZoneApex(server, n).catch((e: { exitCode: number }) => e.exitCode)));
    assert.deepEqual(got, [77, 76, 76, 'd.test.']);
    assert.equal(dns.tcpConnections, 1);
  } finally {
    await dns.close();
  }
});

test('a server that closes after some replies: the rest go out on a new connection, not counted as retries', async () => {
  const s = await startBatchServer((queries, write, socket) => {
    queries.slice(0, 7).forEach((q) => write(soaReply(q)));
    socket.end();
  });
  try {
    const r = createResolver({ timeoutMs: 1000, retries: 0 });
    const ns = names(30);
    assert.deepEqual(await Promise.all(ns.map((n) => r.queryZoneApex(s.server, n))), ns.map((n) => `${zoneOf(n)}.`));
    assert.equal(s.state.connections, 5); // 7 + 7 + 7 + 7 + 2
  } finally {
    await s.close();
  }
});

test('a silent server → 69 for every name after the retries, each attempt a new connection; a closed port → 69', async () => {
  const s = await startBatchServer(() => {});
  try {
    const r = createResolver({ timeoutMs: 150, retries: 1 });
    const got = await Promise.all(names(5).map((n) => exitOf(r.queryZoneApex(s.server, n))));
    assert.deepEqual(got, [69, 69, 69, 69, 69]);
    assert.equal(s.state.connections, 2);
  } finally {
    await s.close();
  }
  const closed = { host: '127.0.0.1', port: await findClosedPort() };
  const r = createResolver({ timeoutMs: 500, retries: 0 });
  assert.deepEqual(await Promise.all(names(3).map((n) => exitOf(r.queryZoneApex(closed, n)))), [69, 69, 69]);
});

test('a reply matching no query, a second reply to one, or a malformed reply → 76, never retried', async () => {
  const cases: [string, (queries: Buffer[], write: (b: Buffer) => void) => void][] = [
    ['unknown ID', (qs, write) => { const w = Buffer.from(soaReply(qs[0]!)); w.writeUInt16BE((w.readUInt16BE(0) + 0x8000) & 0xffff, 0); write(w); }],
    ['second reply', (qs, write) => { write(soaReply(qs[0]!)); write(soaReply(qs[0]!)); }],
    ['malformed', (qs, write) => write(soaReply(qs[0]!).subarray(0, 20))],
    ['other question', (qs, write) => { const d = packet.decode(qs[0]!); write(soaReply(packet.encode({ ...d, questions: [{ name: 'evil.z0.test', type: 'SOA' }] }))); }],
  ];
  for (const [what, respond] of cases) {
    const s = await startBatchServer(respond);
    try {
      const r = createResolver({ timeoutMs: 1000, retries: 2 });
      const got = await Promise.all(names(3).map((n) => exitOf(r.queryZoneApex(s.server, n))));
      assert.equal(got.filter((c) => c === 76).length, what === 'second reply' ? 2 : 3, `${what}: ${got.join(' ')}`);
      assert.equal(s.state.connections, 1, what);
    } finally {
      await s.close();
    }
  }
});
