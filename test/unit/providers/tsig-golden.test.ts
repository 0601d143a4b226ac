// Known answers from independent tools: nsupdate (BIND 9.18) and knsupdate (Knot 3.2) messages
// captured on the wire by fixtures/capture-tsig-golden.mjs (each case records its command).
// danehook must compute the same MACs, and for knsupdate (same compression) the same bytes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TsigKey, type TsigAlgorithm } from '../../../src/config/tsig-key.js';
import { parseMessage } from '../../../src/io/dns-wire.js';
import { formatUpdateMessage } from '../../../src/providers/rfc2136/message.js';
import { computeTsigMac, parseTsig, signTsigMessage } from '../../../src/providers/rfc2136/tsig.js';

interface GoldenCase { tool: string; algorithm: TsigAlgorithm; keyName: string; secretBase64: string; command: string; wireHex: string }
const golden = JSON.parse(readFileSync(new URL('./fixtures/tsig-golden.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] };

const ADD = { usage: 3, selector: 1, matchingType: 1, data: '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20' };
const DEL = { usage: 3, selector: 1, matchingType: 1, data: 'a102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20' };
const OWNER = '_25._tcp.mx.example.com.';

test('golden fixtures cover every algorithm with both tools', () => {
  assert.equal(golden.cases.length, 8);
  for (const alg of ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']) {
    assert.deepEqual(golden.cases.filter((c) => c.algorithm === alg).map((c) => c.tool).sort(), ['knsupdate', 'nsupdate']);
  }
});

for (const c of golden.cases) {
  const key = new TsigKey(c.keyName, c.algorithm, Buffer.from(c.secretBase64, 'base64'));
  const wire = Buffer.from(c.wireHex, 'hex');

  test(`${c.tool} ${c.algorithm}: our MAC over its message equals its MAC`, () => {
    const found = parseTsig(wire);
    assert.ok(found, 'captured message carries a TSIG record');
    assert.equal(found.tsig.algorithm, `${c.algorithm}.`);
    assert.equal(found.tsig.fudge, 300);
    const mac = computeTsigMac(key, found.unsigned, { timeSigned: found.tsig.timeSigned, fudge: found.tsig.fudge });
    assert.equal(mac.toString('hex'), found.tsig.mac.toString('hex'));
  });

  test(`${c.tool} ${c.algorithm}: our UPDATE for the same change says the same thing`, () => {
    const found = parseTsig(wire)!;
    const ours = formatUpdateMessage({
      id: found.tsig.originalId,
      zone: 'example.com.',
      prerequisites: [],
      updates: [{ op: 'add', name: OWNER, ttl: 3600, rdata: ADD }, { op: 'delete', name: OWNER, ttl: 0, rdata: DEL }],
    });
    const strip = (m: ReturnType<typeof parseMessage>) => ({
      header: m.header,
      questions: m.questions,
      updates: m.authorities.map((r) => ({ name: r.name, type: r.type, class: r.class, ttl: r.ttl, rdata: r.rdata.toString('hex') })),
    });
    assert.deepEqual(strip(parseMessage(ours)), strip(parseMessage(found.unsigned)));
    // The delete is class NONE (254), TTL 0 (RFC 2136 §2.5.4) in both.
    assert.equal(parseMessage(found.unsigned).authorities[1]!.class, 254);
    if (c.tool === 'knsupdate') {
      // knsupdate compresses names as we do: byte-identical, unsigned and signed.
      assert.equal(ours.toString('hex'), found.unsigned.toString('hex'));
      const signed = signTsigMessage(ours, key, { timeSigned: found.tsig.timeSigned });
      assert.equal(signed.wire.toString('hex'), c.wireHex);
    }
  });
}
