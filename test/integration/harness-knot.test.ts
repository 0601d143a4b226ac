// Proves the Knot harness with independent tools: the key may add TLSA only (other types are
// denied), the secondary follows by NOTIFY, and can be held back and stopped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireBinaries } from '../harness/binaries.js';
import { dig, nsupdate, tlsaOf } from '../harness/dns.js';
import { startKnot } from '../harness/knot.js';
import { waitFor } from '../harness/process.js';

const HASH = 'c'.repeat(64);
const HASH2 = 'd'.repeat(64);

test('Knot primary+secondary: TLSA accepted, TXT denied, secondary follows and can be held back', async (t) => {
  if (!requireBinaries(t, ['knotd', 'knotc', 'dig', 'nsupdate'])) return;
  const knot = await startKnot(t, { secondary: true, algorithm: 'hmac-sha384' });
  assert.ok(knot.secondary);
  const owner = `_25._tcp.mx.${knot.zone}`;
  const before = await knot.serial();

  const ok = await nsupdate(knot.primary, knot.zone, knot.keyFilePath, [`update add ${owner} 300 TLSA 3 1 1 ${HASH}`]);
  assert.equal(ok.code, 0, ok.stderr);
  const denied = await nsupdate(knot.primary, knot.zone, knot.keyFilePath, [`update add txt.${knot.zone} 300 TXT "no"`]);
  assert.notEqual(denied.code, 0, 'TXT must be denied');
  assert.match(denied.stderr + denied.stdout, /NOTAUTH|REFUSED|BADKEY/);
  const unsigned = await nsupdate(knot.primary, knot.zone, null, [`update add ${owner} 300 TLSA 3 1 1 ${HASH2}`]);
  assert.notEqual(unsigned.code, 0, 'an unsigned update must be refused');

  assert.ok((await knot.serial()) > before);
  assert.deepEqual(tlsaOf(await dig(knot.primary, owner, 'TLSA')), [`3 1 1 ${HASH}`]);
  assert.ok(await waitFor(async () => tlsaOf(await dig(knot.secondary!, owner, 'TLSA')).length === 1, 5000), 'NOTIFY reached the secondary');
  assert.equal((await dig(knot.primary, `txt.${knot.zone}`, 'TXT')).status, 'NXDOMAIN');

  await knot.holdSecondary();
  assert.equal((await nsupdate(knot.primary, knot.zone, knot.keyFilePath, [`update add ${owner} 300 TLSA 3 1 1 ${HASH2}`])).code, 0);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(tlsaOf(await dig(knot.primary, owner, 'TLSA')).length, 2);
  assert.equal(tlsaOf(await dig(knot.secondary, owner, 'TLSA')).length, 1, 'held secondary must stay stale');
  await knot.releaseSecondary();
  assert.equal(tlsaOf(await dig(knot.secondary, owner, 'TLSA')).length, 2);

  await knot.stopSecondary();
  assert.equal((await dig(knot.secondary, knot.zone, 'SOA')).status, 'NO-REPLY');
  await knot.startSecondary();
  assert.ok(await knot.waitForSecondarySync());
  assert.equal(tlsaOf(await dig(knot.secondary, owner, 'TLSA')).length, 2, 'restarted secondary kept its data');
});
