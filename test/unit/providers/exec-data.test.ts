// Exec protocol v1 record data (presentation form) and list-reply checks: what danehook sends and
// what it accepts back, including TXT quoting, escapes and the split of long values. Pure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatExecData, parseExecData } from '../../../src/providers/exec/data.js';
import { parseCharacterStrings } from '../../../src/core/txt-presentation.js';
import { checkListReply } from '../../../src/providers/exec/index.js';
import { listReplySchema } from '../../../src/providers/exec/protocol.js';

const HEX = 'ab'.repeat(32);

test('TLSA data: lowercase hex out; any case and zone-file spacing accepted back', () => {
  assert.equal(formatExecData({ usage: 3, selector: 1, matchingType: 1, data: HEX }), `3 1 1 ${HEX}`);
  assert.deepEqual(parseExecData('TLSA', `3 1 1 ${HEX.toUpperCase().slice(0, 20)} ${HEX.slice(20)}`), { usage: 3, selector: 1, matchingType: 1, data: HEX });
  for (const bad of ['3 1 1', '3 1 1 abc', '256 1 1 ab', `"3 1 1 ${HEX}"`]) assert.equal(parseExecData('TLSA', bad), undefined, bad);
  // Another writer's records read as the wire holds them (danehook never writes these): a stray
  // record must not make every list fail.
  assert.deepEqual(parseExecData('TLSA', `4 1 1 ${HEX}`), { usage: 4, selector: 1, matchingType: 1, data: HEX });
  assert.deepEqual(parseExecData('TLSA', `3 1 1 ${HEX}00`), { usage: 3, selector: 1, matchingType: 1, data: `${HEX}00` });
});

test('TXT data: quoted strings, \\" and \\\\ escaped, non-printable bytes as \\DDD, split at 255 bytes', () => {
  assert.equal(formatExecData({ type: 'TXT', text: 'v=DKIM1; p=a"b\\c' }), '"v=DKIM1; p=a\\"b\\\\c"');
  assert.equal(formatExecData({ type: 'TXT', text: 'é\t' }), '"\\195\\169\\009"');
  const long = 'p'.repeat(300);
  assert.equal(formatExecData({ type: 'TXT', text: long }), `"${'p'.repeat(255)}" "${'p'.repeat(45)}"`);
  // Read back: our split gives no `strings`; a foreign split is kept so a delete can repeat it.
  assert.deepEqual(parseExecData('TXT', `"${'p'.repeat(255)}" "${'p'.repeat(45)}"`), { type: 'TXT', text: long });
  assert.deepEqual(parseExecData('TXT', '"v=DKIM1; " "p=x"'), { type: 'TXT', text: 'v=DKIM1; p=x', strings: ['v=DKIM1; ', 'p=x'] });
  assert.deepEqual(parseExecData('TXT', '"a\\"b\\\\c\\065"'), { type: 'TXT', text: 'a"b\\cA' });
  assert.deepEqual(parseExecData('TXT', '""'), { type: 'TXT', text: '' });
  // Round trip of every ASCII byte (TXT values are UTF-8 text inside danehook).
  const ascii = String.fromCharCode(...Array.from({ length: 127 }, (_, i) => i + 1));
  assert.deepEqual(parseExecData('TXT', formatExecData({ type: 'TXT', text: ascii })), { type: 'TXT', text: ascii });
  assert.deepEqual(parseCharacterStrings('"\\001\\255" "x"'), [Buffer.from([1, 255]), Buffer.from('x')]);
});

test('TXT data: strict parsing rejects what a zone file might allow but the protocol does not', () => {
  for (const bad of ['abc', '"abc', '"a""b"', `"${'x'.repeat(256)}"`, '"\\256"', '"\\1"', '"a\nb"', '', '   ', '"a" b']) {
    assert.equal(parseExecData('TXT', bad), undefined, JSON.stringify(bad));
  }
});

const parse = (reply: unknown) => listReplySchema.parse(reply);
const asked = ['_25._tcp.mx.example.com.', '_465._tcp.mx.example.com.'];

test('list reply: every asked name once, the asked type, ttl null exactly when empty', () => {
  const ok = parse({ version: 1, rrsets: [
    { name: '_25._tcp.MX.example.com.', ttl: 300, type: 'TLSA', data: [`3 1 1 ${HEX}`] },
    { name: '_465._tcp.mx.example.com.', ttl: null, type: 'TLSA', data: [] },
  ] });
  const m = checkListReply(ok, asked, 'TLSA', 'a');
  assert.deepEqual([...m.keys()], asked);
  assert.equal(m.get(asked[0]!)!.ttl, 300);
  const cases: [unknown, RegExp][] = [
    [[{ name: asked[0], ttl: null, type: 'TLSA', data: [] }], /no rrset for 1 name/],
    [[...[0, 1].map((i) => ({ name: asked[i], ttl: null, type: 'TLSA', data: [] })), { name: 'other.example.com.', ttl: null, type: 'TLSA', data: [] }], /not asked for/],
    [[{ name: '_25._tcp.mx.example.com', ttl: null, type: 'TLSA', data: [] }], /trailing dot/],
    [[0, 0].map(() => ({ name: asked[0], ttl: null, type: 'TLSA', data: [] })), /twice/],
    [[{ name: asked[0], ttl: null, type: 'TXT', data: [] }], /type TXT/],
    [[{ name: asked[0], ttl: 5, type: 'TLSA', data: [] }], /ttl 5/],
    [[{ name: asked[0], ttl: null, type: 'TLSA', data: [`3 1 1 ${HEX}`] }], /ttl null/],
    [[{ name: asked[0], ttl: 5, type: 'TLSA', data: ['3 1 1 zz'] }], /presentation form/],
    [[{ name: asked[0], ttl: 5, type: 'TLSA', data: [`3 1 1 ${HEX}`, `3 1 1 ${HEX.toUpperCase()}`] }], /same record twice/],
  ];
  for (const [rrsets, message] of cases) {
    assert.throws(() => checkListReply(parse({ version: 1, rrsets }), asked, 'TLSA', 'a'), (e: Error & { exitCode?: number }) => e.exitCode === 76 && message.test(e.message), String(message));
  }
  // Schema: unknown fields, a wrong version, a negative TTL are not version 1 replies.
  for (const bad of [{ version: 1, rrsets: [], extra: 1 }, { version: 2, rrsets: [] }, { version: 1, rrsets: [{ name: 'a.', ttl: -1, type: 'TLSA', data: [] }] }]) {
    assert.equal(listReplySchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
