// The planner against DESIGN.md's safety invariants, as tables: additions, the three kinds of
// violation (live record, never-owned record, emptied managed RRset, judged on the final RRset),
// cleanup = owned ∩ existing − desired, and foreign records reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPlanSafety, computeAdditions, computeCleanup, computeForeign, type SafetyContext } from '../../../src/core/plan.js';
import type { TlsaRdata, TlsaRecord } from '../../../src/core/tlsa.js';
import type { Change, RRset } from '../../../src/providers/types.js';

const N25 = '_25._tcp.mx.example.com.';
const N465 = '_465._tcp.mx.example.com.';
const N587 = '_587._tcp.mx.example.com.';

// Distinct 3 1 1 records: OLD = the live certificate, NEW = the pending one, GONE = an earlier
// certificate of this id, ALIEN = somebody else's record at our names.
const rd = (c: string, usage = 3): TlsaRdata => ({ usage, selector: 1, matchingType: 1, data: c.repeat(64) });
const OLD = rd('a');
const NEW = rd('b');
const GONE = rd('c');
const ALIEN = rd('d');
const OLD_AS_DANE_TA = rd('a', 2); // same data, other usage: a different record

const rec = (name: string, rdata: TlsaRdata, ttl = 3600): TlsaRecord => ({ name, ttl, rdata });
const rrsets = (...sets: Array<[string, number, TlsaRdata[]]>): Map<string, RRset> =>
  new Map(sets.map(([name, ttl, records]) => [name, { name, ttl: records.length ? ttl : null, records }]));
const create = (name: string, rdata: TlsaRdata, ttl = 3600): Change => ({ op: 'create', name, ttl, rdata });
const del = (name: string, rdata: TlsaRdata, ttl = 3600): Change => ({ op: 'delete', name, ttl, rdata });

// ---------------------------------------------------------------- computeAdditions

const additionRows: Array<{ name: string; desired: TlsaRecord[]; existing: Map<string, RRset>; want: Change[] }> = [
  {
    name: 'nothing at the primary → create every desired record',
    desired: [rec(N25, OLD), rec(N465, OLD, 300)],
    existing: rrsets(),
    want: [create(N25, OLD), create(N465, OLD, 300)],
  },
  {
    name: 'live record present → only the new one is created, with the desired TTL',
    desired: [rec(N25, OLD, 600), rec(N25, NEW, 600)],
    existing: rrsets([N25, 600, [OLD]]),
    want: [create(N25, NEW, 600)],
  },
  {
    name: 'everything present → empty plan',
    desired: [rec(N25, OLD), rec(N25, NEW)],
    existing: rrsets([N25, 3600, [NEW, OLD, ALIEN]]),
    want: [],
  },
  {
    name: 'a record present at another name does not count',
    desired: [rec(N465, NEW)],
    existing: rrsets([N25, 3600, [NEW]], [N465, 3600, [OLD]]),
    want: [create(N465, NEW)],
  },
  {
    name: 'same association data with another usage is a different record',
    desired: [rec(N25, OLD_AS_DANE_TA)],
    existing: rrsets([N25, 3600, [OLD]]),
    want: [create(N25, OLD_AS_DANE_TA)],
  },
  {
    name: 'an empty (NODATA) RRset entry → create',
    desired: [rec(N587, NEW)],
    existing: rrsets([N587, 0, []]),
    want: [create(N587, NEW)],
  },
];

for (const row of additionRows) {
  test(`computeAdditions: ${row.name}`, () => {
    assert.deepEqual(computeAdditions(row.desired, row.existing), row.want);
  });
}

// ---------------------------------------------------------------- checkPlanSafety

const CTX: SafetyContext = {
  live: [rec(N25, OLD), rec(N465, OLD)],
  owned: [rec(N25, OLD), rec(N465, OLD), rec(N25, NEW), rec(N465, NEW), rec(N25, GONE), rec(N465, GONE)],
  managedNames: [N25, N465],
};

interface SafetyRow {
  name: string;
  changes: Change[];
  existing: Map<string, RRset>;
  ctx?: Partial<SafetyContext>;
  /** Each expected violation as a regexp; the count must match exactly. */
  want: RegExp[];
}

const safetyRows: SafetyRow[] = [
  {
    name: 'deleting a record of the live certificate',
    changes: [del(N25, OLD)],
    existing: rrsets([N25, 3600, [OLD, NEW]]),
    want: [/^would delete _25\._tcp\.mx\.example\.com\. TLSA 3 1 1 aaaaaaaaaaaaaaaa…, which matches the live certificate$/],
  },
  {
    name: 'deleting a record this id never owned',
    changes: [del(N25, ALIEN)],
    existing: rrsets([N25, 3600, [OLD, ALIEN]]),
    want: [/^would delete _25\._tcp\.mx\.example\.com\. TLSA 3 1 1 dddddddddddddddd…, which no certificate of this id ever had$/],
  },
  {
    name: 'ownership is per name: a record owned at :465 is not owned at :587',
    changes: [del(N587, GONE)],
    existing: rrsets([N587, 3600, [OLD, GONE]]),
    ctx: { managedNames: [N25, N465, N587] },
    want: [/_587\._tcp.*no certificate of this id ever had/],
  },
  {
    name: 'ownership is per RDATA: same data, other usage is not owned',
    changes: [del(N25, OLD_AS_DANE_TA)],
    existing: rrsets([N25, 3600, [OLD, OLD_AS_DANE_TA]]),
    want: [/TLSA 2 1 1 a+…, which no certificate of this id ever had/],
  },
  {
    name: 'a port removed from the config: emptying its owned RRset is a planned removal',
    changes: [del(N587, GONE)],
    existing: rrsets([N587, 3600, [GONE]]),
    ctx: { owned: [...CTX.owned, rec(N587, GONE)], managedNames: [N25, N465] },
    want: [],
  },
  {
    name: 'a removed port keeps the live-certificate check',
    changes: [del(N587, OLD)],
    existing: rrsets([N587, 3600, [OLD]]),
    ctx: { live: [...CTX.live, rec(N587, OLD)], owned: [...CTX.owned, rec(N587, OLD)], managedNames: [N25, N465] },
    want: [/would delete _587.*matches the live certificate/],
  },
  {
    name: 'emptying a managed RRset (owned, not live, but the last record)',
    changes: [del(N25, GONE)],
    existing: rrsets([N25, 3600, [GONE]]),
    want: [/^would leave _25\._tcp\.mx\.example\.com\. without any TLSA record$/],
  },
  {
    name: 'deleting the live record that is the last one: both violations',
    changes: [del(N25, OLD)],
    existing: rrsets([N25, 3600, [OLD]]),
    want: [/matches the live certificate/, /would leave _25\._tcp\.mx\.example\.com\. without any TLSA record/],
  },
  {
    name: 'deleting a live record nobody recorded as owned: both delete violations',
    changes: [del(N25, OLD)],
    existing: rrsets([N25, 3600, [OLD, NEW]]),
    ctx: { owned: [rec(N25, NEW)] },
    want: [/matches the live certificate/, /no certificate of this id ever had/],
  },
  {
    name: 'normal cleanup: delete the previous certificate beside the live one',
    changes: [del(N25, GONE), del(N465, GONE)],
    existing: rrsets([N25, 3600, [OLD, GONE]], [N465, 3600, [OLD, GONE]]),
    want: [],
  },
  {
    name: 'adds then deletes: judged on the final RRset (create NEW, delete GONE → {NEW})',
    changes: [create(N25, NEW), del(N25, GONE)],
    existing: rrsets([N25, 3600, [GONE]]),
    want: [],
  },
  {
    name: 'adds then deletes the same record: final RRset empty',
    changes: [create(N25, NEW), del(N25, GONE), del(N25, NEW)],
    existing: rrsets([N25, 3600, [GONE]]),
    want: [/would leave _25\._tcp\.mx\.example\.com\. without any TLSA record/],
  },
  {
    name: 're-creating a record already present does not double-count it',
    changes: [create(N25, GONE), del(N25, GONE)],
    existing: rrsets([N25, 3600, [GONE]]),
    want: [/would leave _25\._tcp\.mx\.example\.com\. without any TLSA record/],
  },
  {
    name: 'one emptied name among several: only that name is reported',
    changes: [del(N25, GONE), del(N465, GONE)],
    existing: rrsets([N25, 3600, [OLD, GONE]], [N465, 3600, [GONE]]),
    want: [/^would leave _465\._tcp\.mx\.example\.com\. without any TLSA record$/],
  },
  {
    name: 'create-only plan into an absent RRset',
    changes: [create(N25, NEW), create(N465, NEW)],
    existing: rrsets(),
    want: [],
  },
  {
    name: 'an untouched managed name that is empty is not the plan’s doing',
    changes: [del(N25, GONE)],
    existing: rrsets([N25, 3600, [OLD, GONE]], [N587, 0, []]),
    ctx: { managedNames: [N25, N465, N587] },
    want: [],
  },
  {
    name: 'TTL of a delete does not matter for matching the live record',
    changes: [del(N465, OLD, 1)],
    existing: rrsets([N465, 3600, [OLD, NEW]]),
    want: [/_465.*matches the live certificate/],
  },
];

for (const row of safetyRows) {
  test(`checkPlanSafety: ${row.name}`, () => {
    const got = checkPlanSafety(row.changes, row.existing, { ...CTX, ...row.ctx });
    assert.equal(got.length, row.want.length, `violations: ${JSON.stringify(got)}`);
    row.want.forEach((re, i) => assert.match(got[i]!, re));
  });
}

test('checkPlanSafety does not mutate existing', () => {
  const existing = rrsets([N25, 3600, [GONE]]);
  const snapshot = structuredClone(existing);
  checkPlanSafety([create(N25, NEW), del(N25, GONE)], existing, CTX);
  assert.deepEqual(existing, snapshot);
});

// ---------------------------------------------------------------- computeCleanup

interface CleanupRow {
  name: string;
  existing: Map<string, RRset>;
  desired: TlsaRecord[];
  owned: TlsaRecord[];
  want: Change[];
}

const cleanupRows: CleanupRow[] = [
  {
    name: 'owned ∩ existing − desired, with the RRset’s TTL',
    existing: rrsets([N25, 600, [OLD, NEW, GONE, ALIEN]], [N465, 300, [NEW, GONE]]),
    desired: [rec(N25, NEW), rec(N465, NEW)],
    owned: [rec(N25, OLD), rec(N25, NEW), rec(N25, GONE), rec(N465, NEW), rec(N465, GONE)],
    want: [del(N25, OLD, 600), del(N25, GONE, 600), del(N465, GONE, 300)],
  },
  {
    name: 'owned records not at the primary any more → no delete',
    existing: rrsets([N25, 3600, [NEW]]),
    desired: [rec(N25, NEW)],
    owned: [rec(N25, NEW), rec(N25, GONE), rec(N465, GONE)],
    want: [],
  },
  {
    name: 'desired records are kept even when owned',
    existing: rrsets([N25, 3600, [OLD, NEW]]),
    desired: [rec(N25, OLD), rec(N25, NEW)],
    owned: [rec(N25, OLD), rec(N25, NEW)],
    want: [],
  },
  {
    name: 'foreign records are never deleted',
    existing: rrsets([N25, 3600, [NEW, ALIEN]]),
    desired: [rec(N25, NEW)],
    owned: [rec(N25, NEW)],
    want: [],
  },
  {
    name: 'ownership at another name does not make a record deletable here',
    existing: rrsets([N25, 3600, [NEW, GONE]]),
    desired: [rec(N25, NEW)],
    owned: [rec(N25, NEW), rec(N465, GONE)],
    want: [],
  },
  {
    name: 'desired at another name does not protect a record here',
    existing: rrsets([N25, 3600, [NEW, GONE]]),
    desired: [rec(N25, NEW), rec(N465, GONE)],
    owned: [rec(N25, NEW), rec(N25, GONE)],
    want: [del(N25, GONE)],
  },
];

for (const row of cleanupRows) {
  test(`computeCleanup: ${row.name}`, () => {
    assert.deepEqual(computeCleanup(row.existing, row.desired, row.owned), row.want);
  });
}

test('computeCleanup of a finished rollover passes the safety check', () => {
  const existing = rrsets([N25, 3600, [OLD, GONE]], [N465, 3600, [OLD, GONE]]);
  const changes = computeCleanup(existing, CTX.live, CTX.owned);
  assert.deepEqual(changes, [del(N25, GONE), del(N465, GONE)]);
  assert.deepEqual(checkPlanSafety(changes, existing, CTX), []);
});

test('computeCleanup that would empty a managed RRset is caught by checkPlanSafety', () => {
  // desired lacks N465 (e.g. a bug upstream): cleanup would remove its only record.
  const existing = rrsets([N25, 3600, [OLD, GONE]], [N465, 3600, [GONE]]);
  const changes = computeCleanup(existing, [rec(N25, OLD)], CTX.owned);
  assert.deepEqual(changes, [del(N25, GONE), del(N465, GONE)]);
  const v = checkPlanSafety(changes, existing, CTX);
  assert.equal(v.length, 1);
  assert.match(v[0]!, /would leave _465\._tcp\.mx\.example\.com\. without any TLSA record/);
});

// ---------------------------------------------------------------- computeForeign

test('computeForeign reports every existing record no certificate of this id explains', () => {
  const existing = rrsets([N25, 600, [OLD, ALIEN, NEW]], [N465, 300, [GONE, OLD_AS_DANE_TA]], [N587, 0, []]);
  const owned = [rec(N25, OLD), rec(N25, NEW), rec(N25, GONE), rec(N465, OLD)];
  assert.deepEqual(computeForeign(existing, owned), [rec(N25, ALIEN, 600), rec(N465, GONE, 300), rec(N465, OLD_AS_DANE_TA, 300)]);
});

test('computeForeign: nothing foreign when every record is owned', () => {
  const existing = rrsets([N25, 600, [OLD, NEW]]);
  assert.deepEqual(computeForeign(existing, [rec(N25, NEW), rec(N25, OLD)]), []);
});
