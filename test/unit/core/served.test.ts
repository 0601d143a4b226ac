// judgeServed: in a signed zone a server counts as serving the new records only with their RRSIG
// (a validating resolver rejects an unsigned RRset there as bogus); in an unsigned zone, records suffice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeServed } from '../../../src/core/served.js';

const N = '_25._tcp.mx.example.test.';
const rd = (c: string) => ({ usage: 3, selector: 1, matchingType: 1, data: c.repeat(64) });
const expected = [{ name: N, ttl: 60, rdata: rd('a') }];

test('records present and signed: served; present but unsigned in a signed zone: not yet', () => {
  assert.equal(judgeServed(expected, [{ name: N, authoritative: true, records: [rd('a'), rd('b')], signatures: 1 }], true), true);
  assert.equal(judgeServed(expected, [{ name: N, authoritative: true, records: [rd('a')], signatures: 0 }], true), false, 'RRSIG missing (inline signing lags)');
  assert.equal(judgeServed(expected, [{ name: N, authoritative: true, records: [rd('a')], signatures: 0 }], false), true, 'unsigned zone: the records are enough');
  assert.equal(judgeServed(expected, [{ name: N, authoritative: true, records: [rd('b')], signatures: 1 }], true), false, 'record missing');
  assert.equal(judgeServed(expected, [{ name: N, authoritative: false, records: [rd('a')], signatures: 1 }], true), false, 'not authoritative');
});
