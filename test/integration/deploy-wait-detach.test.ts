// `deploy --wait` and `deploy --detach` against real BIND (TTL 2 s): activation lands no earlier
// than last server served + 2 × TTL and at most ~1 s (+ reload) later; --detach returns at once
// with no output pipe held open (lego waits for the hook's pipes to close).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { waitFor } from '../harness/process.js';
import { makeCa, makeLeaf, removeCertDir } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';

interface Ev { at: string; phase?: string; propagatedAt?: string; activateAfter?: string }
const events = (dir: string): Ev[] => (existsSync(join(dir, 'events.jsonl')) ? readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);

for (const mode of ['--wait', '--detach'] as const) {
  test(`deploy ${mode}: activation within 1 s of the deadline`, { timeout: 90_000 }, async (t) => {
    if (!requireBinaries(t, ['named', 'dig'])) return;
    const bind = await startBind(t, { zone: 'example.test', ttl: 2, secondary: true });
    const ws = makeWorkspace();
    const ca = makeCa(`Wait Root ${mode}`);
    t.after(() => { ws.remove(); removeCertDir(ca); });
    const [a, b, c] = [1, 2, 3].map(() => makeLeaf(ca, ['mx.example.test']));
    const fullchain = join(ws.dir, 'fullchain.pem');
    copyFileSync(a!.fullchainPath, fullchain);
    const config = ws.writeConfig(bindConfig(ws, bind, { install: { fullchain, key: join(ws.dir, 'key.pem') }, reload: ['true'], probe: { protocol: 'none' }, live: fullchain }));
    // First rollover (no RRset before) brings B live with its records; the second one must wait 2 × TTL.
    assert.equal((await runCli(['deploy', '--wait', '-c', config, '--pem', b!.combinedPath])).code, 0);
    assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(b!.fullchainPath, 'utf8'));

    const started = Date.now();
    const r = await runCli(['deploy', mode, '-c', config, '--pem', c!.combinedPath], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    if (mode === '--detach') {
      assert.ok(Date.now() - started < 5000, `--detach returned after ${Date.now() - started} ms`);
      assert.ok(await waitFor(() => readFileSync(fullchain, 'utf8') === readFileSync(c!.fullchainPath, 'utf8'), 30_000), 'the background run activated C');
      assert.ok(await waitFor(() => events(ws.stateDir).some((e) => e.phase === 'cleaned' && e.at > new Date(started).toISOString()), 15_000), 'and cleaned up');
    }
    assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(c!.fullchainPath, 'utf8'));
    const ev = events(ws.stateDir);
    const propagated = ev.filter((e) => e.phase === 'propagated').at(-1)!;
    const activated = ev.filter((e) => e.phase === 'activated').at(-1)!;
    // The deadline is at least 2 × TTL after propagation (plus the configured margin, tested elsewhere).
    const due = Date.parse(propagated.activateAfter!);
    assert.ok(due >= Date.parse(propagated.propagatedAt!) + 2 * 2 * 1000, `deadline ${propagated.activateAfter} < propagated + 2 × TTL`);
    const late = Date.parse(activated.at) - due;
    assert.ok(late >= 0 && late <= 1000, `activation ${late} ms after the deadline`);
  });
}
