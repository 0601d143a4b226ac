// Zone lookups in one burst (pipelined over one TCP connection) against real BIND, Knot and
// PowerDNS: each name's zone is what the server proves for it — the same as dig reads from its
// reply (flags, answer and authority sections) and as a lone lookup over UDP finds, for plain
// names, a child zone served by the same server (BIND), a delegation elsewhere, a CNAME and a
// name outside every zone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DanehookError } from '../../src/errors.js';
import { createResolver } from '../../src/io/resolver.js';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { dig, type DnsServerHandle, type Endpoint } from '../harness/dns.js';
import { startKnot } from '../harness/knot.js';
import { startPowerDns } from '../harness/pdns.js';
import type { HarnessContext } from '../harness/tempdir.js';

/** The apex dig sees in BIND's reply (SOA owner, only with aa), or the exit code danehook must give. */
async function digApex(server: Endpoint, name: string): Promise<string | number> {
  const r = await dig(server, name, 'SOA', ['+authority']);
  if (r.status === 'REFUSED') return 77;
  const rrs = r.answers.map((l) => l.trim().split(/\s+/));
  if (rrs.some((f) => f[3] === 'CNAME' && f[0]!.toLowerCase() === name)) return 76;
  const soa = rrs.find((f) => f[3] === 'SOA');
  return r.flags.includes('aa') && soa ? soa[0]!.toLowerCase() : 76;
}

const outcome = (p: Promise<string>): Promise<string | number> =>
  p.then((zone) => zone, (e: unknown) => (e instanceof DanehookError ? e.exitCode : `not a DanehookError: ${String(e)}`));

const RECORDS = ['away IN NS ns.elsewhere.invalid.', 'alias IN CNAME www'];
// BIND alone also serves a child zone it delegates to itself (the harness's extraZones).
const SERVERS: { kind: string; bins: string[]; start: (t: HarnessContext) => Promise<DnsServerHandle>; child: boolean }[] = [
  { kind: 'bind', bins: ['named', 'dig'], child: true, start: (t) => startBind(t, { zone: 'example.test', extraZones: ['sub.example.test'], records: [...RECORDS, 'sub IN NS ns1.sub', 'ns1.sub IN A 127.0.0.1'] }) },
  { kind: 'knot', bins: ['knotd', 'knotc', 'dig'], child: false, start: (t) => startKnot(t, { zone: 'example.test', records: RECORDS }) },
  { kind: 'pdns', bins: ['pdns_server', 'pdnsutil', 'pdns_control', 'sqlite3', 'dig'], child: false, start: (t) => startPowerDns(t, { zone: 'example.test', records: RECORDS }) },
];

for (const { kind, bins, start, child } of SERVERS) {
  test(`a burst of zone lookups against ${kind}: each name proven by the server, as dig and a lone lookup see it`, { timeout: 60_000 }, async (t) => {
    if (!requireBinaries(t, bins)) return;
    const s = await start(t);
    const cases: [string, string | number][] = [
      ['example.test.', 'example.test.'], ['mx.example.test.', 'example.test.'], ['h1.example.test.', 'example.test.'],
      ...(child ? [['sub.example.test.', 'sub.example.test.'], ['mx.sub.example.test.', 'sub.example.test.'], ['h1.sub.example.test.', 'sub.example.test.']] as [string, string][] : []),
      // a delegation elsewhere (a referral, no aa), a CNAME, a name in no zone of the server
      ['away.example.test.', 76], ['x.away.example.test.', 76], ['alias.example.test.', 76], ['nothere.invalid.', 77],
    ];
    const special = cases.map(([n]) => n);
    const plain = Array.from({ length: 600 }, (_, i) => `h${i}.example.test.`);
    const resolver = createResolver({ timeoutMs: 2000, retries: 0 });

    const burst = await Promise.all([...special, ...plain].map((n) => outcome(resolver.queryZoneApex(s.primary, n))));
    const fromDig: (string | number)[] = [];
    for (const n of special) fromDig.push(await digApex(s.primary, n));
    // The zone really has each case (else agreeing with dig would prove little).
    assert.deepEqual(fromDig, cases.map(([, want]) => want));
    assert.deepEqual(burst.slice(0, special.length), fromDig);
    assert.deepEqual(new Set(burst.slice(special.length)), new Set(['example.test.']));

    // One at a time (a batch of one: a plain UDP query) gives the same answers.
    for (const [i, n] of special.entries()) assert.equal(await outcome(resolver.queryZoneApex(s.primary, n)), fromDig[i], n);
  });
}
