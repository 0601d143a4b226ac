// Proves the PowerDNS harness with independent tools. Note what PowerDNS 4.7 does with a record its
// Lua policy denies: it drops that record and still answers NOERROR, so tests check the data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireBinaries } from '../harness/binaries.js';
import { dig, nsupdate, tlsaOf } from '../harness/dns.js';
import { startPowerDns } from '../harness/pdns.js';
import { waitFor } from '../harness/process.js';

const HASH = 'e'.repeat(64);
const HASH2 = 'f'.repeat(64);
const BINS = ['pdns_server', 'pdnsutil', 'pdns_control', 'sqlite3', 'dig', 'nsupdate'];

test('PowerDNS primary+secondary: TLSA accepted, TXT dropped by policy, secondary follows and can be held back', async (t) => {
  if (!requireBinaries(t, BINS)) return;
  const pdns = await startPowerDns(t, { secondary: true });
  assert.ok(pdns.secondary);
  const owner = `_25._tcp.mx.${pdns.zone}`;
  const before = await pdns.serial();

  const ok = await nsupdate(pdns.primary, pdns.zone, pdns.keyFilePath, [`update add ${owner} 300 TLSA 3 1 1 ${HASH}`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(tlsaOf(await dig(pdns.primary, owner, 'TLSA')), [`3 1 1 ${HASH}`]);
  assert.ok((await pdns.serial()) > before, 'serial bumped');

  const txt = await nsupdate(pdns.primary, pdns.zone, pdns.keyFilePath, [`update add txt.${pdns.zone} 300 TXT "no"`]);
  // PowerDNS 4.7 behaviour worth knowing for danehook: the denied record is dropped, rcode NOERROR.
  assert.equal(txt.code, 0, `PowerDNS answered a policy-denied record with an error now: ${txt.stderr}`);
  assert.equal((await dig(pdns.primary, `txt.${pdns.zone}`, 'TXT')).status, 'NXDOMAIN', 'TXT must not be added');
  const unsigned = await nsupdate(pdns.primary, pdns.zone, null, [`update add _26._tcp.mx.${pdns.zone} 300 TLSA 3 1 1 ${HASH}`]);
  assert.equal((await dig(pdns.primary, `_26._tcp.mx.${pdns.zone}`, 'TLSA')).status, 'NXDOMAIN', `unsigned update must not apply (${unsigned.stderr.trim()})`);

  assert.ok(await waitFor(async () => tlsaOf(await dig(pdns.secondary!, owner, 'TLSA')).length === 1, 10000), 'NOTIFY reached the secondary');

  await pdns.holdSecondary();
  assert.equal((await nsupdate(pdns.primary, pdns.zone, pdns.keyFilePath, [`update add ${owner} 300 TLSA 3 1 1 ${HASH2}`])).code, 0);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(tlsaOf(await dig(pdns.primary, owner, 'TLSA')).length, 2);
  assert.equal(tlsaOf(await dig(pdns.secondary, owner, 'TLSA')).length, 1, 'held secondary must stay stale');
  await pdns.releaseSecondary();
  assert.equal(tlsaOf(await dig(pdns.secondary, owner, 'TLSA')).length, 2);
});

test('PowerDNS key-only policy (built-in TSIG-ALLOW-DNSUPDATE) accepts any type: why tlsa-only is the default', async (t) => {
  if (!requireBinaries(t, BINS)) return;
  const pdns = await startPowerDns(t, { policy: 'key-only', algorithm: 'hmac-sha512' });
  assert.equal((await nsupdate(pdns.primary, pdns.zone, pdns.keyFilePath, [`update add txt.${pdns.zone} 300 TXT "yes"`])).code, 0);
  assert.equal((await dig(pdns.primary, `txt.${pdns.zone}`, 'TXT')).status, 'NOERROR');
  const wrongKey = await nsupdate(pdns.primary, pdns.zone, null, [`update add txt2.${pdns.zone} 300 TXT "no"`]);
  assert.notEqual(wrongKey.code, 0, 'unsigned update refused by TSIG-ALLOW-DNSUPDATE');
});
