// Configurations at the edges, through the built CLI: plan --offline without the TSIG secret file,
// post-deploy before the state directory exists (fast, writes nothing), a TLSA TTL below 60 s warned.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir, type Ca } from '../harness/certs.js';
import { CLI, baseConfig, makeWorkspace, runCli, type Workspace } from '../harness/cli.js';
import { reportFigures } from '../harness/figures.js';

let ca: Ca;
let ws: Workspace;
before(() => {
  ca = makeCa('Edges Root');
  ws = makeWorkspace();
});
after(() => {
  removeCertDir(ca);
  ws.remove();
});

test('plan --offline works when the TSIG secret file does not exist', async () => {
  const leaf = makeLeaf(ca, ['mx.example.com']);
  const cfg = baseConfig(ws);
  cfg.dns.tsig.secretFile = join(ws.dir, 'no-such.secret');
  const r = await runCli(['plan', '--offline', '--json', '-c', ws.writeConfig(cfg), '--pem', leaf.combinedPath]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).records.map((x: { name: string; tlsa: string }) => `${x.name} ${x.tlsa}`), [`_25._tcp.mx.example.com. 3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`]);
});

test('post-deploy before the state directory exists: exit 0, fast, nothing created', () => {
  const cfg = baseConfig(ws);
  cfg.stateDir = join(ws.dir, 'state-not-yet');
  const config = ws.writeConfig(cfg);
  const before = readdirSync(ws.dir).sort();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  // Alternate baseline and danehook so load drift hits both alike (FACTS: ratios, never absolute times).
  const time = (args: string[]) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, code: r.status, stderr: r.stderr };
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < 15; i++) {
    base.push(time(['-e', '0']).ms);
    const r = time([CLI, 'post-deploy', '-c', config]);
    assert.equal(r.code, 0, r.stderr);
    ours.push(r.ms);
  }
  assert.ok(!existsSync(cfg.stateDir), 'no state directory created');
  assert.deepEqual(readdirSync(ws.dir).sort(), before, 'nothing created beside it');
  // Each run against the baseline run just before it (same load), then the median of those ratios.
  const ratio = median(ours.map((ms, i) => ms / base[i]!));
  reportFigures(`fast path without state dir: ${median(ours).toFixed(1)} ms vs node -e 0 ${median(base).toFixed(1)} ms (${ratio.toFixed(2)}×)`);
  // Deterministic: the run says it took the fast path (debug line, -v).
  const verbose = spawnSync(process.execPath, [CLI, 'post-deploy', '-v', '-c', config], { env, encoding: 'utf8' });
  assert.equal(verbose.status, 0, verbose.stderr);
  assert.match(verbose.stderr, /nothing is due \(fast path\)/);
  // A full post-deploy (zod, cosmiconfig, state store, DNS code) costs ~7× here; the fast path
  // ~1.2–1.8× on a quiet machine, up to ~2.7× with the other test slot busy: 4× still tells them apart.
  assert.ok(ratio <= 4, `post-deploy took ${ratio.toFixed(2)}× node -e 0 (${median(ours).toFixed(1)} vs ${median(base).toFixed(1)} ms)`);
});

test('a TLSA TTL below 60 s is warned about, naming the TTL; 60 s is not', async () => {
  const leaf = makeLeaf(ca, ['mx.example.com']);
  const plan = async (ttl: number) => {
    const cfg = baseConfig(ws);
    cfg.dns.ttl = ttl;
    const r = await runCli(['plan', '--offline', '-c', ws.writeConfig(cfg), '--pem', leaf.combinedPath]);
    assert.equal(r.code, 0, r.stderr);
    return r.stderr.split('\n').filter((l) => /warning/i.test(l) && /ttl/i.test(l));
  };
  const low = await plan(30);
  assert.equal(low.length, 1, `one TTL warning for 30 s, got:\n${low.join('\n')}`);
  assert.match(low[0]!, /\b30\s*s?\b/, 'the warning names the TTL');
  assert.deepEqual(await plan(60), [], 'no TTL warning at 60 s');
});
