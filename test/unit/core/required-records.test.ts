// computeEntryRequiredRecords: the records an id must keep in DNS = the live certificate's ∪ those of
// every rollover still pending (staged, published, propagated, rolled-back), once each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeEntryRequiredRecords, computeLiveRecords, computeRequiredRecords } from '../../../src/core/desired.js';
import type { EntryState, Phase, Rollover, StateRecord } from '../../../src/core/state.js';

const N25 = '_25._tcp.mx.example.com.';
const N465 = '_465._tcp.mx.example.com.';
const hex = (c: string) => c.repeat(64);
const sr = (name: string, c: string, ttl = 3600): StateRecord => ({ name, ttl, tlsa: `3 1 1 ${hex(c)}` });
const tr = (name: string, c: string, ttl = 3600) => ({ name, ttl, rdata: { usage: 3, selector: 1, matchingType: 1, data: hex(c) } });

function rollover(id: string, phase: Phase, records: StateRecord[]): Rollover {
  return {
    id, phase, spki: hex('e'), fingerprint: hex('f'), notAfter: '2025-06-01T00:00:00.000Z', stagedDir: `staged/mx/${id}`, records,
    replacedTtl: 3600, alreadyServed: false, createdAt: '2025-03-01T12:00:00.000Z', publishedAt: null, propagatedAt: null,
    activateAfter: null, activatedAt: null, cleanedAt: null, servers: {}, attempts: 0, lastError: null,
  };
}

function entry(liveRecords: StateRecord[] | null, rollovers: Rollover[]): EntryState {
  const live = liveRecords === null ? null : { spki: hex('a'), fingerprint: hex('a'), notAfter: '2025-06-01T00:00:00.000Z', records: liveRecords, source: 'activation' as const };
  return { live, liveKnown: true, rollovers, owned: [], next: null, retiredNext: [] };
}

const LIVE = [sr(N25, 'a'), sr(N465, 'a')];

// Each phase alone beside the live certificate: are the rollover's records required?
const phaseRows: Array<[Phase, boolean]> = [
  ['staged', true],
  ['published', true],
  ['propagated', true],
  ['activating', true], // the service may present it already (a run died after the reload)
  ['rolled-back', true], // DESIGN.md: after a rollback the new records stay
  ['activated', false], // its records are the live certificate's now
  ['cleaned', false],
  ['superseded', false],
];

for (const [phase, required] of phaseRows) {
  test(`computeEntryRequiredRecords: a ${phase} rollover's records are ${required ? '' : 'not '}required`, () => {
    const got = computeEntryRequiredRecords(entry(LIVE, [rollover('r1', phase, [sr(N25, 'b'), sr(N465, 'b')])]));
    const want = required ? [tr(N25, 'a'), tr(N465, 'a'), tr(N25, 'b'), tr(N465, 'b')] : [tr(N25, 'a'), tr(N465, 'a')];
    assert.deepEqual(got, want);
  });
}

test('computeEntryRequiredRecords: nothing live and nothing pending → nothing required', () => {
  assert.deepEqual(computeEntryRequiredRecords({ live: null, liveKnown: false, rollovers: [], owned: [sr(N25, 'c')], next: null, retiredNext: [] }), []);
});

test('computeEntryRequiredRecords: no live certificate yet → the pending rollover only', () => {
  assert.deepEqual(computeEntryRequiredRecords(entry(null, [rollover('r1', 'published', [sr(N25, 'b')])])), [tr(N25, 'b')]);
});

test('computeEntryRequiredRecords: owned-only records (earlier certificates) are not required', () => {
  const es = entry(LIVE, [rollover('r0', 'cleaned', [sr(N25, 'c')])]);
  es.owned = [sr(N25, 'a'), sr(N465, 'a'), sr(N25, 'c')];
  assert.deepEqual(computeEntryRequiredRecords(es), [tr(N25, 'a'), tr(N465, 'a')]);
});

test('computeEntryRequiredRecords: same key renewal (records equal to live) listed once, live first', () => {
  const got = computeEntryRequiredRecords(entry([sr(N25, 'a', 600)], [rollover('r1', 'published', [sr(N25, 'a', 3600), sr(N465, 'a', 3600)])]));
  assert.deepEqual(got, [tr(N25, 'a', 600), tr(N465, 'a', 3600)]);
});

test('computeEntryRequiredRecords: several rollovers, mixed phases, in state order', () => {
  const got = computeEntryRequiredRecords(
    entry(LIVE, [
      rollover('r0', 'superseded', [sr(N25, 'c')]),
      rollover('r1', 'rolled-back', [sr(N25, 'b')]),
      rollover('r2', 'staged', [sr(N25, 'd'), sr(N25, 'b')]),
      rollover('r3', 'activated', [sr(N25, 'e')]),
    ]),
  );
  assert.deepEqual(got, [tr(N25, 'a'), tr(N465, 'a'), tr(N25, 'b'), tr(N25, 'd')]);
});

// Across entries (RSA + ECDSA certificates for one name): what one entry's live certificate needs
// is required whoever asks, and a shared record ("2 1 1" of a common issuer) is listed once.
test('computeRequiredRecords: union of every entry, shared records once', () => {
  const issuer = (name: string): StateRecord => ({ name, ttl: 3600, tlsa: `2 1 1 ${hex('9')}` });
  const rsa = entry([sr(N25, 'a'), issuer(N25)], [rollover('r1', 'published', [sr(N25, 'b'), issuer(N25)])]);
  const ec = entry([sr(N25, 'c'), issuer(N25)], []);
  const got = computeRequiredRecords({ version: 2, certificates: { rsa, ec } });
  assert.equal(got.length, 4);
  assert.ok(got.some((r) => r.rdata.usage === 2));
  assert.ok(got.some((r) => r.rdata.data === hex('c')), 'the other entry\'s live record is required');
});

test('computeLiveRecords: live records of every entry, pending ones excluded', () => {
  const rsa = entry([sr(N25, 'a')], [rollover('r1', 'published', [sr(N25, 'b')])]);
  const ec = entry([sr(N25, 'c')], []);
  const got = computeLiveRecords({ version: 2, certificates: { rsa, ec } }).map((r) => r.rdata.data[0]);
  assert.deepEqual(got, ['a', 'c']);
});
