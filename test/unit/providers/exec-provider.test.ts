// The exec provider against real child processes: small adapters written into a temp dir that
// hang (also with a child that ignores SIGTERM), crash, print garbage, a wrong version or without
// end. Each run must end in the mapped exit code within timeout + grace, with the adapter and its
// children gone (checked by pid), and the adapter must see only the environment named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecProvider, type ExecOptions } from '../../../src/providers/exec/index.js';
import type { Logger } from '../../../src/log.js';
import { isPidGone } from '../../harness/process.js';

const dir = mkdtempSync(join(tmpdir(), 'danehook-exec-unit-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const HEX = 'ab'.repeat(32);
const NODE = process.execPath;
const TIMEOUT = 800;
const GRACE = 400;

let n = 0;
/** An adapter: a Node ES module whose body is `body`; `pids` is a file it may write pids to. */
function adapter(body: string): { command: string[]; pids: string } {
  const path = join(dir, `adapter-${++n}.mjs`);
  const pids = join(dir, `pids-${n}.json`);
  writeFileSync(path, `import { spawn } from 'node:child_process';\nimport { readFileSync, writeFileSync } from 'node:fs';\nconst PIDS = ${JSON.stringify(pids)};\n${body}\n`);
  return { command: [NODE, path], pids };
}

function provider(command: string[], extra: Partial<ExecOptions> = {}) {
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(m), debug: () => {} };
  const p = createExecProvider({
    command, timeoutMs: TIMEOUT, killGraceMs: GRACE, passEnv: [], env: {}, server: { host: '127.0.0.1', port: 9 },
    zones: ['example.com', 'sub.example.com'], log, ...extra,
  });
  return { p, lines };
}

async function assertGone(pidsFile: string): Promise<void> {
  assert.ok(existsSync(pidsFile), 'the adapter wrote its pids');
  const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as number[];
  for (let i = 0; i < 20 && !pids.every(isPidGone); i++) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids) assert.ok(isPidGone(pid), `process ${pid} is gone`);
}

async function expectExit(promise: Promise<unknown>, code: number, message: RegExp): Promise<number> {
  const started = Date.now();
  await assert.rejects(promise, (e: Error & { exitCode?: number }) => {
    assert.equal(e.exitCode, code, e.message);
    assert.match(e.message, message);
    return true;
  });
  return Date.now() - started;
}

const LIST = ['_25._tcp.mx.example.com.'];
const okList = `process.stdout.write(JSON.stringify({ version: 1, rrsets: [{ name: '_25._tcp.mx.example.com.', ttl: 60, type: 'TLSA', data: ['3 1 1 ${HEX}'] }] }));`;

test('a good adapter: list, apply (one request per zone, TXT quoted), check; requests as documented', async () => {
  const log = join(dir, 'requests.jsonl');
  const a = adapter(`
    const req = JSON.parse(readFileSync(0, 'utf8'));
    writeFileSync(${JSON.stringify(log)}, JSON.stringify(req) + '\\n', { flag: 'a' });
    process.stderr.write('hello from the adapter\\n');
    if (req.op === 'list') process.stdout.write(JSON.stringify({ version: 1, rrsets: req.names.map((name) => ({ name, ttl: 60, type: req.type, data: req.type === 'TXT' ? ['"v=DKIM1; " "p=x"'] : ['3 1 1 ${HEX}'] })) }));
    else process.stdout.write(JSON.stringify({ version: 1, ok: true }));`);
  const { p, lines } = provider(a.command);
  const tlsa = await p.listRecords(['_25._TCP.mx.example.com', '_25._tcp.mx.example.com.']);
  assert.deepEqual([...tlsa.values()], [{ name: '_25._tcp.mx.example.com.', ttl: 60, records: [{ usage: 3, selector: 1, matchingType: 1, data: HEX }] }]);
  const txt = await p.listRecords(['s._domainkey.example.com.'], 'TXT');
  assert.deepEqual(txt.get('s._domainkey.example.com.')!.records, [{ type: 'TXT', text: 'v=DKIM1; p=x', strings: ['v=DKIM1; ', 'p=x'] }]);
  const result = await p.apply({ changes: [
    { op: 'create', name: '_25._tcp.mx.sub.example.com.', ttl: 60, rdata: { usage: 3, selector: 1, matchingType: 1, data: HEX } },
    { op: 'delete', name: 's._domainkey.example.com.', ttl: 60, rdata: { type: 'TXT', text: 'v=DKIM1; p=x', strings: ['v=DKIM1; ', 'p=x'] } },
    { op: 'create', name: 't._domainkey.example.com.', ttl: 60, rdata: { type: 'TXT', text: 'a"b' } },
  ] });
  assert.deepEqual(result.zones, [{ zone: 'example.com.', changes: 2 }, { zone: 'sub.example.com.', changes: 1 }]);
  await p.checkAccess('_25._tcp.mx.example.com.');
  assert.deepEqual(await p.apply({ changes: [] }), { zones: [] });
  assert.equal(p.capabilities.atomicPerZone, true);
  const requests = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(requests, [
    { version: 1, op: 'list', type: 'TLSA', names: ['_25._tcp.mx.example.com.'] },
    { version: 1, op: 'list', type: 'TXT', names: ['s._domainkey.example.com.'] },
    { version: 1, op: 'apply', zone: 'example.com.', changes: [
      { op: 'delete', name: 's._domainkey.example.com.', ttl: 60, type: 'TXT', data: '"v=DKIM1; " "p=x"' },
      { op: 'create', name: 't._domainkey.example.com.', ttl: 60, type: 'TXT', data: '"a\\"b"' },
    ] },
    { version: 1, op: 'apply', zone: 'sub.example.com.', changes: [{ op: 'create', name: '_25._tcp.mx.sub.example.com.', ttl: 60, type: 'TLSA', data: `3 1 1 ${HEX}` }] },
    { version: 1, op: 'check', zone: 'example.com.' },
  ]);
  assert.ok(lines.some((l) => l === 'adapter list: hello from the adapter'), lines.join('\n'));
  assert.equal(p.identity, `exec adapter ${NODE} ${a.command[1]}`); // the script, not only its interpreter
});

test('environment: only the variables named, and not even PATH unless named', async () => {
  const out = join(dir, 'env.json');
  const a = adapter(`writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.env)); ${okList}`);
  const env = { PATH: '/usr/bin:/bin', DANEHOOK_TSIG_SECRET: 'c2VjcmV0', API_TOKEN: 't0k3n', HOME: '/root' };
  await provider(a.command, { passEnv: ['API_TOKEN', 'NOT_SET'], env }).p.listRecords(LIST);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { API_TOKEN: 't0k3n' });
  await provider(a.command, { passEnv: [], env }).p.listRecords(LIST);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), {});
});

test('hang: 69 within timeout + grace, the adapter is gone', async () => {
  const a = adapter(`writeFileSync(PIDS, JSON.stringify([process.pid])); setInterval(() => {}, 1000);`);
  const ms = await expectExit(provider(a.command).p.listRecords(LIST), 69, /timed out after 800 ms and was stopped/);
  assert.ok(ms >= TIMEOUT - 50 && ms < TIMEOUT + GRACE + 300, `took ${ms} ms`);
  await assertGone(a.pids);
});

test('hang with a child that ignores SIGTERM and holds stdout (and the adapter ignoring it too): SIGKILL to the group, 69, all gone', async () => {
  const a = adapter(`
    process.on('SIGTERM', () => {});
    const child = spawn('/bin/sh', ['-c', 'trap "" TERM; while :; do /bin/sleep 0.1; done'], { stdio: ['ignore', 'inherit', 'inherit'] });
    writeFileSync(PIDS, JSON.stringify([process.pid, child.pid]));
    setInterval(() => {}, 1000);`);
  const ms = await expectExit(provider(a.command).p.apply({ changes: [{ op: 'create', name: '_25._tcp.mx.example.com.', ttl: 60, rdata: { usage: 3, selector: 1, matchingType: 1, data: HEX } }] }), 69, /timed out/);
  assert.ok(ms >= TIMEOUT + GRACE - 50 && ms < TIMEOUT + GRACE + 300, `took ${ms} ms (SIGTERM was ignored, so SIGKILL after the grace)`);
  await assertGone(a.pids);
});

test('an adapter that replies and exits but leaves a child behind: the reply counts, the stray is stopped', async () => {
  const a = adapter(`
    const child = spawn('/bin/sh', ['-c', 'trap "" TERM; while :; do /bin/sleep 0.1; done'], { stdio: ['ignore', 'inherit', 'ignore'], detached: false });
    writeFileSync(PIDS, JSON.stringify([process.pid, child.pid]));
    ${okList}
    process.exit(0);`);
  const started = Date.now();
  const m = await provider(a.command).p.listRecords(LIST);
  assert.equal(m.get(LIST[0]!)!.records.length, 1);
  assert.ok(Date.now() - started < GRACE + 1000);
  await assertGone(a.pids);
});

test('crash: exit 1 without a reply, or killed by a signal → 69', async () => {
  const exit1 = adapter(`writeFileSync(PIDS, JSON.stringify([process.pid])); process.stderr.write('Traceback: boom\\n'); process.exit(1);`);
  await expectExit(provider(exit1.command).p.listRecords(LIST), 69, /exited with 1 without a reply; stderr: Traceback: boom/);
  await assertGone(exit1.pids);
  const killed = adapter(`writeFileSync(PIDS, JSON.stringify([process.pid])); process.stdout.write('{"version":1,'); process.kill(process.pid, 'SIGKILL');`);
  await expectExit(provider(killed.command).p.listRecords(LIST), 69, /killed by SIGKILL/);
  await assertGone(killed.pids);
});

test('garbage, a wrong version, a reply that does not match the request → 76', async () => {
  const cases: [string, RegExp][] = [
    [`process.stdout.write('hello, this is not JSON');`, /invalid JSON/],
    [`process.stdout.write('');`, /replied nothing/],
    [`process.stdout.write(JSON.stringify({ version: 2, rrsets: [] }));`, /protocol version 2; danehook speaks version 1/],
    [`process.stdout.write(JSON.stringify({ rrsets: [] }));`, /protocol version undefined/],
    [`process.stdout.write(JSON.stringify({ version: 1, ok: true }));`, /does not allow here \(rrsets/],
    [`process.stdout.write(JSON.stringify({ version: 1, rrsets: [] }));`, /no rrset for 1 name/],
    [`process.stdout.write(JSON.stringify({ version: 1, rrsets: [{ name: 'evil.example.', ttl: 1, type: 'TLSA', data: ['3 1 1 ${HEX}'] }] }));`, /not asked for/],
    [`${okList} process.exit(3);`, /replied success but exited with 3/],
  ];
  for (const [body, message] of cases) {
    const a = adapter(`writeFileSync(PIDS, JSON.stringify([process.pid])); ${body}`);
    await expectExit(provider(a.command).p.listRecords(LIST), 76, message);
    await assertGone(a.pids);
  }
});

test('huge output: stopped at the reply cap at once (no wait for the timeout) → 76', async () => {
  const a = adapter(`writeFileSync(PIDS, JSON.stringify([process.pid])); const chunk = 'x'.repeat(65536); const w = () => { while (process.stdout.write(chunk)); process.stdout.once('drain', w); }; w();`);
  const ms = await expectExit(provider(a.command, { maxReplyBytes: 1 << 20, timeoutMs: 10_000 }).p.listRecords(LIST), 76, /more output than a reply can be/);
  assert.ok(ms < 3000, `took ${ms} ms`);
  await assertGone(a.pids);
});

test('stderr reaches the log, bounded', async () => {
  const a = adapter(`for (let i = 0; i < 5000; i++) process.stderr.write('line ' + i + ' ' + 'y'.repeat(40) + '\\n'); ${okList}`);
  const { p, lines } = provider(a.command);
  await p.listRecords(LIST);
  const logged = lines.filter((l) => l.startsWith('adapter list: line '));
  assert.ok(logged.length > 100 && logged.length < 2000, `${logged.length} lines logged`);
  assert.match(lines.at(-1)!, /more bytes of adapter stderr not logged/);
});

test('error replies map onto exit codes: auth 77, unreachable 69, conflict 75, invalid 76', async () => {
  for (const [kind, code] of [['auth', 77], ['unreachable', 69], ['conflict', 75], ['invalid', 76]] as const) {
    const a = adapter(`process.stdout.write(JSON.stringify({ version: 1, error: { kind: '${kind}', message: 'said the backend' } })); process.exit(1);`);
    await expectExit(provider(a.command).p.checkAccess('mx.example.com.'), code, /access check for zone example\.com\.\) failed: said the backend/);
  }
  const unknownKind = adapter(`process.stdout.write(JSON.stringify({ version: 1, error: { kind: 'oops', message: 'x' } })); process.exit(1);`);
  await expectExit(provider(unknownKind.command).p.checkAccess('mx.example.com.'), 69, /exited with 1 and a malformed reply/);
});

test('adapter missing or not executable → 69; `atomic: false` is noted', async () => {
  await expectExit(provider([join(dir, 'no-such-adapter')]).p.listRecords(LIST), 69, /does not exist/);
  const plain = join(dir, 'not-executable.sh');
  writeFileSync(plain, '#!/bin/sh\necho {}\n');
  chmodSync(plain, 0o644);
  await expectExit(provider([plain]).p.listRecords(LIST), 69, /not executable/);
  const a = adapter(`process.stdout.write(JSON.stringify({ version: 1, ok: true, atomic: false }));`);
  const { p, lines } = provider(a.command);
  await p.apply({ changes: [{ op: 'create', name: '_25._tcp.mx.example.com.', ttl: 60, rdata: { usage: 3, selector: 1, matchingType: 1, data: HEX } }] });
  assert.equal(p.capabilities.atomicPerZone, false);
  assert.ok(lines.some((l) => /cannot apply a zone's changes all-or-nothing/.test(l)));
});
