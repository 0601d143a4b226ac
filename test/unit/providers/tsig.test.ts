// TSIG verification of replies (RFC 8945 §5.3): a genuine signed reply passes; unsigned, forged,
// tampered, replayed-against-another-request, wrong-key and out-of-time replies do not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import packet from 'dns-packet';
import { TsigKey } from '../../../src/config/tsig-key.js';
import { computeTsigRecordSize, signTsigMessage, verifyTsigResponse } from '../../../src/providers/rfc2136/tsig.js';

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const key = new TsigKey('Danehook-Key.', 'hmac-sha256', SECRET);
const NOW = 1_800_000_000;

function reply(id: number): Buffer {
  // Built with dns-packet: an UPDATE reply echoing the zone section.
  return packet.encode({ id, type: 'response', flags: 5 << 11, questions: [{ name: 'example.com', type: 'SOA', class: 'IN' }] });
}

function signedPair(opts: { replyKey?: TsigKey; time?: number } = {}) {
  const request = signTsigMessage(packet.encode({ id: 4242, flags: 5 << 11, questions: [{ name: 'example.com', type: 'SOA' }] }), key, { timeSigned: NOW });
  const resp = signTsigMessage(reply(4242), opts.replyKey ?? key, { timeSigned: opts.time ?? NOW, requestMac: request.mac });
  return { requestMac: request.mac, response: resp.wire };
}

test('a reply signed with our key over our request MAC verifies', () => {
  const { requestMac, response } = signedPair();
  const v = verifyTsigResponse(response, key, requestMac, NOW + 10);
  assert.equal(v.ok, true);
});

test('key names are compared in canonical (lowercase) form', () => {
  const other = new TsigKey('DANEHOOK-KEY', 'hmac-sha256', SECRET);
  const { requestMac, response } = signedPair({ replyKey: other });
  assert.equal(verifyTsigResponse(response, key, requestMac, NOW).ok, true);
});

test('rejected replies', async (t) => {
  const cases: [string, () => { wire: Buffer; requestMac: Buffer; now?: number; key?: TsigKey }, RegExp][] = [
    ['unsigned', () => ({ wire: reply(4242), requestMac: Buffer.alloc(32) }), /not signed/],
    ['signed with another secret', () => {
      const { requestMac, response } = signedPair({ replyKey: new TsigKey('danehook-key', 'hmac-sha256', Buffer.from('another secret, same key name!!')) });
      return { wire: response, requestMac };
    }, /does not verify/],
    ['one byte of the reply changed', () => {
      const { requestMac, response } = signedPair();
      const wire = Buffer.from(response);
      wire[2] = wire[2]! ^ 0x04; // flip AA
      return { wire, requestMac };
    }, /does not verify/],
    ['a genuine reply to a different request', () => {
      const { response } = signedPair();
      return { wire: response, requestMac: Buffer.alloc(32, 7) };
    }, /does not verify/],
    ['signed with another key name', () => {
      const { requestMac, response } = signedPair({ replyKey: new TsigKey('other-key', 'hmac-sha256', SECRET) });
      return { wire: response, requestMac };
    }, /other-key/],
    ['signed with another algorithm', () => {
      const { requestMac, response } = signedPair({ replyKey: new TsigKey('danehook-key', 'hmac-sha512', SECRET) });
      return { wire: response, requestMac };
    }, /hmac-sha512/],
    ['signed outside the fudge window', () => {
      const { requestMac, response } = signedPair({ time: NOW - 301 });
      return { wire: response, requestMac };
    }, /301 s from our clock/],
    ['truncated garbage after the header', () => ({ wire: Buffer.concat([reply(4242).subarray(0, 12), Buffer.from([1, 2, 3])]), requestMac: Buffer.alloc(32) }), /unreadable/],
  ];
  for (const [name, make, reason] of cases) {
    await t.test(name, () => {
      const c = make();
      const v = verifyTsigResponse(c.wire, c.key ?? key, c.requestMac, c.now ?? NOW);
      assert.equal(v.ok, false);
      assert.match(v.ok ? '' : v.reason, reason);
      assert.ok(!(v.ok ? '' : v.reason).includes(SECRET.toString('base64')));
    });
  }
});

test('TSIG record size matches what signTsigMessage appends', () => {
  for (const alg of ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const) {
    const k = new TsigKey('k.example', alg, SECRET);
    const msg = reply(1);
    assert.equal(signTsigMessage(msg, k, { timeSigned: NOW }).wire.length - msg.length, computeTsigRecordSize(k));
  }
});

test('the key never prints its secret', () => {
  const text = `${key} ${JSON.stringify(key)} ${String(key)}`;
  assert.ok(!text.includes(SECRET.toString('base64')) && !text.includes(SECRET.toString()));
});
