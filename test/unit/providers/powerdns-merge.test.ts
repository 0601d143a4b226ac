// The pure parts of the PowerDNS provider: content as PowerDNS 4.7 echoes it (checked against the
// real server in test/integration/powerdns-provider.test.ts) and the read-modify-write of one RRset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatContent, parseTlsaContent, parseTxtContent, recordKey } from '../../../src/providers/powerdns/content.js';
import { computeRRsetPatch, type ApiRRset } from '../../../src/providers/powerdns/merge.js';
import type { Change } from '../../../src/providers/types.js';

const N = '_25._tcp.mx.example.test.';
const h = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const rd = (n: number) => ({ usage: 3, selector: 1, matchingType: 1, data: h(n) });
const rec = (content: string, disabled = false) => ({ content, disabled });
const rrset = (records: { content: string; disabled: boolean }[], ttl: number | null = 300): ApiRRset => ({ name: N, type: 'TLSA', ttl: records.length ? ttl : null, records });
const create = (n: number, ttl = 60): Change => ({ op: 'create', name: N, ttl, rdata: rd(n) });
const del = (n: number): Change => ({ op: 'delete', name: N, ttl: 60, rdata: rd(n) });

test('TLSA content: any hex case in, lowercase out; malformed is undefined', () => {
  assert.deepEqual(parseTlsaContent(`3 1 1 ${h(0xab).toUpperCase()}`), rd(0xab));
  assert.equal(formatContent(rd(0xab)), `3 1 1 ${h(0xab)}`);
  for (const bad of ['3 1 1 zz', '3 1', '3 1 1 abc', '300 1 1 aa', '']) assert.equal(parseTlsaContent(bad), undefined, bad);
});

test('TXT content: quoted strings with \\" \\\\ \\DDD escapes, as PowerDNS echoes them', () => {
  assert.deepEqual(parseTxtContent('"a\\"b\\\\c;d" "\\255x\\010 é"'), {
    type: 'TXT',
    text: Buffer.concat([Buffer.from('a"b\\c;d'), Buffer.from([255]), Buffer.from('x\n é')]).toString('utf8'),
    strings: ['a"b\\c;d', Buffer.concat([Buffer.from([255]), Buffer.from('x\n é')]).toString('utf8')],
  });
  assert.deepEqual(parseTxtContent('""'), { type: 'TXT', text: '' });
  assert.equal(parseTxtContent('unquoted'), undefined, 'PowerDNS refuses unquoted TXT content (422), so none is read back');
  assert.equal(parseTxtContent('"unterminated'), undefined);
  assert.equal(parseTxtContent(''), undefined);
  const long = 'v=DKIM1; k=rsa; p=' + 'A'.repeat(400);
  const content = formatContent({ type: 'TXT', text: long });
  assert.equal(content, `"${long.slice(0, 255)}" "${long.slice(255)}"`);
  assert.equal(parseTxtContent(content)!.text, long);
  assert.equal(formatContent({ type: 'TXT', text: 'a"\\\nü' }), '"a\\"\\\\\\010\\195\\188"');
  assert.equal(parseTxtContent(formatContent({ type: 'TXT', text: 'a"\\\nü' }))!.text, 'a"\\\nü');
});

test('recordKey: TLSA ignores hex case, TXT keeps the split', () => {
  assert.equal(recordKey('TLSA', `3 1 1 ${h(1).toUpperCase()}`), recordKey('TLSA', `3 1 1 ${h(1)}`));
  assert.notEqual(recordKey('TXT', '"ab" "c"'), recordKey('TXT', '"a" "bc"'));
});

test('computeRRsetPatch: fresh − deletes + creates, other records byte for byte, TTL kept', () => {
  const other = rec(`3 1 1 ${h(0x77).toUpperCase()}`);
  assert.deepEqual(computeRRsetPatch(rrset([rec(`3 1 1 ${h(1)}`), other]), [del(1), create(2)]), {
    name: N, type: 'TLSA', changetype: 'REPLACE', ttl: 300, records: [other, rec(`3 1 1 ${h(2)}`)],
  });
});

test('computeRRsetPatch: nothing to do is undefined (how apply sees convergence)', () => {
  assert.equal(computeRRsetPatch(rrset([rec(`3 1 1 ${h(2).toUpperCase()}`)]), [create(2), del(1)]), undefined);
  assert.equal(computeRRsetPatch(rrset([]), [del(1)]), undefined);
});

test('computeRRsetPatch: new RRset gets the largest create TTL; the last record gone is a DELETE', () => {
  assert.deepEqual(computeRRsetPatch(rrset([]), [create(1, 60), create(2, 120)]), {
    name: N, type: 'TLSA', changetype: 'REPLACE', ttl: 120, records: [rec(`3 1 1 ${h(1)}`), rec(`3 1 1 ${h(2)}`)],
  });
  assert.deepEqual(computeRRsetPatch(rrset([rec(`3 1 1 ${h(1)}`)]), [del(1)]), { name: N, type: 'TLSA', changetype: 'DELETE' });
});

test('computeRRsetPatch: a disabled copy of a create is enabled, not duplicated (PowerDNS 422s duplicates)', () => {
  assert.deepEqual(computeRRsetPatch(rrset([rec(`3 1 1 ${h(1)}`, true)]), [create(1)]), {
    name: N, type: 'TLSA', changetype: 'REPLACE', ttl: 300, records: [rec(`3 1 1 ${h(1)}`)],
  });
  // Two spellings of one record already there (another tool): one is kept.
  const dup = computeRRsetPatch(rrset([rec(`3 1 1 ${h(1)}`), rec(`3 1 1 ${h(1).toUpperCase()}`)]), [create(2)]);
  assert.deepEqual(dup && 'records' in dup ? dup.records : undefined, [rec(`3 1 1 ${h(1)}`), rec(`3 1 1 ${h(2)}`)]);
});

test('computeRRsetPatch: TXT deletes match the joined value whatever the split', () => {
  const txt = (text: string, op: 'create' | 'delete'): Change => ({ op, name: N, ttl: 60, rdata: { type: 'TXT', text } });
  const current: ApiRRset = { name: N, type: 'TXT', ttl: 60, records: [rec('"v=DKIM1; p=ab" "cd"'), rec('"other"')] };
  assert.deepEqual(computeRRsetPatch(current, [txt('v=DKIM1; p=abcd', 'delete')]), { name: N, type: 'TXT', changetype: 'REPLACE', ttl: 60, records: [rec('"other"')] });
});
