// The lean reply reader (src/io/dns-reply-summary.ts) on replies real BIND produced: for each,
// the same header, question and answer/authority owners and types as dns-packet (an independent
// decoder) reads, and dig's status and aa flag; cut short or with a byte added, it refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import packet from 'dns-packet';
import { sendUdpMessage } from '../../src/io/dns-exchange.js';
import { formatQueryMessage } from '../../src/io/dns-query.js';
import { readReplySummary } from '../../src/io/dns-reply-summary.js';
import { TYPE, WireFormatError } from '../../src/io/dns-wire.js';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { dig } from '../harness/dns.js';

const abs = (n: string) => `${n.toLowerCase().replace(/\.$/, '')}.`;
const RCODES: Record<string, number> = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5 };

test('readReplySummary agrees with dns-packet and dig on real BIND replies, and refuses damaged ones', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig'])) return;
  const bind = await startBind(t, {
    zone: 'example.test',
    extraZones: ['sub.example.test'],
    records: ['sub IN NS ns1.sub', 'ns1.sub IN A 127.0.0.1', 'away IN NS ns.elsewhere.invalid.', 'alias IN CNAME www', '_25._tcp.mx IN TLSA 3 1 1 ' + 'ab'.repeat(32)],
  });
  // apex (SOA answer, NS authority, glue additional), NXDOMAIN, NODATA, the child zone, a
  // referral, a CNAME, a foreign name (REFUSED), and a TLSA answer (rdata to skip).
  const asks: [string, number][] = [
    ['example.test.', TYPE.SOA], ['h1.example.test.', TYPE.SOA], ['MX.example.test.', TYPE.SOA], ['sub.example.test.', TYPE.SOA],
    ['x.sub.example.test.', TYPE.SOA], ['x.away.example.test.', TYPE.SOA], ['alias.example.test.', TYPE.SOA], ['nothere.invalid.', TYPE.SOA],
    ['_25._tcp.mx.example.test.', TYPE.TLSA], ['example.test.', TYPE.NS],
  ];
  for (const [name, type] of asks) {
    const request = formatQueryMessage(0x1234, name, type);
    const wire = await sendUdpMessage(bind.primary, request, 2000, 'test', () => true);
    const ours = readReplySummary(wire);
    const theirs = packet.decode(wire);
    const heads = (rs: packet.Answer[] | undefined) => (rs ?? []).map((r) => [abs(r.name), TYPE[r.type as keyof typeof TYPE]]);
    assert.equal(ours.header.id, theirs.id, name);
    assert.equal(ours.header.aa, theirs.flag_aa, name);
    assert.equal(ours.header.rcode, RCODES[theirs.rcode!], name);
    assert.deepEqual(ours.questions.map((q) => q.name), theirs.questions!.map((q) => abs(q.name)), name);
    assert.deepEqual(ours.answers.map((r) => [r.name, r.type]), heads(theirs.answers), name);
    assert.deepEqual(ours.authorities.map((r) => [r.name, r.type]), heads(theirs.authorities), name);
    const d = await dig(bind.primary, name, type === TYPE.SOA ? 'SOA' : type === TYPE.NS ? 'NS' : 'TLSA');
    assert.equal(ours.header.rcode, RCODES[d.status], `${name}: dig says ${d.status}`);
    assert.equal(ours.header.aa, d.flags.includes('aa'), `${name}: dig flags ${d.flags.join(' ')}`);

    for (let cut = 0; cut < wire.length; cut++) assert.throws(() => readReplySummary(wire.subarray(0, cut)), WireFormatError, `${name} cut at ${cut}`);
    assert.throws(() => readReplySummary(Buffer.concat([wire, Buffer.from([0])])), WireFormatError, `${name} with a byte added`);
  }
});
