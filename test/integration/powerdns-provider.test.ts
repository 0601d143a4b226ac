// The PowerDNS HTTP API provider against real PowerDNS 4.7 (gsqlite3, API on loopback): every
// write is checked with dig and `pdnsutil list-zone` (independent readers); other writers are
// pdnsutil and raw API calls; failures by exit code, with fake HTTP servers for garbage replies.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { txtStrings, type Rdata, type TxtRdata } from '../../src/core/rdata.js';
import { DanehookError } from '../../src/errors.js';
import { createPowerDnsProvider, type PowerDnsOptions } from '../../src/providers/powerdns/index.js';
import type { Change } from '../../src/providers/types.js';
import { requireBinaries } from '../harness/binaries.js';
import { dig, rdataOf, tlsaOf } from '../harness/dns.js';
import { startPowerDns, type PowerDnsHandle } from '../harness/pdns.js';
import { freePort } from '../harness/ports.js';

const ZONE = 'example.test.';
const OWNER = `_25._tcp.mx.${ZONE}`;
const DKIM = `sel._domainkey.${ZONE}`;
const h = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const rd = (n: number): Rdata => ({ usage: 3, selector: 1, matchingType: 1, data: h(n) });
const tlsa = (n: number) => `3 1 1 ${h(n)}`;
// A DKIM-size value (RSA-2048 public key length): PowerDNS stores it as several strings.
const DKIM_VALUE = `v=DKIM1; k=rsa; p=${'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'.padEnd(392, 'Qx7')}`;
const create = (name: string, rdata: Rdata, ttl = 60): Change => ({ op: 'create', name, ttl, rdata });
const del = (name: string, rdata: Rdata, ttl = 60): Change => ({ op: 'delete', name, ttl, rdata });

function providerFor(s: PowerDnsHandle, over: Partial<PowerDnsOptions> = {}) {
  return createPowerDnsProvider({ url: s.api!.url, serverId: 'localhost', apiKey: s.api!.key, server: s.primary, timeoutMs: 2000, zones: [], ...over });
}

async function exitOf(p: Promise<unknown>): Promise<{ exit: number; message: string }> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (err === undefined) return { exit: 0, message: '' };
  assert.ok(err instanceof DanehookError, `not a DanehookError: ${String(err)}`);
  return { exit: err.exitCode, message: `${err.message} ${err.hint ?? ''}` };
}

/** Another writer using the API directly (not danehook's code). */
async function otherWriterReplace(s: PowerDnsHandle, name: string, type: string, ttl: number, contents: string[]): Promise<void> {
  const res = await fetch(`${s.api!.url}/api/v1/servers/localhost/zones/${ZONE}`, {
    method: 'PATCH',
    headers: { 'X-API-Key': s.api!.key },
    body: JSON.stringify({ rrsets: [{ name, type, ttl, changetype: 'REPLACE', records: contents.map((content) => ({ content, disabled: false })) }] }),
  });
  assert.equal(res.status, 204, await res.text());
}

const listZone = (s: PowerDnsHandle) => s.pdnsutil('primary', ['list-zone', 'example.test']);
const servedTlsa = async (s: PowerDnsHandle, name = OWNER) => tlsaOf(await dig(s.primary, name, 'TLSA'));

/** A loopback HTTP server answering every request with `handler`. */
async function fakeApi(t: { after(fn: () => unknown): void }, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('powerdns provider against real PowerDNS (HTTP API)', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['pdns_server', 'pdnsutil', 'pdns_control', 'sqlite3', 'dig'])) return;
  const dkimStrings = [DKIM_VALUE.slice(0, 255), DKIM_VALUE.slice(255)];
  const s = await startPowerDns(t, {
    api: true,
    records: [
      `_25._tcp.mx 300 IN TLSA 3 1 1 ${h(0xab).toUpperCase()}`, // another tool wrote upper-case hex
      `sel._domainkey 300 IN TXT ${dkimStrings.map((x) => `"${x}"`).join(' ')}`,
    ],
  });
  const key = s.api!.key;
  const messages: string[] = [];
  const p = providerFor(s);

  await t.test('listRecords reads TLSA (hex lowercased) and a > 255-byte TXT kept as its strings', async () => {
    const got = await p.listRecords([OWNER, `_465._tcp.mx.${ZONE}`]);
    assert.deepEqual(got.get(OWNER), { name: OWNER, ttl: 300, records: [rd(0xab)] });
    assert.deepEqual(got.get(`_465._tcp.mx.${ZONE}`), { name: `_465._tcp.mx.${ZONE}`, ttl: null, records: [] });
    const txt = await p.listRecords([DKIM.toUpperCase(), `nope._domainkey.${ZONE}`], 'TXT');
    const [record, ...more] = txt.get(DKIM)!.records as TxtRdata[];
    assert.equal(more.length, 0);
    assert.equal(record!.text, DKIM_VALUE);
    // The strings as PowerDNS holds them (kept explicitly only when not danehook's own 255-byte split).
    assert.deepEqual(txtStrings(record!).map(String), dkimStrings);
    assert.equal(txt.get(`nope._domainkey.${ZONE}`)!.records.length, 0);
  });

  await t.test('findZone: configured zones first, else the longest zone the API lists', async () => {
    await s.pdnsutil('primary', ['create-zone', 'sub.example.test', 'ns1.example.test']);
    assert.equal(await p.findZone(`_25._tcp.mx.sub.${ZONE}`), ZONE, 'the zone list is read once per provider (one CLI run)');
    const fresh = providerFor(s);
    assert.equal(await fresh.findZone(`_25._tcp.mx.sub.${ZONE}`), `sub.${ZONE}`);
    assert.equal(await fresh.findZone(OWNER), ZONE);
    assert.equal(await providerFor(s, { zones: ['example.test'] }).findZone(`_25._tcp.mx.sub.${ZONE}`), ZONE);
    const r = await exitOf(p.findZone('_25._tcp.mx.elsewhere.test.'));
    assert.equal(r.exit, 78, r.message);
    assert.match(r.message, /no zone .* contains _25\._tcp\.mx\.elsewhere\.test\./);
  });

  await t.test('checkAccess: reads the zone, warns when SOA-EDIT-API is unset', async () => {
    const serial = await s.serial();
    assert.deepEqual(await p.checkAccess(OWNER), []);
    await s.pdnsutil('primary', ['set-meta', 'sub.example.test', 'SOA-EDIT-API']); // create-zone leaves it unset too
    const warnings = (await providerFor(s).checkAccess(`mx.sub.${ZONE}`)) ?? [];
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /zone sub\.example\.test\. has no SOA-EDIT-API.*pdnsutil set-meta sub\.example\.test SOA-EDIT-API DEFAULT/);
    assert.equal(await s.serial(), serial, 'checkAccess wrote nothing');
  });

  await t.test('apply: creates and deletes in one PATCH, the RRset keeps its TTL, the serial goes up', async () => {
    const serial = await s.serial();
    const r = await p.apply({ changes: [create(OWNER, rd(1)), create(OWNER, rd(2)), del(OWNER, rd(0xab)), create(DKIM.replace('sel.', 'sel2.'), { type: 'TXT', text: DKIM_VALUE }, 120)] });
    assert.deepEqual(r, { zones: [{ zone: ZONE, changes: 4 }] });
    assert.deepEqual(await servedTlsa(s), [tlsa(1), tlsa(2)]);
    const d = await dig(s.primary, OWNER, 'TLSA');
    assert.ok(d.answers.every((l) => l.split(/\s+/)[1] === '300'), `TTL kept: ${d.answers.join('\n')}`);
    const txt = rdataOf(await dig(s.primary, `sel2._domainkey.${ZONE}`, 'TXT'), 'TXT');
    assert.equal(txt.length, 1);
    assert.equal(txt[0]!.replace(/" "/g, '').replace(/^"|"$/g, ''), DKIM_VALUE, 'joined value served');
    assert.match(await listZone(s), /sel2\._domainkey\.example\.test\s+120\s+IN\s+TXT\s+"v=DKIM1/);
    assert.ok((await s.serial()) > serial, 'SOA-EDIT-API DEFAULT bumped the serial');
    // Applying the same plan again changes nothing (no PATCH: the serial stays).
    const after = await s.serial();
    await p.apply({ changes: [create(OWNER, rd(1)), del(OWNER, rd(0xab))] });
    assert.equal(await s.serial(), after);
  });

  await t.test('apply: the last record deleted leaves no RRset (changetype DELETE)', async () => {
    await p.apply({ changes: [del(OWNER, rd(1)), del(OWNER, rd(2)), del(`sel2._domainkey.${ZONE}`, { type: 'TXT', text: DKIM_VALUE })] });
    const d = await dig(s.primary, OWNER, 'TLSA');
    assert.equal(d.status, 'NXDOMAIN', 'nothing else lives at or below the owner');
    assert.deepEqual(d.answers, []);
    assert.doesNotMatch(await listZone(s), /_25\._tcp\.mx|sel2\._domainkey/);
    assert.deepEqual((await p.listRecords([OWNER])).get(OWNER), { name: OWNER, ttl: null, records: [] });
  });

  await t.test("another writer's record added between danehook's read and its apply survives", async () => {
    await p.apply({ changes: [create(OWNER, rd(3))] });
    const seen = await p.listRecords([OWNER]); // what the core reads and plans from
    assert.deepEqual(seen.get(OWNER)!.records, [rd(3)]);
    await s.pdnsutil('primary', ['add-record', 'example.test', '_25._tcp.mx', 'TLSA', '300', tlsa(0x77)]);
    await otherWriterReplace(s, DKIM, 'TXT', 300, [`"v=DKIM1; k=ed25519; p=other"`]);
    await p.apply({ changes: [create(OWNER, rd(4)), del(OWNER, rd(3)), create(DKIM, { type: 'TXT', text: 'v=DKIM1; k=rsa; p=ours' })] });
    assert.deepEqual(await servedTlsa(s), [tlsa(4), tlsa(0x77)].sort());
    assert.deepEqual(rdataOf(await dig(s.primary, DKIM, 'TXT'), 'TXT').sort(), ['"v=DKIM1; k=ed25519; p=other"', '"v=DKIM1; k=rsa; p=ours"']);
  });

  await t.test('a stale writer that REPLACEs right after our PATCH: re-read, re-applied on top of its write', async () => {
    let patches = 0;
    const q = providerFor(s, {
      afterPatch: async (_zone, attempt) => {
        patches = attempt;
        // It read before our PATCH (4, 77) and writes that back plus its own record.
        if (attempt === 1) await otherWriterReplace(s, OWNER, 'TLSA', 300, [tlsa(4), tlsa(0x77), tlsa(0x78)]);
      },
    });
    await q.apply({ changes: [create(OWNER, rd(5)), del(OWNER, rd(4))] });
    assert.equal(patches, 2, 'one re-apply');
    assert.deepEqual(await servedTlsa(s), [tlsa(5), tlsa(0x77), tlsa(0x78)].sort());
  });

  await t.test('a writer that keeps undoing ours: 75 after maxPatches, its state left as it wrote it', async () => {
    let patches = 0;
    const q = providerFor(s, {
      maxPatches: 3,
      afterPatch: async () => {
        patches++;
        await otherWriterReplace(s, OWNER, 'TLSA', 300, [tlsa(0x77)]);
      },
    });
    const r = await exitOf(q.apply({ changes: [create(OWNER, rd(6))] }));
    assert.equal(r.exit, 75, r.message);
    assert.match(r.message, /did not keep danehook's changes after 3 PATCHes .*_25\._tcp\.mx\.example\.test\. TLSA/);
    assert.equal(patches, 3);
    messages.push(r.message);
  });

  await t.test('known limit: a record written between the fresh read and the PATCH is lost (no compare-and-swap)', async () => {
    const q = providerFor(s, { beforePatch: () => s.pdnsutil('primary', ['add-record', 'example.test', '_25._tcp.mx', 'TLSA', '300', tlsa(0x79)]).then(() => undefined) });
    await q.apply({ changes: [create(OWNER, rd(7))] });
    assert.deepEqual(await servedTlsa(s), [tlsa(7), tlsa(0x77)].sort(), 'the record added inside the window is gone');
  });

  await t.test('many RRsets: one read of the whole zone instead of one GET per name', async () => {
    const q = providerFor(s, { filteredReadLimit: 2 });
    const owners = [25, 465, 587, 993].map((port) => `_${port}._tcp.www.${ZONE}`);
    await q.apply({ changes: owners.map((o, i) => create(o, rd(0x10 + i))) });
    const got = await q.listRecords(owners);
    for (const [i, o] of owners.entries()) {
      assert.deepEqual(got.get(o)!.records, [rd(0x10 + i)]);
      assert.deepEqual(await servedTlsa(s, o), [tlsa(0x10 + i)]);
    }
    await q.apply({ changes: owners.map((o, i) => del(o, rd(0x10 + i))) });
    for (const o of owners) assert.deepEqual(await servedTlsa(s, o), []);
  });

  await t.test('wrong API key: 77 from every call, nothing written', async () => {
    const before = { serial: await s.serial(), zone: await listZone(s), tlsa: await servedTlsa(s) };
    const bad = providerFor(s, { apiKey: 'not-the-key' });
    for (const call of [bad.checkAccess(OWNER), bad.listRecords([OWNER]), bad.apply({ changes: [create(OWNER, rd(8))] })]) {
      const r = await exitOf(call);
      assert.equal(r.exit, 77, r.message);
      assert.match(r.message, /refused the API key: HTTP 401/);
      messages.push(r.message);
    }
    // The zone is configured (no zone list needed): the PATCH path itself gets 401 too.
    const r = await exitOf(providerFor(s, { apiKey: 'not-the-key', zones: ['example.test'] }).apply({ changes: [create(OWNER, rd(8))] }));
    assert.equal(r.exit, 77, r.message);
    assert.deepEqual({ serial: await s.serial(), zone: await listZone(s), tlsa: await servedTlsa(s) }, before);
  });

  await t.test('unknown zone (configured but not in PowerDNS): 78 naming the zone', async () => {
    const r = await exitOf(providerFor(s, { zones: ['missing.test'] }).listRecords(['_25._tcp.mx.missing.test.']));
    assert.equal(r.exit, 78, r.message);
    assert.match(r.message, /zones\/missing\.test\..*not found/);
    messages.push(r.message);
  });

  await t.test('API unreachable (closed port) or silent (timeout): 69', async () => {
    const closed = await exitOf(providerFor(s, { url: `http://127.0.0.1:${await freePort()}`, zones: ['example.test'] }).listRecords([OWNER]));
    assert.equal(closed.exit, 69, closed.message);
    assert.match(closed.message, /ECONNREFUSED/);
    const silent = await fakeApi(t, () => { /* never answers */ });
    const started = Date.now();
    const slow = await exitOf(providerFor(s, { url: silent, timeoutMs: 500, zones: ['example.test'] }).checkAccess(OWNER));
    assert.equal(slow.exit, 69, slow.message);
    assert.match(slow.message, /timed out/);
    assert.ok(Date.now() - started < 2000, `gave up after ${Date.now() - started} ms`);
    const unresolvable = await exitOf(providerFor(s, { url: 'http://pdns-api.invalid:8081', zones: ['example.test'] }).checkAccess(OWNER));
    assert.equal(unresolvable.exit, 69, unresolvable.message);
    messages.push(closed.message, slow.message, unresolvable.message);
  });

  await t.test('garbage from something that is not PowerDNS: 76 (5xx: 69, 404: 78)', async () => {
    const cases: [string, (req: IncomingMessage, res: ServerResponse) => void, number, RegExp][] = [
      ['HTML page', (_q, r) => r.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>Welcome to nginx!</body></html>'), 76, /not JSON: <html>/],
      ['200 plain text', (_q, r) => r.writeHead(200).end('OK'), 76, /not JSON: OK/],
      ['JSON of another shape', (_q, r) => r.writeHead(200, { 'Content-Type': 'application/json' }).end('{"hello": "world"}'), 76, /unexpected JSON/],
      ['JSON with a broken rrset', (_q, r) => r.writeHead(200).end('{"id": "example.test.", "name": "example.test.", "rrsets": [{"name": 5}]}'), 76, /unexpected JSON/],
      ['502 from a proxy', (_q, r) => r.writeHead(502).end('<html>Bad Gateway</html>'), 69, /HTTP 502/],
      ['404', (_q, r) => r.writeHead(404).end('Not Found'), 78, /not found/],
      ['redirect elsewhere', (_q, r) => r.writeHead(302, { Location: 'http://192.0.2.1/' }).end(), 76, /unexpected HTTP 302/],
    ];
    for (const [what, handler, exit, pattern] of cases) {
      const url = await fakeApi(t, handler);
      const q = providerFor(s, { url, zones: ['example.test'] });
      for (const call of [q.listRecords([OWNER]), q.apply({ changes: [create(OWNER, rd(9))] })]) {
        const r = await exitOf(call);
        assert.equal(r.exit, exit, `${what}: ${r.message}`);
        assert.match(r.message, pattern, what);
        messages.push(r.message);
      }
    }
    const seen: string[] = [];
    const url = await fakeApi(t, (req, res) => { seen.push(`${req.method} ${req.url} ${req.headers['x-api-key'] === key}`); res.writeHead(200).end('{}'); });
    await exitOf(providerFor(s, { url, zones: ['example.test'] }).listRecords([OWNER]));
    assert.deepEqual(seen, [`GET /api/v1/servers/localhost/zones/example.test.?rrset_name=_25._tcp.mx.example.test.&rrset_type=TLSA true`]);
  });

  await t.test('no message names the API key', () => {
    assert.ok(messages.length >= 10);
    for (const m of messages) assert.ok(!m.includes(key), m);
  });
});
