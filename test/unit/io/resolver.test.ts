// Authoritative queries against a fake server on 127.0.0.1 (replies built with dns-packet):
// parsing, CNAME chains, TC → TCP fallback, spoof resistance, de-duplication, bounded
// concurrency, nameserver discovery, and rcode → exit code mapping.
import { formatRdata } from '../../../src/core/rdata.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import packet from 'dns-packet';
import { createResolver } from '../../../src/io/resolver.js';
import { findClosedPort, startFakeDns, type FakeRequest } from '../providers/fake-dns.js';

const rd = (n: number) => ({ usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, n) });
const hex = (n: number) => Buffer.alloc(32, n).toString('hex');
const AA = packet.AUTHORITATIVE_ANSWER;

function question(req: FakeRequest) {
  const d = packet.decode(req.wire);
  return { id: d.id!, q: d.questions![0]! };
}

function resolverFor(opts: { concurrency?: number; lookupAddresses?: (n: string) => Promise<string[]> } = {}) {
  return createResolver({ timeoutMs: 500, retries: 0, ...opts });
}

test('queryTlsa: records, smallest TTL, AA flag; RD is not set', async () => {
  const dns = await startFakeDns((req) => {
    const { id, q } = question(req);
    return packet.encode({ id, type: 'response', flags: AA, questions: [q], answers: [
      { name: q.name, type: 'TLSA', ttl: 300, data: rd(1) },
      { name: q.name, type: 'TLSA', ttl: 200, data: rd(2) },
    ] });
  });
  try {
    const r = await resolverFor().queryTlsa({ host: '127.0.0.1', port: dns.port }, '_25._TCP.mx.example.com');
    assert.deepEqual(r, {
      authoritative: true,
      rrset: { name: '_25._tcp.mx.example.com.', ttl: 200, records: [
        { usage: 3, selector: 1, matchingType: 1, data: hex(1) }, { usage: 3, selector: 1, matchingType: 1, data: hex(2) },
      ] },
    });
    assert.equal(packet.decode(dns.requests[0]!.wire).flag_rd, false);
  } finally {
    await dns.close();
  }
});

test('queryTlsa follows a CNAME inside the answer; NXDOMAIN is an empty RRset', async () => {
  const dns = await startFakeDns((req) => {
    const { id, q } = question(req);
    if (q.name.startsWith('_443')) {
      return packet.encode({ id, type: 'response', flags: AA, questions: [q], answers: [
        { name: q.name, type: 'CNAME', ttl: 60, data: 'tlsa.example.net' },
        { name: 'tlsa.example.net', type: 'TLSA', ttl: 60, data: rd(7) },
      ] });
    }
    return packet.encode({ id, type: 'response', flags: AA | 3, questions: [q] });
  });
  try {
    const r = resolverFor();
    const server = { host: '127.0.0.1', port: dns.port };
    assert.deepEqual((await r.queryTlsa(server, '_443._tcp.www.example.com')).rrset.records.map((x) => formatRdata(x).split(' ')[3]), [hex(7)]);
    assert.deepEqual((await r.queryTlsa(server, '_25._tcp.gone.example.com')).rrset, { name: '_25._tcp.gone.example.com.', ttl: null, records: [] });
  } finally {
    await dns.close();
  }
});

test('a truncated UDP reply is retried over TCP (RFC 7766 §5)', async () => {
  const dns = await startFakeDns((req) => {
    const { id, q } = question(req);
    if (req.transport === 'udp') return packet.encode({ id, type: 'response', flags: AA | packet.TRUNCATED_RESPONSE, questions: [q] });
    return packet.encode({ id, type: 'response', flags: AA, questions: [q], answers: [{ name: q.name, type: 'TLSA', ttl: 60, data: rd(3) }] });
  });
  try {
    const r = await resolverFor().queryTlsa({ host: '127.0.0.1', port: dns.port }, '_25._tcp.mx.example.com');
    assert.equal(r.rrset.records.length, 1);
    assert.deepEqual(dns.requests.map((x) => x.transport), ['udp', 'tcp']);
  } finally {
    await dns.close();
  }
});

test('datagrams with the wrong ID or question are ignored, the real reply accepted', async () => {
  const dns = await startFakeDns((req) => {
    const { id, q } = question(req);
    const forged = packet.encode({ id: id ^ 0x5555, type: 'response', flags: AA, questions: [q], answers: [{ name: q.name, type: 'TLSA', ttl: 60, data: rd(66) }] });
    const otherQ = packet.encode({ id, type: 'response', flags: AA, questions: [{ name: 'evil.example', type: 'TLSA' }], answers: [{ name: 'evil.example', type: 'TLSA', ttl: 60, data: rd(66) }] });
    const real = packet.encode({ id, type: 'response', flags: AA, questions: [q], answers: [{ name: q.name, type: 'TLSA', ttl: 60, data: rd(1) }] });
    return [forged, otherQ, real];
  });
  try {
    const r = await resolverFor().queryTlsa({ host: '127.0.0.1', port: dns.port }, '_25._tcp.mx.example.com');
    assert.deepEqual(r.rrset.records.map((x) => formatRdata(x).split(' ')[3]), [hex(1)]);
  } finally {
    await dns.close();
  }
});

test('identical concurrent queries go out once; distinct ones are bounded in flight', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const dns = await startFakeDns(async (req) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 30));
    inFlight--;
    const { id, q } = question(req);
    return packet.encode({ id, type: 'response', flags: AA, questions: [q], answers: [{ name: q.name, type: 'TLSA', ttl: 60, data: rd(1) }] });
  });
  try {
    const r = resolverFor({ concurrency: 4 });
    const server = { host: '127.0.0.1', port: dns.port };
    const same = await Promise.all(Array.from({ length: 50 }, () => r.queryTlsa(server, '_25._tcp.mx.example.com')));
    assert.equal(same.length, 50);
    assert.equal(dns.requests.length, 1);
    await Promise.all(Array.from({ length: 20 }, (_, i) => r.queryTlsa(server, `_${i}._tcp.mx.example.com`)));
    assert.equal(dns.requests.length, 21);
    assert.ok(maxInFlight <= 4, `max in flight ${maxInFlight}`);
    assert.ok(maxInFlight >= 2, 'queries do run concurrently');
  } finally {
    await dns.close();
  }
});

test('querySoaSerial reads the serial and insists on AA', async () => {
  let aa = AA;
  const dns = await startFakeDns((req) => {
    const { id, q } = question(req);
    return packet.encode({ id, type: 'response', flags: aa, questions: [q], answers: [
      { name: q.name, type: 'SOA', ttl: 60, data: { mname: 'ns1.example.com', rname: 'h.example.com', serial: 2026112201, minimum: 60 } },
    ] });
  });
  try {
    const server = { host: '127.0.0.1', port: dns.port };
    assert.equal(await resolverFor().querySoaSerial(server, 'example.com'), 2026112201);
    aa = 0;
    await assert.rejects(resolverFor().querySoaSerial(server, 'example.com'), (e: Error & { exitCode?: number }) => e.exitCode === 76);
  } finally {
    await dns.close();
  }
});

test('discoverNameservers: in-zone names asked at the primary, out-of-zone via lookup, deduplicated', async () => {
  const dns = await startFakeDns((req) => {
    const { id, q } = question(req);
    const answers: packet.Answer[] = [];
    if (q.type === 'NS') answers.push({ name: 'example.com', type: 'NS', ttl: 60, data: 'ns1.example.com' }, { name: 'example.com', type: 'NS', ttl: 60, data: 'ns.other.org' }, { name: 'example.com', type: 'NS', ttl: 60, data: 'ns2.example.com' });
    if (q.type === 'A' && q.name === 'ns1.example.com') answers.push({ name: q.name, type: 'A', ttl: 60, data: '127.0.0.11' });
    if (q.type === 'AAAA' && q.name === 'ns1.example.com') answers.push({ name: q.name, type: 'AAAA', ttl: 60, data: '2001:db8::1' });
    if (q.type === 'A' && q.name === 'ns2.example.com') answers.push({ name: q.name, type: 'A', ttl: 60, data: '127.0.0.11' });
    return packet.encode({ id, type: 'response', flags: AA, questions: [q], answers });
  });
  try {
    const asked: string[] = [];
    const r = resolverFor({ lookupAddresses: async (n) => (asked.push(n), ['127.0.0.12']) });
    const list = await r.discoverNameservers('example.com', { host: '127.0.0.1', port: dns.port }, 5300);
    assert.deepEqual(asked, ['ns.other.org.']);
    // NS names sorted; ns2's address equals ns1's and is listed once.
    assert.deepEqual(list, [
      { host: '127.0.0.12', port: 5300, name: 'ns.other.org.' },
      { host: '127.0.0.11', port: 5300, name: 'ns1.example.com.' },
      { host: '2001:db8::1', port: 5300, name: 'ns1.example.com.' },
    ]);
  } finally {
    await dns.close();
  }
});

test('rcodes and unreachable servers map to exit codes', async () => {
  const dns = await startFakeDns((req) => {
    const { id, q } = question(req);
    return packet.encode({ id, type: 'response', flags: q.name.startsWith('refused') ? 5 : 2, questions: [q] });
  });
  try {
    const r = resolverFor();
    const server = { host: '127.0.0.1', port: dns.port };
    await assert.rejects(r.queryTlsa(server, 'refused.example'), (e: Error & { exitCode?: number }) => e.exitCode === 77);
    await assert.rejects(r.queryTlsa(server, 'servfail.example'), (e: Error & { exitCode?: number }) => e.exitCode === 76 && /SERVFAIL/.test(e.message));
  } finally {
    await dns.close();
  }
  const closed = { host: '127.0.0.1', port: await findClosedPort() };
  await assert.rejects(resolverFor().queryTlsa(closed, 'x.example'), (e: Error & { exitCode?: number }) => e.exitCode === 69);
});
