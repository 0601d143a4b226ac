// The lock file's line and its staleness rule (pure), and reading /proc/PID/stat's start time,
// including process names with spaces and parentheses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeLockVerdict, formatLockOwner, parseLockOwner, type LockOwner, type ProcessFacts } from '../../../src/io/lock-owner.js';
import { parseStatStartTime } from '../../../src/io/process-identity.js';

const BOOT = '3f0c5a52-8f7e-4a8e-9a51-6f2d7d4c1b10';
const OTHER_BOOT = '00000000-0000-4000-8000-000000000000';

test('format/parse round trip; pid alone when nothing else is known', () => {
  const rows: LockOwner[] = [
    { pid: 4242, startTime: '123456', bootId: BOOT },
    { pid: 1 },
    { pid: 7, startTime: '99' },
    { pid: 7, bootId: BOOT },
  ];
  for (const o of rows) assert.deepEqual(parseLockOwner(formatLockOwner(o)), o);
  assert.equal(formatLockOwner({ pid: 1 }), '1\n', 'readable by an older danehook');
  assert.equal(formatLockOwner({ pid: 5, startTime: '10', bootId: BOOT }), `5 10 ${BOOT}\n`);
  assert.equal(formatLockOwner({ pid: 5, bootId: BOOT }), `5 - ${BOOT}\n`);
});

const parseRows: Array<[string, string, LockOwner | undefined]> = [
  ['old format', '4242\n', { pid: 4242 }],
  ['old format without newline', '4242', { pid: 4242 }],
  ['new format', `4242 123 ${BOOT}\n`, { pid: 4242, startTime: '123', bootId: BOOT }],
  ['upper-case boot id', `4242 123 ${BOOT.toUpperCase()}\n`, { pid: 4242, startTime: '123', bootId: BOOT }],
  ['unknown fields', '4242 - -\n', { pid: 4242 }],
  ['empty', '', undefined],
  ['garbage', 'not a pid\n', undefined],
  ['pid 0', '0\n', undefined],
  ['negative pid', '-5\n', undefined],
  ['fractional pid', '12.5\n', undefined],
  ['hex pid', '0x7b\n', undefined],
  ['bad start time', '12 abc\n', undefined],
  ['bad boot id', '12 5 not/a/boot\n', undefined],
  ['too many fields', `12 5 ${BOOT} extra\n`, undefined],
  ['a bare number', '42', { pid: 42 }],
];
for (const [name, text, want] of parseRows) {
  test(`parseLockOwner: ${name}`, () => assert.deepEqual(parseLockOwner(text), want));
}

const SELF = { pid: 100, holdsLock: false };
const alive = (extra: Partial<ProcessFacts> = {}): ProcessFacts => ({ alive: true, startTime: '500', bootId: BOOT, ...extra });
const verdictRows: Array<[string, LockOwner, ProcessFacts, 'live' | 'stale']> = [
  ['dead pid', { pid: 7, startTime: '500', bootId: BOOT }, { alive: false }, 'stale'],
  ['dead pid, old format', { pid: 7 }, { alive: false }, 'stale'],
  ['same pid, start and boot', { pid: 7, startTime: '500', bootId: BOOT }, alive(), 'live'],
  ['pid reused: other start time', { pid: 7, startTime: '499', bootId: BOOT }, alive(), 'stale'],
  ['written before a reboot', { pid: 7, startTime: '500', bootId: OTHER_BOOT }, alive(), 'stale'],
  ['before a reboot, start unknown', { pid: 7, bootId: OTHER_BOOT }, alive(), 'stale'],
  ['old format, pid alive: by pid', { pid: 7 }, alive(), 'live'],
  ['no /proc now: by pid', { pid: 7, startTime: '1', bootId: OTHER_BOOT }, { alive: true }, 'live'],
  ['our own pid, not held by us', { pid: 100 }, alive(), 'stale'],
  ['our own pid and start, not held by us', { pid: 100, startTime: '500', bootId: BOOT }, alive(), 'stale'],
];
for (const [name, owner, facts, want] of verdictRows) {
  test(`computeLockVerdict: ${name} → ${want}`, () => assert.equal(computeLockVerdict(owner, facts, SELF), want));
}

test('computeLockVerdict: our own pid in a lock we hold is live', () => {
  assert.equal(computeLockVerdict({ pid: 100, startTime: '500', bootId: BOOT }, alive(), { pid: 100, holdsLock: true }), 'live');
});

test('parseStatStartTime: field 22, whatever the process name holds', () => {
  const tail = 'S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777123 19 20 21';
  assert.equal(parseStatStartTime(`42 (node) ${tail}`), '777123');
  assert.equal(parseStatStartTime(`42 (a b) c) ) ${tail}`), '777123');
  assert.equal(parseStatStartTime(`42 (node) S 1 2`), undefined, 'truncated');
  assert.equal(parseStatStartTime('garbage'), undefined);
});
