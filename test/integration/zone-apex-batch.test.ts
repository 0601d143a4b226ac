// Zone lookups in one burst (pipelined over one TCP connection) against real BIND: each name's
// zone is what BIND proves for it — the same as dig reads from BIND's reply (flags, answer and
// authority sections) and as a lone lookup over UDP finds, for plain names, a child zone served
// by the same server, a delegation elsewhere, a CNAME and a name outside every zone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DanehookError } from '../../src/errors.js';
import { createResolver } from '../../src/io/resolver.js';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { dig, type Endpoint } from '../harness/dns.js';

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

test('a burst of zone lookups against BIND: each name proven by the server, as dig and a lone lookup see it', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig'])) return;
  const bind = await startBind(t, {
    zone: 'example.test',
    extraZones: ['sub.example.test'],
    records: ['sub IN NS ns1.sub', 'ns1.sub IN A 127.0.0.1', 'away IN NS ns.elsewhere.invalid.', 'alias IN CNAME www'],
  });
  const special = [
    'example.test.', 'mx.example.test.', 'h1.example.test.', 'sub.example.test.', 'mx.sub.example.test.', 'h1.sub.example.test.',
    'away.example.test.', 'x.away.example.test.', 'alias.example.test.', 'nothere.invalid.',
  ];
  const plain = Array.from({ length: 600 }, (_, i) => `h${i}.example.test.`);
  const resolver = createResolver({ timeoutMs: 2000, retries: 0 });

  const burst = await Promise.all([...special, ...plain].map((n) => outcome(resolver.queryZoneApex(bind.primary, n))));
  const expected: (string | number)[] = [];
  for (const n of special) expected.push(await digApex(bind.primary, n));
  // The zone really has each case (else the comparison proves little): apex, names, the child
  // zone on this server, a delegation elsewhere (referral, no aa), a CNAME, a foreign name.
  assert.deepEqual(expected, ['example.test.', 'example.test.', 'example.test.', 'sub.example.test.', 'sub.example.test.', 'sub.example.test.', 76, 76, 76, 77]);
  assert.deepEqual(burst.slice(0, special.length), expected);
  assert.deepEqual(new Set(burst.slice(special.length)), new Set(['example.test.']));

  // One at a time (a batch of one: a plain UDP query) gives the same answers.
  for (const [i, n] of special.entries()) assert.equal(await outcome(resolver.queryZoneApex(bind.primary, n)), expected[i], n);
});
