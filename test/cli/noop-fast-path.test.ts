// The no-op fast path of post-deploy: taken only for a config byte-identical to one a full run
// validated and when nothing is due; a changed (broken) config or a due rollover gets a full run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';

let ws: Workspace;
before(() => {
  ws = makeWorkspace();
  mkdirSync(ws.stateDir, { mode: 0o700 });
});
after(() => ws.remove());

const rollover = (phase: string, extra: Record<string, unknown>) => ({
  id: 'abc-1', phase, spki: 'a'.repeat(64), fingerprint: 'b'.repeat(64), notAfter: '2030-01-01T00:00:00.000Z',
  stagedDir: 'staged/mx/abc-1', records: [{ name: '_25._tcp.mx.example.com.', ttl: 60, tlsa: `3 1 1 ${'c'.repeat(64)}` }], replacedTtl: 60, alreadyServed: false, createdAt: '2026-01-01T00:00:00.000Z',
  publishedAt: '2026-01-01T00:00:00.000Z', propagatedAt: null, activateAfter: null, activatedAt: null, cleanedAt: null,
  servers: {}, attempts: 1, lastError: null, ...extra,
});
const writeState = (r: object) =>
  writeFileSync(join(ws.stateDir, 'state.json'), JSON.stringify({ version: 1, certificates: { mx: { live: null, liveKnown: true, rollovers: [r], owned: [] } } }));

test('first run validates and stamps; the next no-op run takes the fast path', async () => {
  const config = ws.writeConfig(baseConfig(ws));
  const first = await runCli(['post-deploy', '-v', '-c', config]);
  assert.equal(first.code, 0, first.stderr);
  assert.doesNotMatch(first.stderr, /fast path/);
  assert.ok(existsSync(join(ws.stateDir, 'config.validated')));
  const second = await runCli(['post-deploy', '-v', '-c', config]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /nothing is due \(fast path\)/);
});

test('a changed config is validated again: a broken one fails even when nothing is due', async () => {
  const config = ws.writeConfig(baseConfig(ws));
  assert.equal((await runCli(['post-deploy', '-c', config])).code, 0);
  const broken = baseConfig(ws);
  broken.certificates[0].ports = [0];
  writeFileSync(config, JSON.stringify(broken));
  const r = await runCli(['post-deploy', '-v', '-c', config]);
  assert.equal(r.code, 78, r.stderr);
  assert.match(r.stderr, /certificates\[0\]\.ports\[0\]/);
});

test('a rollover waiting for its deadline is a fast no-op; a due one is not', async () => {
  const config = ws.writeConfig(baseConfig(ws));
  assert.equal((await runCli(['post-deploy', '-c', config])).code, 0);
  const future = new Date(Date.now() + 3_600_000).toISOString();
  writeState(rollover('propagated', { propagatedAt: '2026-01-01T00:00:00.000Z', activateAfter: future }));
  const stateBefore = readFileSync(join(ws.stateDir, 'state.json'), 'utf8');
  const waiting = await runCli(['post-deploy', '-v', '-c', config]);
  assert.equal(waiting.code, 0, waiting.stderr);
  assert.match(waiting.stderr, /fast path/);
  assert.equal(readFileSync(join(ws.stateDir, 'state.json'), 'utf8'), stateBefore, 'state not rewritten');
  // A published rollover needs DNS polling: the full command runs (and fails here: DNS is a closed port).
  writeState(rollover('published', { publishedAt: new Date().toISOString() }));
  const due = await runCli(['post-deploy', '-v', '-c', config], { timeoutMs: 60_000 });
  assert.doesNotMatch(due.stderr, /fast path/);
  assert.notEqual(due.code, 0, 'the full run tried DNS');
});

test('an activating rollover (a run died mid-install) is due at once, whatever its deadline', async () => {
  const config = ws.writeConfig(baseConfig(ws));
  const future = new Date(Date.now() + 3_600_000).toISOString();
  writeState(rollover('activating', { propagatedAt: '2026-01-01T00:00:00.000Z', activateAfter: future }));
  const r = await runCli(['post-deploy', '-v', '-c', config]);
  assert.doesNotMatch(r.stderr, /fast path/);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped while installing/);
  // Nothing was installed (no install paths): restored nothing, back to waiting for its deadline.
  const state = JSON.parse(readFileSync(join(ws.stateDir, 'state.json'), 'utf8'));
  assert.equal(state.certificates.mx.rollovers[0].phase, 'propagated');
});

test('a state directory open to other users is reported', async () => {
  const { chmodSync } = await import('node:fs');
  const config = ws.writeConfig(baseConfig(ws));
  chmodSync(ws.stateDir, 0o755);
  const r = await runCli(['status', '--offline', '-c', config]);
  chmodSync(ws.stateDir, 0o700);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: state directory .* is accessible by other users \(mode 755\); chmod 700 it/);
});

test('a queued renewal makes the run due; a damaged one is set aside and the fast path returns', async () => {
  const config = ws.writeConfig(baseConfig(ws));
  writeFileSync(join(ws.stateDir, 'state.json'), JSON.stringify({ version: 1, certificates: {} }));
  assert.equal((await runCli(['post-deploy', '-c', config])).code, 0);
  // An empty inbox directory (every item accepted) is as good as none.
  mkdirSync(join(ws.stateDir, 'inbox'), { mode: 0o700 });
  assert.match((await runCli(['post-deploy', '-v', '-c', config])).stderr, /fast path/);
  const item = '1700000000000-1-abcdef.json';
  writeFileSync(join(ws.stateDir, 'inbox', item), '{"version":1,', { mode: 0o600 });
  const queued = await runCli(['post-deploy', '-v', '-c', config]);
  assert.doesNotMatch(queued.stderr, /fast path/);
  assert.equal(queued.code, 65, queued.stderr);
  assert.match(queued.stderr, new RegExp(`queued renewal .*inbox/${item} is damaged`));
  assert.match(queued.stderr, new RegExp(`moved to inbox\\.rejected/${item}`));
  assert.ok(existsSync(join(ws.stateDir, 'inbox.rejected', item)));
  const status = JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout);
  assert.deepEqual(status.inbox.rejected, [`inbox.rejected/${item}`]);
  assert.match((await runCli(['post-deploy', '-v', '-c', config])).stderr, /fast path/, 'fast again');
});

test('the fast path loads no dependency (no zod, cosmiconfig, x509): strace shows which files the run opens', async (t) => {
  const { CLI } = await import('../harness/cli.js');
  const { spawnSync } = await import('node:child_process');
  if (spawnSync('strace', ['-V']).status !== 0) {
    if (process.env.CI === 'true') assert.fail('strace is missing');
    t.skip('strace not installed');
    return;
  }
  const config = ws.writeConfig(baseConfig(ws));
  assert.equal((await runCli(['post-deploy', '-c', config])).code, 0);
  const trace = join(ws.dir, 'fast.strace');
  const r = spawnSync('strace', ['-f', '-e', 'trace=openat', '-o', trace, process.execPath, CLI, 'post-deploy', '-v', '-c', config], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /fast path/);
  const opened = readFileSync(trace, 'utf8');
  assert.match(opened, /dist\/commands\/noop-check\.js/, 'the trace sees our own modules');
  for (const dep of ['zod', 'cosmiconfig', '@peculiar', 'dns-packet']) assert.doesNotMatch(opened, new RegExp(`node_modules/${dep}`), `${dep} loaded on the fast path`);
});
