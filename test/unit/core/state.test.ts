// The state file schema (zod, strict): a realistic state parses unchanged; each table row breaks one
// field and must be rejected at exactly that path. Plus the record conversions of state-records.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVE_PHASES, emptyEntryState, emptyState, PHASES, STATE_VERSION, stateSchema, type State } from '../../../src/core/state.js';
import { containsAll, fromStateRecord, fromStateRecords, toStateRecord, unionRecords } from '../../../src/core/state-records.js';
import { formatIssuePath } from '../../../src/config/issues.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function validState(): State {
  return {
    version: 2,
    certificates: {
      mx: {
        live: {
          spki: A,
          fingerprint: B,
          notAfter: '2025-06-01T00:00:00.000Z',
          records: [{ name: '_25._tcp.mx.example.com.', ttl: 3600, tlsa: `3 1 1 ${A}` }],
          source: 'installed-files',
        },
        liveKnown: true,
        rollovers: [
          {
            id: '20250301t120000z-1a2b',
            phase: 'propagated',
            spki: B,
            fingerprint: A,
            notAfter: '2025-09-01T00:00:00Z',
            stagedDir: 'staged/mx/20250301t120000z-1a2b',
            records: [{ name: '_25._tcp.mx.example.com.', ttl: 3600, tlsa: `3 1 1 ${B}` }],
            replacedTtl: 3600,
            alreadyServed: false,
            createdAt: '2025-03-01T11:59:50.000Z',
            publishedAt: '2025-03-01T12:00:00.000Z',
            propagatedAt: '2025-03-01T12:00:05.000Z',
            activateAfter: '2025-03-01T14:00:05.000Z',
            activatedAt: null,
            cleanedAt: null,
            servers: { 'example.com.@192.0.2.53:53': { firstServedAt: '2025-03-01T12:00:05.000Z' }, 'example.com.@[2001:db8::53]:53': { firstServedAt: '2025-03-01T12:00:01.000Z' } },
            attempts: 1,
            lastError: null,
          },
        ],
        owned: [
          { name: '_25._tcp.mx.example.com.', ttl: 3600, tlsa: `3 1 1 ${A}` },
          { name: '_25._tcp.mx.example.com.', ttl: 3600, tlsa: `3 1 1 ${B}` },
        ],
        next: null,
        retiredNext: [],
      },
    },
    dkim: {},
  };
}

test('a realistic state parses to itself', () => {
  const s = validState();
  assert.deepEqual(stateSchema.parse(structuredClone(s)), s);
});

test('emptyState / emptyEntryState are valid and fresh objects', () => {
  assert.deepEqual(emptyState(), { version: 2, certificates: {}, dkim: {} });
  assert.equal(STATE_VERSION, 2);
  const s = emptyState();
  s.certificates.mx = emptyEntryState();
  assert.deepEqual(stateSchema.parse(s), { version: 2, certificates: { mx: { live: null, liveKnown: false, rollovers: [], owned: [], next: null, retiredNext: [] } }, dkim: {} });
  assert.notEqual(emptyState(), emptyState());
  assert.notEqual(emptyEntryState().rollovers, emptyEntryState().rollovers);
});

test('phases: the DESIGN.md list, and which still have work to do', () => {
  assert.deepEqual([...PHASES], ['staged', 'published', 'propagated', 'activating', 'activated', 'cleaned', 'rolled-back', 'superseded']);
  assert.deepEqual([...ACTIVE_PHASES], ['staged', 'published', 'propagated', 'activating', 'activated']);
});

// Each row: a mutation of validState() that is still valid.
const acceptRows: Array<[string, (s: any) => void]> = [
  ['live null with liveKnown', (s) => (s.certificates.mx.live = null)],
  ['replacedTtl null (no RRset existed)', (s) => (s.certificates.mx.rollovers[0].replacedTtl = null)],
  ['replacedTtl 0', (s) => (s.certificates.mx.rollovers[0].replacedTtl = 0)],
  ['server not serving (firstServedAt null)', (s) => (s.certificates.mx.rollovers[0].servers['example.com.@192.0.2.53:53'].firstServedAt = null)],
  ['no servers yet', (s) => (s.certificates.mx.rollovers[0].servers = {})],
  ['every phase', (s) => (s.certificates.mx.rollovers = PHASES.map((phase) => ({ ...s.certificates.mx.rollovers[0], phase })))],
  ['tlsa 2 1 2 with sha-512 length data', (s) => (s.certificates.mx.owned[0].tlsa = `2 1 2 ${'c'.repeat(128)}`)],
  ['source activation', (s) => (s.certificates.mx.live.source = 'activation')],
  ['several ids', (s) => (s.certificates['web-1'] = { live: null, liveKnown: false, rollovers: [], owned: [], next: null, retiredNext: [] })],
  ['a next key announced and aged', (s) => (s.certificates.mx.next = {
    phase: 'propagated', spki: 'c'.repeat(64), keyType: 'ecdsa', source: 'generated', keyPath: `next/mx/${'c'.repeat(64)}.key`,
    records: [{ name: '_25._tcp.mx.example.com.', ttl: 3600, tlsa: `3 1 1 ${'c'.repeat(64)}` }], replacedTtl: 3600, alreadyServed: false,
    createdAt: '2025-03-01T12:00:00.000Z', publishedAt: '2025-03-01T12:00:01.000Z', propagatedAt: '2025-03-01T12:00:02.000Z', activateAfter: '2025-03-01T14:00:07.000Z',
    servers: { 'example.com.@192.0.2.53:53': { firstServedAt: '2025-03-01T12:00:02.000Z' } }, attempts: 1, lastError: null,
  })],
  ['a rollover that took the next-key path', (s) => Object.assign(s.certificates.mx.rollovers[0], { path: 'next-key', servedSince: '2025-02-01T00:00:00.000Z' })],
];

for (const [name, mutate] of acceptRows) {
  test(`schema accepts: ${name}`, () => {
    const s = validState() as any;
    mutate(s);
    const r = stateSchema.safeParse(s);
    assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues));
  });
}

const R = 'certificates.mx.rollovers[0]';
// Each row: a mutation that must be rejected, and the path the (first) issue names.
const rejectRows: Array<[string, (s: any) => void, string]> = [
  ['version 3', (s) => (s.version = 3), 'version'],
  ['version 1 (migrated by the store, not accepted by the schema)', (s) => (s.version = 1), 'version'],
  ['version missing', (s) => delete s.version, 'version'],
  ['version as a string', (s) => (s.version = '1'), 'version'],
  ['unknown top-level key', (s) => (s.extra = true), '(top level)'],
  ['unknown key in a rollover', (s) => (s.certificates.mx.rollovers[0].note = 'x'), R],
  ['liveKnown missing', (s) => delete s.certificates.mx.liveKnown, 'certificates.mx.liveKnown'],
  ['unknown phase', (s) => (s.certificates.mx.rollovers[0].phase = 'done'), `${R}.phase`],
  ['spki 63 hex digits', (s) => (s.certificates.mx.live.spki = 'a'.repeat(63)), 'certificates.mx.live.spki'],
  ['spki uppercase', (s) => (s.certificates.mx.live.spki = 'A'.repeat(64)), 'certificates.mx.live.spki'],
  ['fingerprint not hex', (s) => (s.certificates.mx.rollovers[0].fingerprint = 'g'.repeat(64)), `${R}.fingerprint`],
  ['live source unknown', (s) => (s.certificates.mx.live.source = 'guess'), 'certificates.mx.live.source'],
  ['record name without trailing dot', (s) => (s.certificates.mx.owned[1].name = '_25._tcp.mx.example.com'), 'certificates.mx.owned[1].name'],
  ['record name uppercase', (s) => (s.certificates.mx.live.records[0].name = '_25._tcp.MX.example.com.'), 'certificates.mx.live.records[0].name'],
  ['record ttl negative', (s) => (s.certificates.mx.rollovers[0].records[0].ttl = -1), `${R}.records[0].ttl`],
  ['record ttl fractional', (s) => (s.certificates.mx.owned[0].ttl = 1.5), 'certificates.mx.owned[0].ttl'],
  ['tlsa usage 4', (s) => (s.certificates.mx.owned[0].tlsa = `4 1 1 ${A}`), 'certificates.mx.owned[0].tlsa'],
  ['tlsa uppercase hex', (s) => (s.certificates.mx.owned[0].tlsa = `3 1 1 ${'A'.repeat(64)}`), 'certificates.mx.owned[0].tlsa'],
  ['tlsa without data', (s) => (s.certificates.mx.owned[0].tlsa = '3 1 1'), 'certificates.mx.owned[0].tlsa'],
  ['publishedAt not a date', (s) => (s.certificates.mx.rollovers[0].publishedAt = 'yesterday'), `${R}.publishedAt`],
  ['activateAfter with an offset instead of Z', (s) => (s.certificates.mx.rollovers[0].activateAfter = '2025-03-01T14:00:05+02:00'), `${R}.activateAfter`],
  ['createdAt null', (s) => (s.certificates.mx.rollovers[0].createdAt = null), `${R}.createdAt`],
  ['stagedDir escaping the state dir', (s) => (s.certificates.mx.rollovers[0].stagedDir = 'staged/../../etc'), `${R}.stagedDir`],
  ['stagedDir absolute', (s) => (s.certificates.mx.rollovers[0].stagedDir = '/tmp/staged/mx/x'), `${R}.stagedDir`],
  ['rollover id uppercase', (s) => (s.certificates.mx.rollovers[0].id = 'R1'), `${R}.id`],
  ['attempts negative', (s) => (s.certificates.mx.rollovers[0].attempts = -1), `${R}.attempts`],
  ['alreadyServed missing', (s) => delete s.certificates.mx.rollovers[0].alreadyServed, `${R}.alreadyServed`],
  ['server entry with an extra key', (s) => (s.certificates.mx.rollovers[0].servers['example.com.@192.0.2.53:53'].lastSeen = null), `${R}.servers.example.com.@192.0.2.53:53`],
  ['server firstServedAt not a date', (s) => (s.certificates.mx.rollovers[0].servers['example.com.@192.0.2.53:53'].firstServedAt = 5), `${R}.servers.example.com.@192.0.2.53:53.firstServedAt`],
  ['certificates as an array', (s) => (s.certificates = []), 'certificates'],
];

for (const [name, mutate, path] of rejectRows) {
  test(`schema rejects: ${name} (at ${path})`, () => {
    const s = validState() as any;
    mutate(s);
    const r = stateSchema.safeParse(s);
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues.map((i) => formatIssuePath(i.path)), [path]);
  });
}

// ---------------------------------------------------------------- state-records.ts

const N = '_25._tcp.mx.example.com.';

test('toStateRecord / fromStateRecord round-trip', () => {
  const rec = { name: N, ttl: 300, rdata: { usage: 3, selector: 1, matchingType: 1, data: A } };
  assert.deepEqual(toStateRecord(rec), { name: N, ttl: 300, tlsa: `3 1 1 ${A}` });
  assert.deepEqual(fromStateRecord(toStateRecord(rec)), rec);
  assert.deepEqual(fromStateRecords([{ name: N, ttl: 0, tlsa: '3 0 0 3082' }]), [{ name: N, ttl: 0, rdata: { usage: 3, selector: 0, matchingType: 0, data: '3082' } }]);
});

test('fromStateRecord refuses an unreadable record (e.g. SHA-256 of the wrong length)', () => {
  assert.throws(() => fromStateRecord({ name: N, ttl: 300, tlsa: '3 1 1 abcd' }), (e: unknown) => e instanceof RangeError && /unreadable TLSA record: 3 1 1 abcd/.test(e.message));
});

test('unionRecords drops duplicates by name + RDATA (TTL ignored), first wins', () => {
  const r = (name: string, d: string, ttl: number) => ({ name, ttl, rdata: { usage: 3, selector: 1, matchingType: 1, data: d } });
  const out = unionRecords([r(N, A, 300), r(N, B, 300)], [r(N, A, 60), r('_465._tcp.mx.example.com.', A, 60)], []);
  assert.deepEqual(out, [r(N, A, 300), r(N, B, 300), r('_465._tcp.mx.example.com.', A, 60)]);
  assert.deepEqual(unionRecords(), []);
});

test('containsAll compares name and RDATA', () => {
  const r = (name: string, d: string) => ({ name, ttl: 0, rdata: { usage: 3, selector: 1, matchingType: 1, data: d } });
  assert.equal(containsAll([r(N, A), r(N, B)], [r(N, B)]), true);
  assert.equal(containsAll([r(N, A)], [r(N, A), r(N, B)]), false);
  assert.equal(containsAll([r(N, A)], [r('_465._tcp.mx.example.com.', A)]), false);
  assert.equal(containsAll([], []), true);
});
