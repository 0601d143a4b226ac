// The rollover state machine as scenario tables: phase + timestamps + policy + clock → step and
// deadline, and walks through propagation events. Expected times are worked out by hand from the
// RFC 7671 §8.1 rule of DESIGN.md (last server served + delayFactor × old TTL, ≥ publish + minDelay).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyObservations,
  computeActivateAfter,
  computeDueAt,
  computeNextStep,
  pruneFinished,
  supersedePending,
  type RolloverPolicy,
  type ServerObservation,
  type Step,
} from '../../../src/core/rollover.js';
import { rolloverSchema, type EntryState, type Phase, type Rollover } from '../../../src/core/state.js';

// T is the publication instant; times below are "T + seconds".
const T = Date.parse('2025-03-01T12:00:00.000Z');
const at = (sec: number) => new Date(T + sec * 1000);
const iso = (sec: number) => at(sec).toISOString();
const MIN = 60_000;
const HOUR = 3_600_000;

const POLICY: RolloverPolicy = { delayFactor: 2, minDelay: 0, propagationTimeout: HOUR, cleanupDelay: 0, margin: 0 };
const policy = (o: Partial<RolloverPolicy> = {}): RolloverPolicy => ({ ...POLICY, ...o });

function rollover(o: Partial<Rollover> = {}): Rollover {
  const r: Rollover = {
    id: 'r1',
    phase: 'published',
    spki: 'a'.repeat(64),
    fingerprint: 'b'.repeat(64),
    notAfter: '2025-06-01T00:00:00.000Z',
    stagedDir: 'staged/mx/r1',
    records: [{ name: '_25._tcp.mx.example.com.', ttl: 300, tlsa: `3 1 1 ${'a'.repeat(64)}` }],
    replacedTtl: 300,
    alreadyServed: false,
    createdAt: iso(-10),
    publishedAt: iso(0),
    propagatedAt: null,
    activateAfter: null,
    activatedAt: null,
    cleanedAt: null,
    servers: {},
    attempts: 1,
    lastError: null,
    ...o,
  };
  rolloverSchema.parse(r); // fixtures must be states the store would accept
  return r;
}

// ---------------------------------------------------------------- computeNextStep

interface StepRow {
  name: string;
  r: Partial<Rollover>;
  policy?: Partial<RolloverPolicy>;
  now: Date;
  want: Step;
}

const stepRows: StepRow[] = [
  { name: 'staged → publish', r: { phase: 'staged', publishedAt: null }, now: at(0), want: { kind: 'publish' } },
  { name: 'staged, long after creation → still publish', r: { phase: 'staged', publishedAt: null }, now: at(86_400), want: { kind: 'publish' } },
  { name: 'published just now → poll until T+1h', r: { phase: 'published' }, now: at(0), want: { kind: 'poll', deadline: at(3600) } },
  { name: 'published, 10 min in → poll, same deadline', r: { phase: 'published' }, now: at(600), want: { kind: 'poll', deadline: at(3600) } },
  { name: 'published, exactly at the propagation deadline → still poll', r: { phase: 'published' }, now: at(3600), want: { kind: 'poll', deadline: at(3600) } },
  { name: 'published, 1 ms after the deadline → timeout since T', r: { phase: 'published' }, now: new Date(T + HOUR + 1), want: { kind: 'propagation-timeout', since: at(0) } },
  { name: 'published, custom 5 min timeout, at 299 s → poll until T+300', r: { phase: 'published' }, policy: { propagationTimeout: 5 * MIN }, now: at(299), want: { kind: 'poll', deadline: at(300) } },
  { name: 'published, custom 5 min timeout, at 301 s → timeout', r: { phase: 'published' }, policy: { propagationTimeout: 5 * MIN }, now: at(301), want: { kind: 'propagation-timeout', since: at(0) } },
  { name: 'published, zero timeout, at T → poll (deadline T)', r: { phase: 'published' }, policy: { propagationTimeout: 0 }, now: at(0), want: { kind: 'poll', deadline: at(0) } },
  { name: 'published, zero timeout, at T+1 ms → timeout', r: { phase: 'published' }, policy: { propagationTimeout: 0 }, now: new Date(T + 1), want: { kind: 'propagation-timeout', since: at(0) } },
  {
    name: 'propagated, 1 ms before activateAfter → wait-activation',
    r: { phase: 'propagated', propagatedAt: iso(5), activateAfter: iso(605) },
    now: new Date(T + 605_000 - 1),
    want: { kind: 'wait-activation', at: at(605) },
  },
  { name: 'propagated, exactly at activateAfter → activate', r: { phase: 'propagated', propagatedAt: iso(5), activateAfter: iso(605) }, now: at(605), want: { kind: 'activate' } },
  { name: 'propagated, a day late → activate', r: { phase: 'propagated', propagatedAt: iso(5), activateAfter: iso(605) }, now: at(86_400), want: { kind: 'activate' } },
  {
    name: 'propagated, the propagation timeout has no say any more',
    r: { phase: 'propagated', propagatedAt: iso(5), activateAfter: iso(7205) },
    policy: { propagationTimeout: MIN },
    now: at(7000),
    want: { kind: 'wait-activation', at: at(7205) },
  },
  {
    name: 'activating (a run died mid-install) → recover at once, before activateAfter even',
    r: { phase: 'activating', propagatedAt: iso(5), activateAfter: iso(605) },
    now: at(10),
    want: { kind: 'recover-activation' },
  },
  {
    name: 'activating, a week later → still recover (never left half installed)',
    r: { phase: 'activating', propagatedAt: iso(5), activateAfter: iso(605) },
    now: at(7 * 86_400),
    want: { kind: 'recover-activation' },
  },
  {
    name: 'activated, cleanupDelay 0 → cleanup at once',
    r: { phase: 'activated', propagatedAt: iso(5), activateAfter: iso(605), activatedAt: iso(1000) },
    now: at(1000),
    want: { kind: 'cleanup' },
  },
  {
    name: 'activated, cleanupDelay 1h, 1 ms before → wait-cleanup until activatedAt+1h',
    r: { phase: 'activated', propagatedAt: iso(5), activateAfter: iso(605), activatedAt: iso(1000) },
    policy: { cleanupDelay: HOUR },
    now: new Date(T + 4_600_000 - 1),
    want: { kind: 'wait-cleanup', at: at(4600) },
  },
  {
    name: 'activated, cleanupDelay 1h, exactly at activatedAt+1h → cleanup',
    r: { phase: 'activated', propagatedAt: iso(5), activateAfter: iso(605), activatedAt: iso(1000) },
    policy: { cleanupDelay: HOUR },
    now: at(4600),
    want: { kind: 'cleanup' },
  },
  {
    name: 'activated, cleanupDelay counts from activation, not publication',
    r: { phase: 'activated', propagatedAt: iso(5), activateAfter: iso(605), activatedAt: iso(7200) },
    policy: { cleanupDelay: 10 * MIN },
    now: at(7500),
    want: { kind: 'wait-cleanup', at: at(7800) },
  },
  { name: 'cleaned → done', r: { phase: 'cleaned', activatedAt: iso(1000), cleanedAt: iso(1001) }, now: at(2000), want: { kind: 'done' } },
  { name: 'superseded → done', r: { phase: 'superseded' }, now: at(2000), want: { kind: 'done' } },
  { name: 'rolled-back → done (records stay, nothing is retried by itself)', r: { phase: 'rolled-back', lastError: 'probe failed' }, now: at(2000), want: { kind: 'done' } },
];

for (const row of stepRows) {
  test(`computeNextStep: ${row.name}`, () => {
    assert.deepEqual(computeNextStep(rollover(row.r), policy(row.policy), row.now), row.want);
  });
}

test('computeDueAt: only the waiting steps carry a due time', () => {
  const rows: Array<[Step, Date | undefined]> = [
    [{ kind: 'wait-activation', at: at(605) }, at(605)],
    [{ kind: 'wait-cleanup', at: at(4600) }, at(4600)],
    [{ kind: 'poll', deadline: at(3600) }, undefined],
    [{ kind: 'publish' }, undefined],
    [{ kind: 'propagation-timeout', since: at(0) }, undefined],
    [{ kind: 'activate' }, undefined],
    [{ kind: 'cleanup' }, undefined],
    [{ kind: 'done' }, undefined],
  ];
  for (const [step, want] of rows) assert.deepEqual(computeDueAt(step), want, step.kind);
});

// ---------------------------------------------------------------- computeActivateAfter

interface ActivateRow {
  name: string;
  servers: Record<string, number>; // server → seconds after T when it first served
  replacedTtl: number | null;
  alreadyServed?: boolean;
  policy?: Partial<RolloverPolicy>;
  want: number; // seconds after T
  waitsForTtl: boolean;
}

const activateRows: ActivateRow[] = [
  { name: 'A at T+1, B at T+5, TTL 300, factor 2 → T+5+600', servers: { A: 1, B: 5 }, replacedTtl: 300, want: 605, waitsForTtl: true },
  { name: 'the last server counts, whatever the key order', servers: { B: 5, A: 1 }, replacedTtl: 300, want: 605, waitsForTtl: true },
  { name: 'TTL 3600, factor 3 → T+5+10800', servers: { A: 1, B: 5 }, replacedTtl: 3600, policy: { delayFactor: 3 }, want: 10_805, waitsForTtl: true },
  { name: 'fractional factor 2.5 × TTL 60 → +150 s', servers: { A: 20 }, replacedTtl: 60, policy: { delayFactor: 2.5 }, want: 170, waitsForTtl: true },
  { name: 'no prior RRset (replacedTtl null) → right after propagation', servers: { A: 1, B: 5 }, replacedTtl: null, want: 5, waitsForTtl: false },
  { name: 'prior RRset with TTL 0 → waits 0 s but is a TTL wait', servers: { A: 1, B: 5 }, replacedTtl: 0, want: 5, waitsForTtl: true },
  { name: 'alreadyServed (same key as live) → no TTL wait', servers: { A: 1, B: 5 }, replacedTtl: 300, alreadyServed: true, want: 5, waitsForTtl: false },
  { name: 'minDelay 10 min dominates an absent RRset', servers: { A: 1, B: 5 }, replacedTtl: null, policy: { minDelay: 10 * MIN }, want: 600, waitsForTtl: false },
  { name: 'minDelay 1 h dominates 2 × TTL 300', servers: { A: 1, B: 5 }, replacedTtl: 300, policy: { minDelay: HOUR }, want: 3600, waitsForTtl: true },
  { name: 'minDelay 10 min (from publication) loses to last-served + 2 × TTL', servers: { A: 1, B: 5 }, replacedTtl: 300, policy: { minDelay: 10 * MIN }, want: 605, waitsForTtl: true },
  { name: 'minDelay dominates alreadyServed too', servers: { A: 5 }, replacedTtl: 300, alreadyServed: true, policy: { minDelay: 2 * MIN }, want: 120, waitsForTtl: false },
  { name: 'margin 5 s is added to last served + 2 × TTL 1 (whole-second caches)', servers: { A: 1, B: 2 }, replacedTtl: 1, policy: { margin: 5_000 }, want: 9, waitsForTtl: true },
  { name: 'margin is not added when no old RRset can be cached', servers: { A: 1, B: 2 }, replacedTtl: null, policy: { margin: 5_000 }, want: 2, waitsForTtl: false },
  { name: 'margin is not added when the records were already served', servers: { A: 3 }, replacedTtl: 60, alreadyServed: true, policy: { margin: 5_000 }, want: 3, waitsForTtl: false },
  { name: 'a server clock-skewed before publication counts from publication', servers: { A: -30 }, replacedTtl: 300, want: 600, waitsForTtl: true },
  { name: 'no servers observed → counts from publication', servers: {}, replacedTtl: 300, want: 600, waitsForTtl: true },
];

for (const row of activateRows) {
  test(`computeActivateAfter: ${row.name}`, () => {
    const servers = Object.fromEntries(Object.entries(row.servers).map(([k, s]) => [k, { firstServedAt: iso(s) }]));
    const r = rollover({ phase: 'propagated', servers, replacedTtl: row.replacedTtl, alreadyServed: row.alreadyServed ?? false });
    const got = computeActivateAfter(r, policy(row.policy));
    assert.equal(got.at.toISOString(), iso(row.want));
    assert.equal(got.waitsForTtl, row.waitsForTtl);
  });
}

// ---------------------------------------------------------------- applyObservations walks

type Event = { now: number; obs: Record<string, boolean> };
interface WalkRow {
  name: string;
  start?: Partial<Rollover>;
  policy?: Partial<RolloverPolicy>;
  events: Event[];
  /** After each event: phase, per-server first-served seconds (null: not serving). */
  after: Array<{ phase: Phase; servers: Record<string, number | null> }>;
  propagatedAt: number | null;
  activateAfter: number | null;
}

const walks: WalkRow[] = [
  {
    name: 'publish at T, A serves at T+1, B at T+5, TTL 300 → propagated T+5, activate T+605',
    events: [
      { now: 1, obs: { A: true, B: false } },
      { now: 3, obs: { A: true, B: false } },
      { now: 5, obs: { A: true, B: true } },
    ],
    after: [
      { phase: 'published', servers: { A: 1, B: null } },
      { phase: 'published', servers: { A: 1, B: null } }, // A keeps its first time
      { phase: 'propagated', servers: { A: 1, B: 5 } },
    ],
    propagatedAt: 5,
    activateAfter: 605,
  },
  {
    name: 'a server that stops serving loses its time',
    events: [
      { now: 1, obs: { A: true, B: false } },
      { now: 2, obs: { A: false, B: true } },
      { now: 4, obs: { A: true, B: true } },
    ],
    after: [
      { phase: 'published', servers: { A: 1, B: null } },
      { phase: 'published', servers: { A: null, B: 2 } },
      { phase: 'propagated', servers: { A: 4, B: 2 } },
    ],
    propagatedAt: 4,
    activateAfter: 604,
  },
  {
    name: 'no prior RRset → activation right at propagation',
    start: { replacedTtl: null },
    events: [{ now: 7, obs: { A: true, B: true } }],
    after: [{ phase: 'propagated', servers: { A: 7, B: 7 } }],
    propagatedAt: 7,
    activateAfter: 7,
  },
  {
    name: 'alreadyServed → activation right at propagation despite TTL 3600',
    start: { replacedTtl: 3600, alreadyServed: true },
    events: [{ now: 2, obs: { A: true } }],
    after: [{ phase: 'propagated', servers: { A: 2 } }],
    propagatedAt: 2,
    activateAfter: 2,
  },
  {
    name: 'minDelay 30 min dominates a fast propagation with TTL 60',
    start: { replacedTtl: 60 },
    policy: { minDelay: 30 * MIN },
    events: [{ now: 3, obs: { A: true } }],
    after: [{ phase: 'propagated', servers: { A: 3 } }],
    propagatedAt: 3,
    activateAfter: 1800,
  },
  {
    name: 'an empty observation list never propagates',
    events: [{ now: 1, obs: {} }],
    after: [{ phase: 'published', servers: {} }],
    propagatedAt: null,
    activateAfter: null,
  },
  {
    name: 'every server failing keeps the rollover published',
    events: [
      { now: 1, obs: { A: false, B: false } },
      { now: 60, obs: { A: false, B: false } },
    ],
    after: [
      { phase: 'published', servers: { A: null, B: null } },
      { phase: 'published', servers: { A: null, B: null } },
    ],
    propagatedAt: null,
    activateAfter: null,
  },
];

const toObs = (o: Record<string, boolean>): ServerObservation[] => Object.entries(o).map(([server, servesAll]) => ({ server, servesAll }));
const serversAt = (s: Record<string, number | null>) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { firstServedAt: v === null ? null : iso(v) }]));

for (const w of walks) {
  test(`applyObservations walk: ${w.name}`, () => {
    let r = rollover(w.start);
    const p = policy(w.policy);
    w.events.forEach((e, i) => {
      const before = structuredClone(r);
      const next = applyObservations(r, toObs(e.obs), p, at(e.now));
      assert.deepEqual(r, before, 'input rollover is not mutated');
      assert.equal(next.phase, w.after[i]!.phase, `phase after event ${i}`);
      assert.deepEqual(next.servers, serversAt(w.after[i]!.servers), `servers after event ${i}`);
      rolloverSchema.parse(next); // what the store will save
      r = next;
    });
    assert.equal(r.propagatedAt, w.propagatedAt === null ? null : iso(w.propagatedAt));
    assert.equal(r.activateAfter, w.activateAfter === null ? null : iso(w.activateAfter));
    if (w.activateAfter !== null) {
      // And the state machine then waits for exactly that instant.
      assert.deepEqual(computeNextStep(r, p, new Date(T + w.activateAfter * 1000 - 1)), { kind: 'wait-activation', at: at(w.activateAfter) });
      assert.deepEqual(computeNextStep(r, p, at(w.activateAfter)), { kind: 'activate' });
    }
  });
}

test('applyObservations keeps everything but servers/phase/times', () => {
  const r = rollover({ attempts: 3, lastError: 'earlier poll failed' });
  const next = applyObservations(r, toObs({ A: true }), POLICY, at(10));
  assert.equal(next.attempts, 3);
  assert.equal(next.lastError, 'earlier poll failed');
  assert.deepEqual(next.records, r.records);
  assert.equal(next.publishedAt, iso(0));
  assert.equal(next.activatedAt, null);
});

// ---------------------------------------------------------------- supersedePending / pruneFinished

const entry = (rollovers: Rollover[]): EntryState => ({ live: null, liveKnown: true, rollovers, owned: [], next: null, retiredNext: [] });

test('supersedePending: every not-yet-activated rollover is superseded, the rest untouched', () => {
  const now = at(5000);
  const rows: Array<[Phase, string | null, Phase, string | null]> = [
    // phase before, lastError before → phase after, lastError after
    ['staged', null, 'superseded', `superseded at ${now.toISOString()}`],
    ['published', null, 'superseded', `superseded at ${now.toISOString()}`],
    ['propagated', null, 'superseded', `superseded at ${now.toISOString()}`],
    ['rolled-back', 'probe of 192.0.2.1:25 failed', 'superseded', 'probe of 192.0.2.1:25 failed'],
    ['activating', null, 'activating', null], // half installed: only its own recovery may touch it
    ['activated', null, 'activated', null],
    ['cleaned', null, 'cleaned', null],
    ['superseded', 'superseded at 2025-01-01T00:00:00.000Z', 'superseded', 'superseded at 2025-01-01T00:00:00.000Z'],
  ];
  const input = entry(rows.map(([phase, lastError], i) => rollover({ id: `r${i}`, phase, lastError })));
  const snapshot = structuredClone(input);
  const { entry: out, superseded } = supersedePending(input, now);
  assert.deepEqual(input, snapshot, 'input entry is not mutated');
  assert.deepEqual(
    out.rollovers.map((r) => [r.id, r.phase, r.lastError]),
    rows.map(([, , phase, lastError], i) => [`r${i}`, phase, lastError]),
  );
  assert.deepEqual(superseded.map((r) => r.id), ['r0', 'r1', 'r2', 'r3']);
  assert.ok(superseded.every((r) => r.phase === 'superseded'));
  assert.equal(out.liveKnown, true);
});

test('supersedePending on an entry with nothing pending changes nothing', () => {
  const input = entry([rollover({ id: 'a', phase: 'cleaned' }), rollover({ id: 'b', phase: 'activated' })]);
  const { entry: out, superseded } = supersedePending(input, at(0));
  assert.deepEqual(out, input);
  assert.deepEqual(superseded, []);
});

test('pruneFinished: keeps the 5 newest finished rollovers and every unfinished one, in order', () => {
  const phases: Phase[] = ['cleaned', 'superseded', 'cleaned', 'rolled-back', 'cleaned', 'superseded', 'cleaned', 'cleaned', 'activated', 'published'];
  const input = entry(phases.map((phase, i) => rollover({ id: `r${i}`, phase })));
  const { entry: out, dropped } = pruneFinished(input);
  // finished: r0 r1 r2 r4 r5 r6 r7 (7) → the oldest 2 go.
  assert.deepEqual(dropped.map((r) => r.id), ['r0', 'r1']);
  assert.deepEqual(out.rollovers.map((r) => r.id), ['r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
  assert.equal(input.rollovers.length, 10, 'input is not mutated');
});

test('pruneFinished: 5 finished or fewer → nothing dropped', () => {
  for (const n of [0, 1, 5]) {
    const input = entry(Array.from({ length: n }, (_, i) => rollover({ id: `c${i}`, phase: 'cleaned' })));
    const { entry: out, dropped } = pruneFinished(input);
    assert.equal(dropped.length, 0, `n=${n}`);
    assert.equal(out.rollovers.length, n);
  }
});

test('pruneFinished never drops rolled-back rollovers (their records stay in DNS)', () => {
  const input = entry(Array.from({ length: 8 }, (_, i) => rollover({ id: `b${i}`, phase: 'rolled-back' })));
  assert.equal(pruneFinished(input).dropped.length, 0);
});
