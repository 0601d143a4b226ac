// A full rollover against real BIND (primary + secondary, TTL 2 s): first run publishes live + new,
// activation waits for the lagging secondary and for delayFactor × TTL, cleanup leaves only the new
// certificate's records. DNS is read back with dig, TLSA data computed by openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { dig, tlsaOf } from '../harness/dns.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';

const OWNER = '_25._tcp.mx.example.test.';

interface Event { at: string; event: string; phase?: string; op?: string; propagatedAt?: string; activateAfter?: string }
const readEvents = (dir: string): Event[] => readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('rollover against BIND primary + secondary', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: 2, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Rollover Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const inter = makeIntermediate(ca, 'Rollover Intermediate');
  const [a, b, c] = [1, 2, 3].map(() => makeLeaf(inter, ['mx.example.test']));
  const tlsa = (leaf: { certPath: string }) => `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`;
  const fullchain = join(ws.dir, 'installed-fullchain.pem');
  const key = join(ws.dir, 'installed-key.pem');
  const reloadLog = join(ws.dir, 'reloads.log');
  copyFileSync(a!.fullchainPath, fullchain);
  copyFileSync(a!.keyPath, key);
  const config = ws.writeConfig(bindConfig(ws, bind, {
    install: { fullchain, key },
    reload: ['sh', '-c', `date +%s.%N >> ${reloadLog}`],
    probe: { protocol: 'none' }, live: fullchain,
  }, { rollover: { propagationTimeout: '60s', margin: '1s' } }));
  const served = async (server: { host: string; port: number }) => tlsaOf(await dig(server, OWNER, 'TLSA')).map((x) => x.toLowerCase()).sort();

  // 1. First run: live certificate A has no TLSA yet; deploying B publishes both.
  const t0 = Date.now();
  const d1 = await runCli(['deploy', '-c', config, '--pem', b!.combinedPath]);
  assert.equal(d1.code, 0, d1.stderr);
  assert.ok(Date.now() - t0 < 5000, 'deploy returns within seconds');
  assert.deepEqual(await served(bind.primary), [tlsa(a!), tlsa(b!)].sort(), 'live and new records side by side');
  // No RRset existed: activation may follow propagation at once.
  const w1 = await runCli(['post-deploy', '--wait', '-c', config]);
  assert.equal(w1.code, 0, w1.stderr);
  assert.match(w1.stderr, /no TLSA RRset existed before/);
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(b!.fullchainPath, 'utf8'), 'B installed');
  assert.deepEqual(await served(bind.primary), [tlsa(b!)], 'A records cleaned up');
  assert.ok(await bind.waitForSecondarySync());
  assert.deepEqual(await served(bind.secondary!), [tlsa(b!)]);

  // 2. Second rollover with the secondary held back: activation must wait for it.
  await bind.holdSecondary();
  const d2 = await runCli(['deploy', '-c', config, '--pem', c!.combinedPath]);
  assert.equal(d2.code, 0, d2.stderr);
  for (let i = 0; i < 3; i++) {
    const p = await runCli(['post-deploy', '-c', config]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /waiting for example\.test\.@127\.0\.0\.1:\d+ to serve the new records/);
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(b!.fullchainPath, 'utf8'), 'still B while the secondary lags');
  const status = JSON.parse((await runCli(['status', '--json', '-c', config])).stdout);
  assert.equal(status.certificates[0].rollovers.at(-1).phase, 'published');
  await bind.releaseSecondary();
  const w2 = await runCli(['post-deploy', '--wait', '-c', config]);
  assert.equal(w2.code, 0, w2.stderr);
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(c!.fullchainPath, 'utf8'), 'C installed');
  assert.deepEqual(await served(bind.primary), [tlsa(c!)]);

  // The event log: activation no earlier than last server served + 2 × TTL + margin (1 s here), and no more than 1 s + reload later.
  const events = readEvents(ws.stateDir);
  const propagated = events.filter((e) => e.phase === 'propagated').at(-1)!;
  const activated = events.filter((e) => e.phase === 'activated').at(-1)!;
  const due = Date.parse(propagated.propagatedAt!) + 2 * 2 * 1000 + 1000;
  assert.equal(Date.parse(propagated.activateAfter!), due);
  const late = Date.parse(activated.at) - due;
  assert.ok(late >= 0, `activated ${late} ms before the deadline`);
  assert.ok(late < 1500, `activated ${late} ms after the deadline`);
  const reloads = readFileSync(reloadLog, 'utf8').trim().split('\n').map((l) => Number(l) * 1000);
  assert.ok(reloads.at(-1)! >= due, 'reload ran after the deadline');

  // 3. Deploying the live certificate again is a quick no-op.
  const again = await runCli(['deploy', '-c', config, '--pem', c!.combinedPath]);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /already live; nothing to do/);
  writeFileSync(join(ws.dir, 'done'), '');
});
