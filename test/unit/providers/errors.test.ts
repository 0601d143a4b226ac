// rcode and TSIG error → danehook error class and exit code (DESIGN.md "Exit codes").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeRcodeError } from '../../../src/io/dns-errors.js';

const ctx = { what: 'UPDATE of zone example.com.', server: '127.0.0.1:53', keyLabel: 'k (hmac-sha256)' };

const table: [kind: 'query' | 'update', rcode: number, tsigError: number, exit: number | undefined, message: RegExp][] = [
  ['update', 0, 0, undefined, /./],
  ['query', 0, 0, undefined, /./],
  ['query', 3, 0, undefined, /./], // NXDOMAIN: no records, not an error
  ['update', 3, 0, 75, /NXDOMAIN/], // prerequisite "name in use" failed
  ['update', 1, 0, 76, /FORMERR/],
  ['update', 2, 0, 76, /SERVFAIL/],
  ['query', 2, 0, 76, /SERVFAIL/],
  ['update', 4, 0, 76, /NOTIMP/],
  ['update', 5, 0, 77, /REFUSED/],
  ['query', 5, 0, 77, /REFUSED/],
  ['update', 6, 0, 75, /YXDOMAIN/],
  ['update', 7, 0, 75, /YXRRSET/],
  ['update', 8, 0, 75, /NXRRSET/],
  ['update', 9, 0, 77, /NOTAUTH/],
  ['update', 10, 0, 76, /NOTZONE/],
  ['update', 9, 16, 77, /NOTAUTH, TSIG BADSIG for key k \(hmac-sha256\)/],
  ['update', 9, 17, 77, /BADKEY/],
  ['update', 9, 18, 77, /BADTIME/],
  ['update', 9, 22, 77, /BADTRUNC/],
  ['update', 15, 0, 76, /RCODE15/],
];

for (const [kind, rcode, tsigError, exit, message] of table) {
  test(`${kind} rcode ${rcode} tsig ${tsigError} → ${exit ?? 'ok'}`, () => {
    const err = computeRcodeError(rcode, { ...ctx, tsigError }, kind);
    if (exit === undefined) return assert.equal(err, undefined);
    assert.ok(err);
    assert.equal(err.exitCode, exit);
    assert.match(err.message, message);
    assert.match(err.message, /127\.0\.0\.1:53/);
  });
}

test('BADTIME hints at clock skew and says by how much', () => {
  const err = computeRcodeError(9, { ...ctx, tsigError: 18, skewSeconds: -3600 }, 'update')!;
  assert.match(err.hint ?? '', /clock.*behind by 3600 s.*NTP/);
});

test('an unsigned error reply says so', () => {
  assert.match(computeRcodeError(5, { ...ctx, unsigned: true }, 'update')!.message, /not signed/);
});
