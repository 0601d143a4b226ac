// Proves the BIND harness with independent tools (nsupdate, dig, delv): the key may add TLSA and
// nothing else, the secondary follows by NOTIFY and can be held back, inline signing validates.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { binaryPath, requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { dig, nsupdate, rdataOf, tlsaOf } from '../harness/dns.js';
import { waitFor } from '../harness/process.js';

const run = promisify(execFile);
const HASH = 'a'.repeat(64);
const HASH2 = 'b'.repeat(64);

test('BIND primary+secondary: TLSA accepted, TXT refused, secondary follows and can be held back', async (t) => {
  if (!requireBinaries(t, ['named', 'rndc', 'dig', 'nsupdate'])) return;
  const bind = await startBind(t, { secondary: true, algorithm: 'hmac-sha512', ttl: 120 });
  assert.ok(bind.secondary);
  const owner = `_25._tcp.mx.${bind.zone}`;
  const before = await bind.serial();

  const ok = await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update add ${owner} 120 TLSA 3 1 1 ${HASH}`]);
  assert.equal(ok.code, 0, ok.stderr);
  const refused = await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update add txt.${bind.zone} 120 TXT "no"`]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr + refused.stdout, /REFUSED/);
  const unsigned = await nsupdate(bind.primary, bind.zone, null, [`update add ${owner} 120 TLSA 3 1 1 ${HASH2}`]);
  assert.notEqual(unsigned.code, 0, 'an unsigned update must be refused');

  assert.ok((await bind.serial()) > before);
  assert.deepEqual(tlsaOf(await dig(bind.primary, owner, 'TLSA')), [`3 1 1 ${HASH}`]);
  assert.ok(await waitFor(async () => rdataOf(await dig(bind.secondary!, owner, 'TLSA'), 'TLSA').length === 1, 5000),
    'secondary got the TLSA via NOTIFY');
  assert.equal((await dig(bind.secondary, `txt.${bind.zone}`, 'TXT')).status, 'NXDOMAIN');

  // Held back: the secondary still answers, with the old RRset, while the primary has the new one.
  await bind.holdSecondary();
  assert.equal((await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update add ${owner} 120 TLSA 3 1 1 ${HASH2}`])).code, 0);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(rdataOf(await dig(bind.primary, owner, 'TLSA'), 'TLSA').length, 2);
  assert.equal(rdataOf(await dig(bind.secondary, owner, 'TLSA'), 'TLSA').length, 1, 'held secondary must stay stale');
  assert.ok((await bind.serial(bind.secondary)) < (await bind.serial(bind.primary)));
  await bind.releaseSecondary();
  assert.equal(rdataOf(await dig(bind.secondary, owner, 'TLSA'), 'TLSA').length, 2);

  // Stopped: no answer at all; started again: it catches up.
  await bind.stopSecondary();
  assert.equal((await dig(bind.secondary, bind.zone, 'SOA')).status, 'NO-REPLY');
  await bind.startSecondary();
  assert.ok(await bind.waitForSecondarySync());
});

test('BIND inline-signed zone: TLSA added by update validates with delv', async (t) => {
  if (!requireBinaries(t, ['named', 'rndc', 'dig', 'nsupdate', 'delv'])) return;
  const bind = await startBind(t, { inlineSigned: true, zone: 'signed.test' });
  const owner = `_443._tcp.www.${bind.zone}`;
  assert.equal((await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update add ${owner} 300 TLSA 3 1 1 ${HASH}`])).code, 0);
  const anchor = await bind.trustAnchorFile();
  const delv = async () => (await run(binaryPath('delv'), ['-a', anchor, `+root=${bind.zone}`, `@${bind.primary.host}`, '-p', String(bind.primary.port), owner, 'TLSA'])).stdout;
  assert.ok(await waitFor(async () => /; fully validated/.test(await delv()), 10000), 'delv validates the TLSA');
  assert.match(await delv(), /TLSA\s+3 1 1/);
});
