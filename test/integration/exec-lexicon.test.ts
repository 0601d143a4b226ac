// The example lexicon adapter (examples/providers/lexicon-adapter.py) through the exec provider,
// live against real BIND with lexicon's `ddns` provider (RFC 2136 — the one lexicon provider that
// runs without a hosted API): TLSA and TXT listed, created and deleted (read back with dig), a
// policy refusal is 77 (lexicon alone ignores the rcode), a closed port is 69.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { readTlsa } from '../harness/dane-check.js';
import { txtValues } from '../harness/dkim.js';
import { createExecProvider } from '../../src/providers/exec/index.js';

const ADAPTER = fileURLToPath(new URL('../../examples/providers/lexicon-adapter.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const OWNER = '_25._tcp.mx.example.test.';
const DKIM = 'sel._domainkey.example.test.';
const hex = (n: number) => n.toString(16).repeat(64).slice(0, 64);
const rd = (n: number) => ({ usage: 3, selector: 1, matchingType: 1, data: hex(n) });

test('lexicon adapter (ddns provider) against BIND: TLSA and TXT round trip, refusal 77, unreachable 69', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'lexicon'])) return;
  if (!existsSync(PYTHON)) return void t.skip(`${PYTHON} missing`);
  const bind = await startBind(t, {
    zone: 'example.test', ttl: 2, updatePolicy: 'grant danehook-key zonesub TLSA TXT;',
    records: [`_25._tcp.mx 2 IN TLSA 3 1 1 ${hex(1)}`, 'sel._domainkey 2 IN TXT "v=DKIM1; k=rsa; " "p=old"'],
  });
  const token = `hmac-sha256:${bind.key.name.replace(/\.$/, '')}:${bind.key.secret}`;
  const make = (port: number, secret = token) => createExecProvider({
    command: [PYTHON, ADAPTER, '--provider', 'ddns', '--zone', 'example.test', '--opt', 'ddns_server=127.0.0.1', '--ddns-port', String(port)],
    timeoutMs: 20_000, passEnv: ['LEXICON_DDNS_AUTH_TOKEN'], env: { LEXICON_DDNS_AUTH_TOKEN: secret, UNRELATED: 'x' },
    server: bind.primary, zones: ['example.test'], log: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} },
  });
  const p = make(bind.primary.port);
  await p.checkAccess(OWNER);

  const tlsa = await p.listRecords([OWNER]);
  assert.deepEqual(tlsa.get(OWNER)!.records, [rd(1)]);
  const txt = (await p.listRecords([DKIM], 'TXT')).get(DKIM)!;
  assert.deepEqual(txt.records, [{ type: 'TXT', text: 'v=DKIM1; k=rsa; p=old', strings: ['v=DKIM1; k=rsa; ', 'p=old'] }]);

  await p.apply({ changes: [
    { op: 'create', name: OWNER, ttl: 2, rdata: rd(2) },
    { op: 'delete', name: OWNER, ttl: 2, rdata: rd(1) },
    { op: 'create', name: DKIM, ttl: 2, rdata: { type: 'TXT', text: `v=DKIM1; k=rsa; p=${'N'.repeat(300)}` } },
    { op: 'delete', name: DKIM, ttl: 2, rdata: txt.records[0]! },
  ] });
  assert.equal(p.capabilities.atomicPerZone, false, 'lexicon writes record by record');
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [`3 1 1 ${hex(2)}`]);
  const served = await txtValues(bind.primary, DKIM);
  assert.deepEqual(served.values, [`v=DKIM1; k=rsa; p=${'N'.repeat(300)}`]);
  assert.deepEqual(served.strings[0]!.map((s) => s.length), [255, 63], 'split at 255 bytes');

  // A wrong secret: BIND answers NOTAUTH/BADSIG → 77; nothing written.
  const serial = await bind.serial();
  await assert.rejects(make(bind.primary.port, `hmac-sha256:danehook-key:${Buffer.alloc(32, 1).toString('base64')}`).apply({ changes: [{ op: 'create', name: OWNER, ttl: 2, rdata: rd(3) }] }), (e: Error & { exitCode?: number }) => e.exitCode === 77);
  assert.equal(await bind.serial(), serial);
  await assert.rejects(make(9).listRecords([OWNER]), (e: Error & { exitCode?: number }) => e.exitCode === 69 && /refused/i.test(e.message));
});

test('lexicon adapter: a REFUSED update (outside the update policy) is 77, not the silent success lexicon reports', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'lexicon'])) return;
  if (!existsSync(PYTHON)) return void t.skip(`${PYTHON} missing`);
  const bind = await startBind(t, { zone: 'example.test', ttl: 2 }); // policy: TLSA only
  const p = createExecProvider({
    command: [PYTHON, ADAPTER, '--provider', 'ddns', '--zone', 'example.test', '--opt', 'ddns_server=127.0.0.1', '--ddns-port', String(bind.primary.port)],
    timeoutMs: 20_000, passEnv: ['LEXICON_DDNS_AUTH_TOKEN'], env: { LEXICON_DDNS_AUTH_TOKEN: `hmac-sha256:${bind.key.name.replace(/\.$/, '')}:${bind.key.secret}` },
    server: bind.primary, zones: ['example.test'], log: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} },
  });
  await assert.rejects(p.apply({ changes: [{ op: 'create', name: DKIM, ttl: 2, rdata: { type: 'TXT', text: 'v=DKIM1; p=x' } }] }), (e: Error & { exitCode?: number }) => e.exitCode === 77 && /REFUSED/.test(e.message));
  assert.deepEqual((await txtValues(bind.primary, DKIM)).values, []);
});
