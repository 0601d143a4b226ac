// The RFC 2136 provider against real BIND, Knot and PowerDNS on loopback (test/harness/): writes
// are checked with dig (an independent reader), failures by exit code. Each server's known
// quirks are stated where expectations differ (FACTS.md).
import { formatRdata } from '../../src/core/rdata.js';
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import packet from 'dns-packet';
import { TsigKey } from '../../src/config/tsig-key.js';
import { DanehookError } from '../../src/errors.js';
import { createResolver } from '../../src/io/resolver.js';
import { createRfc2136Provider } from '../../src/providers/rfc2136/index.js';
import { sendSignedUpdate } from '../../src/providers/rfc2136/transport.js';
import type { Change } from '../../src/providers/types.js';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { dig, nsupdate, tlsaOf, type DnsServerHandle, type Endpoint } from '../harness/dns.js';
import { startKnot } from '../harness/knot.js';
import { startPowerDns } from '../harness/pdns.js';
import type { HarnessContext } from '../harness/tempdir.js';

type Kind = 'bind' | 'knot' | 'pdns';
const SERVERS: { kind: Kind; bins: string[]; start: (t: HarnessContext) => Promise<DnsServerHandle> }[] = [
  { kind: 'bind', bins: ['named', 'dig', 'nsupdate'], start: (t) => startBind(t, {}) },
  { kind: 'knot', bins: ['knotd', 'knotc', 'dig', 'nsupdate'], start: (t) => startKnot(t, {}) },
  { kind: 'pdns', bins: ['pdns_server', 'pdnsutil', 'pdns_control', 'sqlite3', 'dig', 'nsupdate'], start: (t) => startPowerDns(t, {}) },
];

const h = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const rd = (n: number) => ({ usage: 3, selector: 1, matchingType: 1, data: h(n) });

function keyOf(s: DnsServerHandle, override: { name?: string; secret?: Buffer } = {}): TsigKey {
  return new TsigKey(override.name ?? s.key.name, s.key.algorithm, override.secret ?? Buffer.from(s.key.secret, 'base64'));
}

function providerFor(s: DnsServerHandle, opts: { key?: TsigKey; now?: () => number; server?: Endpoint; maxMessageBytes?: number } = {}) {
  return createRfc2136Provider({ server: opts.server ?? s.primary, key: opts.key ?? keyOf(s), timeoutMs: 2000, retries: 1, now: opts.now, maxMessageBytes: opts.maxMessageBytes });
}

async function exitOf(p: Promise<unknown>): Promise<{ exit: number | undefined; message: string }> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (err === undefined) return { exit: 0, message: '' };
  assert.ok(err instanceof DanehookError, `not a DanehookError: ${String(err)}`);
  return { exit: err.exitCode, message: `${err.message} ${err.hint ?? ''}` };
}

/** A TCP proxy to `target` that flips the AA bit of the reply: an altered response whose ID and question still match. */
async function startTamperingProxy(target: Endpoint): Promise<{ endpoint: Endpoint; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    let first = true;
    upstream.on('data', (d: Buffer) => {
      const copy = Buffer.from(d);
      if (first && copy.length > 4) copy[4] = copy[4]! ^ 0x04; // 2-byte length prefix, ID, then flags: AA
      first = false;
      client.write(copy);
    });
    for (const s of [client, upstream]) s.on('error', () => {});
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

for (const { kind, bins, start } of SERVERS) {
  test(`rfc2136 provider against ${kind}`, { timeout: 120_000 }, async (t) => {
    if (!requireBinaries(t, bins)) return;
    const s = await start(t);
    const zone = s.zone;
    const owner = `_25._tcp.mx.${zone}`;
    const owner2 = `_465._tcp.mx.${zone}`;

    await t.test('findZone and checkAccess', async () => {
      const p = providerFor(s);
      assert.equal(await p.findZone(owner), zone);
      await p.checkAccess(owner);
    });

    await t.test('create: one UPDATE adds records at two names; list reads them back', async () => {
      const p = providerFor(s);
      await p.listRecords([owner, owner2]);
      const before = await s.serial();
      const changes: Change[] = [1, 2, 3].map((n) => ({ op: 'create', name: owner, ttl: 300, rdata: rd(n) }));
      changes.push({ op: 'create', name: owner2, ttl: 300, rdata: rd(1) });
      assert.deepEqual(await p.apply({ changes }), { zones: [{ zone, changes: 4 }] });
      assert.deepEqual(tlsaOf(await dig(s.primary, owner, 'TLSA')), [1, 2, 3].map((n) => `3 1 1 ${h(n)}`));
      assert.deepEqual(tlsaOf(await dig(s.primary, owner2, 'TLSA')), [`3 1 1 ${h(1)}`]);
      const after = await s.serial();
      assert.ok(after > before, 'serial bumped');
      const listed = await providerFor(s).listRecords([owner]);
      assert.deepEqual(listed.get(owner)!.records.map((r) => formatRdata(r).split(' ')[3]).sort(), [h(1), h(2), h(3)]);
    });

    await t.test('delete one RR among several', async () => {
      const p = providerFor(s);
      await p.listRecords([owner]);
      await p.apply({ changes: [{ op: 'delete', name: owner, ttl: 300, rdata: rd(2) }] });
      assert.deepEqual(tlsaOf(await dig(s.primary, owner, 'TLSA')), [`3 1 1 ${h(1)}`, `3 1 1 ${h(3)}`]);
    });

    await t.test('a no-op plan writes nothing (SOA serial unchanged)', async () => {
      const before = await s.serial();
      assert.deepEqual(await providerFor(s).apply({ changes: [] }), { zones: [] });
      assert.equal(await s.serial(), before);
    });

    await t.test('a concurrent edit since listRecords: prerequisite fails (75), nothing applied', async () => {
      const p = providerFor(s);
      await p.listRecords([owner]);
      const other = await nsupdate(s.primary, zone, s.keyFilePath, [`update delete ${owner} TLSA 3 1 1 ${h(3)}`]);
      assert.equal(other.code, 0, other.stderr);
      const r = await exitOf(p.apply({ changes: [{ op: 'delete', name: owner, ttl: 300, rdata: rd(1) }] }));
      assert.equal(r.exit, 75, r.message);
      assert.deepEqual(tlsaOf(await dig(s.primary, owner, 'TLSA')), [`3 1 1 ${h(1)}`], 'the last record survived');
    });

    await t.test('changes above the message limit go out in several messages, all applied', async () => {
      const p = providerFor(s, { maxMessageBytes: 1500 });
      const names = Array.from({ length: 40 }, (_, i) => `_${1000 + i}._tcp.mx.${zone}`);
      await p.listRecords(names);
      await p.apply({ changes: names.map((name, i) => ({ op: 'create' as const, name, ttl: 300, rdata: rd(i + 10) })) });
      for (const [i, name] of names.entries()) assert.deepEqual(tlsaOf(await dig(s.primary, name, 'TLSA')), [`3 1 1 ${h(i + 10)}`], name);
    });

    await t.test('wrong secret → 77', async () => {
      const r = await exitOf(providerFor(s, { key: keyOf(s, { secret: Buffer.from('not the secret at all, 32 bytes') }) }).checkAccess(owner));
      assert.equal(r.exit, 77, r.message);
    });

    await t.test('wrong key name → 77', async () => {
      const r = await exitOf(providerFor(s, { key: keyOf(s, { name: 'nobody-key' }) }).checkAccess(owner));
      assert.equal(r.exit, 77, r.message);
    });

    await t.test('clock an hour fast → 77 (BADTIME where the server says so)', async () => {
      const r = await exitOf(providerFor(s, { now: () => Date.now() + 3_600_000 }).checkAccess(owner));
      assert.equal(r.exit, 77, r.message);
      if (kind !== 'pdns') assert.match(r.message, /BADTIME.*(clock|NTP)/s);
    });

    await t.test('a non-TLSA update is refused by policy', async () => {
      // Test-only path: the provider only writes TLSA, so build a TXT add with dns-packet.
      const unsigned = packet.encode({ id: 77, flags: 5 << 11, questions: [{ name: zone.replace(/\.$/, ''), type: 'SOA', class: 'IN' }],
        authorities: [{ name: `txt.${zone}`.replace(/\.$/, ''), type: 'TXT', ttl: 300, class: 'IN', data: 'no' }] });
      const r = await exitOf(sendSignedUpdate(s.primary, keyOf(s), unsigned, { timeoutMs: 2000, retries: 0, now: Date.now, what: 'TXT UPDATE' }));
      // PowerDNS 4.7 drops a record its policy denies and answers NOERROR (harness-pdns.test.ts).
      if (kind === 'pdns') assert.equal(r.exit, 0, r.message);
      else assert.equal(r.exit, 77, r.message);
      assert.equal((await dig(s.primary, `txt.${zone}`, 'TXT')).status, 'NXDOMAIN', 'TXT not added');
    });

    await t.test('an altered reply from the real server is rejected (76)', async () => {
      const proxy = await startTamperingProxy(s.primary);
      try {
        // The proxy speaks TCP only: zone discovery (UDP) asks the real server directly.
        const real = createResolver({ timeoutMs: 2000 });
        const resolver = { ...real, queryZoneApex: (_server: Endpoint, name: string) => real.queryZoneApex(s.primary, name) };
        const p = createRfc2136Provider({ server: proxy.endpoint, key: keyOf(s), timeoutMs: 2000, retries: 0, resolver });
        const r = await exitOf(p.checkAccess(owner));
        assert.equal(r.exit, 76, r.message);
        assert.match(r.message, /does not verify/);
      } finally {
        await proxy.close();
      }
    });

    await t.test('server down → 69', async () => {
      await s.stop();
      const r = await exitOf(providerFor(s).checkAccess(owner));
      assert.equal(r.exit, 69, r.message);
    });
  });
}
