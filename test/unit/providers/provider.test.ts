// The RFC 2136 provider end to end against a fake primary on 127.0.0.1: zone discovery by SOA,
// listing, one signed UPDATE per zone with prerequisites, splitting, empty plans, access check.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import packet from 'dns-packet';
import { TsigKey } from '../../../src/config/tsig-key.js';
import { parseMessage } from '../../../src/io/dns-wire.js';
import { createRfc2136Provider } from '../../../src/providers/rfc2136/index.js';
import { parseTsig, signTsigMessage } from '../../../src/providers/rfc2136/tsig.js';
import type { Change } from '../../../src/providers/types.js';
import { startFakeDns, type FakeRequest } from './fake-dns.js';

const key = new TsigKey('danehook-key', 'hmac-sha256', Buffer.from('provider test secret'));
const ZONES = ['example.com', 'example.net'];
const rd = (n: number) => ({ usage: 3, selector: 1, matchingType: 1, data: n.toString(16).padStart(64, '0') });
const EXISTING: Record<string, number[]> = { '_25._tcp.mx.example.com': [1] };

function soa(zone: string) {
  return { name: zone, type: 'SOA' as const, ttl: 3600, data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: 7, minimum: 300 } };
}

/** A primary for example.com and example.net: answers SOA/TLSA queries, accepts signed UPDATEs. */
function primary(opts: { aa?: boolean } = {}) {
  return (req: FakeRequest): Buffer => {
    const q = parseMessage(req.wire);
    const id = q.header.id;
    if (q.header.opcode === 5) {
      const tsig = parseTsig(req.wire)!.tsig;
      const base = packet.encode({ id, type: 'response', flags: 5 << 11, questions: [{ name: q.questions[0]!.name, type: 'SOA', class: 'IN' }] });
      return signTsigMessage(base, key, { timeSigned: tsig.timeSigned, requestMac: tsig.mac }).wire;
    }
    const name = q.questions[0]!.name.replace(/\.$/, '');
    const type = q.questions[0]!.type === 6 ? 'SOA' : 'TLSA';
    const zone = ZONES.find((z) => name === z || name.endsWith(`.${z}`));
    const flags = opts.aa === false ? 0 : packet.AUTHORITATIVE_ANSWER;
    if (!zone) return packet.encode({ id, type: 'response', flags: flags | 5, questions: [{ name, type }] });
    const answers = [];
    if (type === 'SOA' && name === zone) answers.push(soa(zone));
    if (type === 'TLSA') for (const n of EXISTING[name] ?? []) answers.push({ name, type: 'TLSA' as const, ttl: 600, data: { ...rd(n), certificate: Buffer.from(rd(n).data, 'hex') } });
    return packet.encode({ id, type: 'response', flags, questions: [{ name, type }], answers, authorities: answers.length ? [] : [soa(zone)] });
  };
}

async function withProvider(fn: (p: ReturnType<typeof createRfc2136Provider>, updates: () => FakeRequest[]) => Promise<void>, opts: { aa?: boolean; maxMessageBytes?: number } = {}) {
  const dns = await startFakeDns(primary(opts));
  try {
    const p = createRfc2136Provider({ server: { host: '127.0.0.1', port: dns.port }, key, timeoutMs: 1000, retries: 0, maxMessageBytes: opts.maxMessageBytes });
    await fn(p, () => dns.requests.filter((r) => parseMessage(r.wire).header.opcode === 5));
  } finally {
    await dns.close();
  }
}

test('findZone: apex from the answer or from the authority section (RFC 2308 §3)', () =>
  withProvider(async (p) => {
    assert.equal(await p.findZone('_25._tcp.mx.example.com'), 'example.com.');
    assert.equal(await p.findZone('EXAMPLE.net.'), 'example.net.');
    await assert.rejects(p.findZone('x.example.org.'), (e: Error & { exitCode?: number }) => e.exitCode === 77);
  }));

test('findZone and listRecords need authoritative answers', () =>
  withProvider(async (p) => {
    await assert.rejects(p.findZone('_25._tcp.mx.example.com'), /not authoritative/);
    await assert.rejects(p.listRecords(['_25._tcp.mx.example.com']), /not authoritative/);
  }, { aa: false }));

test('listRecords returns RRsets (empty for names without TLSA), names absolute and lowercase', () =>
  withProvider(async (p) => {
    const m = await p.listRecords(['_25._tcp.MX.example.com', '_465._tcp.mx.example.com.']);
    assert.deepEqual(m.get('_25._tcp.mx.example.com.'), { name: '_25._tcp.mx.example.com.', ttl: 600, records: [rd(1)] });
    assert.deepEqual(m.get('_465._tcp.mx.example.com.'), { name: '_465._tcp.mx.example.com.', ttl: null, records: [] });
  }));

test('an empty plan sends nothing', () =>
  withProvider(async (p, updates) => {
    assert.deepEqual(await p.apply({ changes: [] }), { zones: [] });
    assert.equal(updates().length, 0);
  }));

test('one signed UPDATE per zone, all its changes, guarded by what listRecords saw', () =>
  withProvider(async (p, updates) => {
    await p.listRecords(['_25._tcp.mx.example.com.', '_465._tcp.mx.example.com.']);
    const changes: Change[] = [
      { op: 'create', name: '_25._tcp.mx.example.com.', ttl: 600, rdata: rd(2) },
      { op: 'delete', name: '_25._tcp.mx.example.com.', ttl: 600, rdata: rd(1) },
      { op: 'create', name: '_465._tcp.mx.example.com.', ttl: 600, rdata: rd(2) },
      { op: 'create', name: '_25._tcp.mx.example.net.', ttl: 600, rdata: rd(3) },
    ];
    const result = await p.apply({ changes });
    assert.deepEqual(result, { zones: [{ zone: 'example.com.', changes: 3 }, { zone: 'example.net.', changes: 1 }] });
    const sent = updates().map((r) => parseMessage(parseTsig(r.wire)!.unsigned));
    assert.equal(sent.length, 2);
    const com = sent.find((m) => m.questions[0]!.name === 'example.com.')!;
    assert.deepEqual(com.authorities.map((r) => [r.name, r.class]), [
      ['_25._tcp.mx.example.com.', 1], ['_465._tcp.mx.example.com.', 1], ['_25._tcp.mx.example.com.', 254],
    ]);
    // §2.4.2 for the RRset that existed, §2.4.3 for the one that did not.
    assert.deepEqual(com.answers.map((r) => [r.name, r.class, r.rdata.toString('hex')]), [
      ['_25._tcp.mx.example.com.', 1, `030101${rd(1).data}`], ['_465._tcp.mx.example.com.', 254, ''],
    ]);
    const net = sent.find((m) => m.questions[0]!.name === 'example.net.')!;
    assert.equal(net.answers.length, 0, 'never listed: no prerequisite');
  }));

test('a zone whose changes exceed the message limit is split into messages that fit, each well filled', () =>
  withProvider(async (p, updates) => {
    const changes: Change[] = Array.from({ length: 60 }, (_, i) => ({ op: 'create' as const, name: `_${i}._tcp.mx.example.com.`, ttl: 60, rdata: rd(i) }));
    await p.apply({ changes });
    const sizes = updates().map((r) => r.wire.length);
    assert.ok(sizes.length >= 2 && sizes.every((s) => s <= 1200), `sizes ${sizes.join(',')}`);
    const total = updates().reduce((n, r) => n + parseMessage(r.wire).header.nscount, 0);
    assert.equal(total, 60);
    // Sizes come from an upper bound (a name as its labels plus a pointer to the zone, where the
    // writer may compress more): every message but the last is still at least 3/4 full.
    assert.ok(sizes.slice(0, -1).every((s) => s > 1200 * 0.75), `sizes ${sizes.join(',')}`);
  }, { maxMessageBytes: 1200 }));

test('checkAccess sends one empty signed UPDATE to the zone', () =>
  withProvider(async (p, updates) => {
    await p.checkAccess('_25._tcp.mx.example.com.');
    assert.equal(updates().length, 1);
    const m = parseMessage(parseTsig(updates()[0]!.wire)!.unsigned);
    assert.deepEqual([m.questions[0]!.name, m.header.ancount, m.header.nscount], ['example.com.', 0, 0]);
  }));

test('dns.zone: a name inside a configured zone needs no SOA lookup (the longest zone wins); others are still asked', async () => {
  const fake = await startFakeDns(() => undefined); // silent: any lookup would time out
  try {
    const p = createRfc2136Provider({ server: { host: '127.0.0.1', port: fake.port }, key, timeoutMs: 300, retries: 0, zones: ['example.com', 'sub.example.com'] });
    assert.equal(await p.findZone('_25._tcp.mx.example.com.'), 'example.com.');
    assert.equal(await p.findZone('_25._tcp.mx.sub.example.com.'), 'sub.example.com.', 'a configured delegated zone wins');
    assert.equal(fake.requests.length, 0, 'no query for names inside configured zones');
    await assert.rejects(p.findZone('_25._tcp.mx.example.org.'));
    assert.ok(fake.requests.length > 0, 'a name outside every configured zone is looked up');
  } finally {
    await fake.close();
  }
});
