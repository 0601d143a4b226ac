// UPDATE message layout (RFC 2136 §2): header counts, zone section, class NONE deletes,
// prerequisite encodings, name compression — read back with dns-packet as an independent decoder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import packet from 'dns-packet';
import { parseMessage } from '../../../src/io/dns-wire.js';
import { formatUpdateMessage } from '../../../src/providers/rfc2136/message.js';

const R1 = { usage: 3, selector: 1, matchingType: 1, data: 'aa'.repeat(32) };
const R2 = { usage: 3, selector: 1, matchingType: 1, data: 'bb'.repeat(32) };
const OWNER = '_25._tcp.mx.example.com.';

test('header: opcode UPDATE, one zone, counts per section', () => {
  const wire = formatUpdateMessage({
    id: 0x1234,
    zone: 'Example.COM.',
    prerequisites: [{ kind: 'exactly', name: OWNER, type: 'TLSA', records: [R1, R2] }],
    updates: [{ op: 'add', name: OWNER, ttl: 3600, rdata: R2 }, { op: 'delete', name: OWNER, ttl: 3600, rdata: R1 }],
  });
  // (dns-packet cannot decode the empty TLSA rdata of an "absent" prerequisite; tested below.)
  const d = packet.decode(wire);
  assert.equal(d.id, 0x1234);
  assert.equal(d.opcode, 'UPDATE');
  assert.equal(d.flag_qr, false);
  assert.deepEqual(d.questions, [{ name: 'example.com', type: 'SOA', class: 'IN' }]);
  assert.equal(d.answers!.length, 2); // prerequisites
  assert.equal(d.authorities!.length, 2); // updates
  assert.equal(d.additionals!.length, 0);
});

test('prerequisites: value-dependent RRset exists (§2.4.2) and RRset does not exist (§2.4.3)', () => {
  const wire = formatUpdateMessage({
    id: 1,
    zone: 'example.com.',
    prerequisites: [{ kind: 'exactly', name: OWNER, type: 'TLSA', records: [R1, R2] }, { kind: 'absent', name: '_443._tcp.www.example.com.', type: 'TLSA' }],
    updates: [],
  });
  const m = parseMessage(wire);
  assert.deepEqual(m.answers.map((r) => [r.name, r.type, r.class, r.ttl, r.rdata.toString('hex')]), [
    [OWNER, 52, 1, 0, `030101${R1.data}`],
    [OWNER, 52, 1, 0, `030101${R2.data}`],
    ['_443._tcp.www.example.com.', 52, 254, 0, ''],
  ]);
});

test('single-RR delete is class NONE, TTL 0 (§2.5.4); add is class IN with the TTL (§2.5.1)', () => {
  const wire = formatUpdateMessage({
    id: 1,
    zone: 'example.com.',
    prerequisites: [],
    updates: [{ op: 'add', name: OWNER, ttl: 300, rdata: R1 }, { op: 'delete', name: OWNER, ttl: 300, rdata: R2 }],
  });
  const d = packet.decode(wire);
  const [add, del] = d.authorities as { class: string; ttl: number; type: string; data: { certificate: Buffer } }[];
  assert.equal(add!.class, 'IN');
  assert.equal(add!.ttl, 300);
  assert.equal(del!.class, 'UNKNOWN_254');
  assert.equal(del!.ttl, 0);
  assert.equal(del!.type, 'TLSA');
  assert.equal(del!.data.certificate.toString('hex'), R2.data);
});

test('names are compressed against earlier names and written lowercase', () => {
  const wire = formatUpdateMessage({ id: 1, zone: 'EXAMPLE.com', prerequisites: [], updates: [{ op: 'add', name: '_25._TCP.MX.example.com', ttl: 1, rdata: R1 }] });
  // zone at 12; owner "_25._tcp.mx" then a pointer to offset 12 (0xc00c).
  assert.equal(wire.subarray(12, 25).toString('latin1'), '\x07example\x03com\x00');
  assert.equal(wire.subarray(29, 43).toString('hex'), Buffer.concat([Buffer.from('\x03_25\x04_tcp\x02mx', 'latin1'), Buffer.from([0xc0, 0x0c])]).toString('hex'));
  assert.equal(packet.decode(wire).authorities![0]!.name, '_25._tcp.mx.example.com');
});

test('an empty UPDATE has only the zone section', () => {
  const wire = formatUpdateMessage({ id: 7, zone: 'example.com.', prerequisites: [], updates: [] });
  assert.equal(wire.length, 12 + 13 + 4);
  assert.deepEqual([...wire.subarray(4, 12)], [0, 1, 0, 0, 0, 0, 0, 0]);
});
