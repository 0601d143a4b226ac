// TXT records for DKIM keys: a value longer than 255 bytes goes out as several character-strings
// (RFC 1035 §3.3.14) and comes back joined; state and presentation forms round-trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTxtRdata, parseTxtRdata } from '../../../src/io/dns-rdata.js';
import { formatRdataPresentation, sameRdata, splitTxt } from '../../../src/core/rdata.js';
import { fromStateRecord, toStateRecord } from '../../../src/core/state-records.js';
import { TYPE } from '../../../src/io/dns-wire.js';

const DKIM = `v=DKIM1; k=rsa; p=${'A'.repeat(392)}`; // an RSA-2048 key's record is ~410 bytes

test('a 410-byte value is written as strings of 255 and 155 bytes, read back joined', () => {
  const wire = encodeTxtRdata({ type: 'TXT', text: DKIM });
  assert.equal(wire.readUInt16BE(0), DKIM.length + 2, 'RDLENGTH = bytes + one length octet per string');
  assert.equal(wire[2], 255);
  assert.equal(wire[2 + 1 + 255], DKIM.length - 255);
  const rr = { name: 's1._domainkey.example.test.', type: TYPE.TXT, klass: 1, ttl: 300, rdata: wire.subarray(2), rdataStart: 0 } as unknown as Parameters<typeof parseTxtRdata>[0];
  assert.deepEqual(parseTxtRdata(rr), { type: 'TXT', text: DKIM, strings: [DKIM.slice(0, 255), DKIM.slice(255)] });
  // A record another tool split elsewhere is written back byte for byte (deletes, prerequisites).
  const theirs = { type: 'TXT' as const, text: 'v=DKIM1; k=rsa; p=AB', strings: ['v=DKIM1; k=rsa; ', 'p=AB'] };
  assert.deepEqual([...encodeTxtRdata(theirs)], [0, 22, 16, ...Buffer.from('v=DKIM1; k=rsa; '), 4, ...Buffer.from('p=AB')]);
  assert.equal(sameRdata(theirs, { type: 'TXT', text: 'v=DKIM1; k=rsa; p=AB' }), true, 'compared as the joined value');
});

test('an empty value is one empty string (a revoked key is "v=DKIM1; p=", never zero strings)', () => {
  assert.deepEqual(splitTxt('').map((b) => b.length), [0]);
  assert.deepEqual([...encodeTxtRdata({ type: 'TXT', text: '' })], [0, 1, 0]);
});

test('presentation quotes each string; TXT never equals TLSA; state form round-trips', () => {
  assert.equal(formatRdataPresentation({ type: 'TXT', text: 'v=DKIM1; p="x"' }), '"v=DKIM1; p=\\"x\\""');
  assert.equal(formatRdataPresentation({ type: 'TXT', text: DKIM }).split('" "').length, 2);
  assert.equal(sameRdata({ type: 'TXT', text: 'a' }, { usage: 3, selector: 1, matchingType: 1, data: 'a' }), false);
  const r = { name: 's1._domainkey.example.test.', ttl: 300, rdata: { type: 'TXT' as const, text: DKIM } };
  assert.deepEqual(toStateRecord(r), { name: r.name, ttl: 300, txt: DKIM });
  assert.deepEqual(fromStateRecord(toStateRecord(r)), r);
});
