// Next-key mode's pure rules: which records announce a key (known answers from openssl), when an
// announcement has aged, when it is used up, which path a renewal takes, and that the next key's
// records are required (never cleaned up while announced).
import { formatRdata } from '../../../src/core/rdata.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeActivateAfter } from '../../../src/core/rollover.js';
import { canAnnounceNextKey, computeNextKeyRecords, isNextKeyAged, isNextKeyConsumed } from '../../../src/core/next-key.js';
import { computeEntryRequiredRecords } from '../../../src/core/desired.js';
import { isEntryDue, isNextKeyDue } from '../../../src/core/due.js';
import { choosePath } from '../../../src/rollover/publish.js';
import { formatTlsaRdata } from '../../../src/core/tlsa.js';
import type { EntryState, NextKey, Rollover } from '../../../src/core/state.js';

const hex = (c: string) => c.repeat(64);
const N25 = '_25._tcp.mx.example.com.';
const POLICY = { delayFactor: 2, minDelay: 0, propagationTimeout: 3_600_000, cleanupDelay: 0, margin: 5000 };

/** openssl: a fresh EC key's DER SPKI and its SHA-256 / SHA-512 (the independent known answers). */
function opensslKey(): { spki: Buffer; sha256: string; sha512: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nk-unit-'));
  try {
    const key = join(dir, 'k.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    const spki = execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-outform', 'DER']);
    const dgst = (alg: string) => execFileSync('openssl', ['dgst', alg, '-r'], { input: spki }).toString().split(/\s/)[0]!;
    return { spki, sha256: dgst('-sha256'), sha512: dgst('-sha512') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const shape = (tlsa: string[], ports = [25, 465]) => ({ domains: ['mx.example.com'], ports, protocol: 'tcp', tlsa, trustAnchor: 'issuer' as const });

test('computeNextKeyRecords: selector-1 end-entity records only, per owner, hashes as openssl computes them', () => {
  const k = opensslKey();
  const got = computeNextKeyRecords(shape(['3 1 1', '3 1 2', '2 1 1', '3 0 1', '1 1 1']), k.spki, 300).map((r) => `${r.name} ${r.ttl} ${formatTlsaRdata(r.rdata)}`);
  assert.deepEqual(got, [
    `${N25} 300 3 1 1 ${k.sha256}`, `${N25} 300 3 1 2 ${k.sha512}`, `${N25} 300 1 1 1 ${k.sha256}`,
    `_465._tcp.mx.example.com. 300 3 1 1 ${k.sha256}`, `_465._tcp.mx.example.com. 300 3 1 2 ${k.sha512}`, `_465._tcp.mx.example.com. 300 1 1 1 ${k.sha256}`,
  ]);
  assert.equal(canAnnounceNextKey(shape(['3 1 1'])), true);
  assert.equal(canAnnounceNextKey(shape(['2 1 1', '3 0 1'])), false, 'issuer and full-certificate records describe a certificate, not a key');
});

function next(over: Partial<NextKey> = {}): NextKey {
  return {
    phase: 'propagated', spki: hex('c'), source: 'generated', keyPath: 'next/mx/x.key',
    records: [{ name: N25, ttl: 300, tlsa: `3 1 1 ${hex('c')}` }], replacedTtl: 300, alreadyServed: false,
    createdAt: '2026-01-01T00:00:00.000Z', publishedAt: '2026-01-01T00:00:00.000Z', propagatedAt: '2026-01-01T00:00:01.000Z',
    activateAfter: '2026-01-01T00:10:06.000Z', servers: {}, attempts: 1, lastError: null, ...over,
  };
}

test('isNextKeyAged: propagated and past activateAfter; isNextKeyDue: not yet everywhere', () => {
  assert.equal(isNextKeyAged(next(), new Date('2026-01-01T00:10:05.999Z')), false);
  assert.equal(isNextKeyAged(next(), new Date('2026-01-01T00:10:06.000Z')), true);
  assert.equal(isNextKeyAged(next({ phase: 'published', activateAfter: null }), new Date('2027-01-01T00:00:00Z')), false);
  assert.equal(isNextKeyDue(next()), false);
  assert.equal(isNextKeyDue(next({ phase: 'published' })), true);
  assert.equal(isNextKeyDue(next({ phase: 'staged' })), true);
  assert.equal(isNextKeyDue(null), false);
});

function rollover(spki: string, phase: Rollover['phase']): Rollover {
  return {
    id: 'r1', phase, spki, fingerprint: hex('f'), notAfter: '2026-06-01T00:00:00.000Z', stagedDir: 'staged/mx/r1', records: [],
    replacedTtl: null, alreadyServed: false, createdAt: '2026-01-01T00:00:00.000Z', publishedAt: null, propagatedAt: null,
    activateAfter: null, activatedAt: null, cleanedAt: null, servers: {}, attempts: 0, lastError: null,
  };
}

const es = (over: Partial<EntryState> = {}): EntryState => ({ live: null, liveKnown: true, rollovers: [], owned: [], next: next(), retiredNext: [], ...over });

test('isNextKeyConsumed: live, pending or activated with that key; not once cleaned or superseded', () => {
  const c = hex('c');
  assert.equal(isNextKeyConsumed(es(), c), false);
  assert.equal(isNextKeyConsumed(es({ live: { spki: c, fingerprint: hex('f'), notAfter: '2026-06-01T00:00:00.000Z', records: [], source: 'activation' } }), c), true);
  for (const phase of ['staged', 'published', 'propagated', 'activating', 'activated', 'rolled-back'] as const) assert.equal(isNextKeyConsumed(es({ rollovers: [rollover(c, phase)] }), c), true, phase);
  for (const phase of ['cleaned', 'superseded'] as const) assert.equal(isNextKeyConsumed(es({ rollovers: [rollover(c, phase)] }), c), false, phase);
});

test('the announced next key is required (cleanup never deletes it) and makes the entry due until everywhere', () => {
  assert.deepEqual(computeEntryRequiredRecords(es()).map((r) => formatRdata(r.rdata)), [`3 1 1 ${hex('c')}`]);
  assert.equal(isEntryDue(es(), POLICY, new Date()), false);
  assert.equal(isEntryDue(es({ next: next({ phase: 'published' }) }), POLICY, new Date()), true);
  assert.equal(isEntryDue(es({ retiredNext: [{ name: N25, ttl: 300, tlsa: `3 1 1 ${hex('d')}` }] }), POLICY, new Date()), true);
  assert.equal(isEntryDue({ rollovers: [] }, POLICY, new Date()), false, 'a version 1 entry (no next fields) is not due');
});

test('choosePath: same key, announced next key (aged or not), or new key (delayed)', () => {
  const rec = (c: string) => ({ name: N25, ttl: 300, rdata: { usage: 3, selector: 1, matchingType: 1, data: hex(c) } });
  const issuer = { name: N25, ttl: 300, rdata: { usage: 2, selector: 1, matchingType: 1, data: hex('9') } };
  assert.equal(choosePath([rec('a')], next(), [rec('a')], true), 'same-key');
  assert.equal(choosePath([rec('a')], next(), [rec('c')], true), 'next-key');
  assert.equal(choosePath([rec('a'), issuer], next(), [rec('c'), issuer], true), 'next-key', "the live certificate's issuer record counts as served");
  assert.equal(choosePath([rec('a')], next({ phase: 'published', propagatedAt: null, activateAfter: null }), [rec('c')], true), 'new-key', 'announced but not yet served by every server');
  assert.equal(choosePath([rec('a')], next(), [rec('c')], false), 'new-key', 'not in DNS right now');
  assert.equal(choosePath([rec('a')], next(), [rec('c'), { ...issuer, rdata: { ...issuer.rdata, data: hex('8') } }], true), 'new-key', 'an issuer record never served');
  assert.equal(choosePath([rec('a')], null, [rec('b')], true), 'new-key');
});

test('computeActivateAfter: a renewal with an announced, unaged next key goes live when the announcement ages', () => {
  const policy = { delayFactor: 2, minDelay: 0, propagationTimeout: 3_600_000, cleanupDelay: 0, margin: 5000 };
  const n = next();
  // The renewal is published and seen everywhere 4 minutes after the announcement propagated.
  const renewal = { phase: 'propagated', publishedAt: '2026-01-01T00:04:00.000Z', propagatedAt: '2026-01-01T00:04:01.000Z', activateAfter: null, replacedTtl: n.replacedTtl, alreadyServed: false, servers: { a: { firstServedAt: '2026-01-01T00:04:01.000Z' } } };
  const classic = computeActivateAfter(renewal, policy).at.getTime();
  const announced = computeActivateAfter({ ...renewal, servedSince: n.propagatedAt! }, policy).at.getTime();
  assert.equal(announced, Date.parse(n.activateAfter!), 'the announcement\'s own aging time');
  assert.equal(classic - announced, 4 * 60_000, 'instead of 2 × TTL + margin after the renewal was served');
});
