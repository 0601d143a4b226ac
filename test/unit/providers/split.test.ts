// Splitting a zone's changes into UPDATE messages: one when it fits; otherwise full messages
// under the limit, creates before deletes, prerequisites that follow the earlier messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatUpdateMessage } from '../../../src/providers/rfc2136/message.js';
import { computeRRsetAfter, computeUpdateMessages, snapshotKey } from '../../../src/providers/rfc2136/split.js';
import type { Change } from '../../../src/providers/types.js';

const rd = (n: number) => ({ usage: 3, selector: 1, matchingType: 1, data: n.toString(16).padStart(64, '0') });
const owner = (i: number) => `_${i}._tcp.mx${i}.example.com.`;

test('everything in one message when it fits, with prerequisites from the snapshot', () => {
  const changes: Change[] = [
    { op: 'delete', name: owner(1), ttl: 60, rdata: rd(1) },
    { op: 'create', name: owner(1), ttl: 60, rdata: rd(2) },
    { op: 'create', name: owner(2), ttl: 60, rdata: rd(3) },
  ];
  const snapshot = new Map([[snapshotKey(owner(1), 'TLSA'), [rd(1), rd(9)]], [snapshotKey(owner(2), 'TLSA'), []]]);
  const msgs = computeUpdateMessages('example.com.', changes, snapshot, 65000);
  assert.equal(msgs.length, 1);
  assert.deepEqual(msgs[0]!.updates.map((u) => u.op), ['add', 'add', 'delete']);
  assert.deepEqual(msgs[0]!.prerequisites, [
    { kind: 'exactly', name: owner(1), type: 'TLSA', records: [rd(1), rd(9)] },
    { kind: 'absent', name: owner(2), type: 'TLSA' },
  ]);
});

test('names never listed get no prerequisite', () => {
  const msgs = computeUpdateMessages('example.com.', [{ op: 'create', name: owner(1), ttl: 60, rdata: rd(1) }], new Map(), 65000);
  assert.deepEqual(msgs[0]!.prerequisites, []);
});

test('an empty plan gives no messages', () => {
  assert.deepEqual(computeUpdateMessages('example.com.', [], new Map(), 65000), []);
});

test('over the limit: messages that fit, each well filled, creates first, state carried over', () => {
  const changes: Change[] = [];
  const snapshot = new Map();
  for (let i = 0; i < 400; i++) {
    changes.push({ op: 'delete', name: owner(i), ttl: 60, rdata: rd(i) });
    changes.push({ op: 'create', name: owner(i), ttl: 60, rdata: rd(i + 1000) });
    snapshot.set(snapshotKey(owner(i), 'TLSA'), [rd(i)]);
  }
  const limit = 8000;
  const msgs = computeUpdateMessages('example.com.', changes, snapshot, limit);
  const sizes = msgs.map((m) => formatUpdateMessage(m).length);
  assert.ok(sizes.every((s) => s <= limit), `sizes ${sizes.join(',')}`);
  // Sizes are added up from an upper bound: every message but the last is at least 3/4 full.
  assert.ok(sizes.slice(0, -1).every((s) => s > limit * 0.75), `sizes ${sizes.join(',')}`);
  const all = msgs.flatMap((m) => m.updates);
  assert.equal(all.length, 800);
  const firstDelete = all.findIndex((u) => u.op === 'delete');
  assert.ok(all.slice(firstDelete).every((u) => u.op === 'delete'), 'no create after a delete');
  // A name deleted in a later message must be expected with its record added earlier.
  const laterMsg = msgs.find((m) => m.updates.some((u) => u.op === 'delete' && u.name === owner(399)))!;
  const pre = laterMsg.prerequisites.find((p) => p.name === owner(399));
  assert.deepEqual(pre, { kind: 'exactly', name: owner(399), type: 'TLSA', records: [rd(399), rd(1399)] });
});

test('a change that cannot fit alone is refused', () => {
  assert.throws(() => computeUpdateMessages('example.com.', [{ op: 'create', name: owner(1), ttl: 1, rdata: rd(1) }], new Map(), 50), /does not fit/);
});

test('RRset arithmetic: duplicates ignored, absent deletes no-ops (RFC 2136 §3.4.2)', () => {
  const after = computeRRsetAfter([rd(1)], [
    { op: 'add', name: 'x.', ttl: 1, rdata: rd(1) },
    { op: 'delete', name: 'x.', ttl: 1, rdata: rd(5) },
    { op: 'add', name: 'x.', ttl: 1, rdata: rd(2) },
  ]);
  assert.deepEqual(after, [rd(1), rd(2)]);
});
