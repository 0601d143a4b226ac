// The whole rollover (first run with a live certificate, then a renewal that waits 2 × TTL) against
// real Knot DNS and real PowerDNS, each with a secondary and a TLSA-only update policy; DNS is
// read back with dig at both servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startKnot } from '../harness/knot.js';
import { startPowerDns } from '../harness/pdns.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';

const OWNER = '_25._tcp.mx.example.test.';
const SERVERS = [
  { name: 'Knot DNS', bins: ['knotd', 'knotc', 'dig'], start: startKnot },
  { name: 'PowerDNS', bins: ['pdns_server', 'pdnsutil', 'sqlite3', 'dig'], start: startPowerDns },
] as const;

for (const server of SERVERS) {
  test(`full rollover against ${server.name} primary + secondary`, { timeout: 90_000 }, async (t) => {
    if (!requireBinaries(t, [...server.bins])) return;
    const dns = await server.start(t, { zone: 'example.test', ttl: 1, secondary: true });
    const ws = makeWorkspace();
    const ca = makeCa(`${server.name} Root`);
    t.after(() => { ws.remove(); removeCertDir(ca); });
    const [a, b, c] = [1, 2, 3].map(() => makeLeaf(ca, ['mx.example.test']));
    const tlsa = (leaf: typeof a) => `3 1 1 ${opensslAssociation(leaf!.certPath, 1, 1)}`;
    const fullchain = join(ws.dir, 'fullchain.pem');
    copyFileSync(a!.fullchainPath, fullchain);
    const config = ws.writeConfig(bindConfig(ws, dns, { install: { fullchain }, reload: ['true'], probe: { protocol: 'none' }, live: fullchain }, { ttl: 1 }));

    const first = await runCli(['deploy', '-c', config, '--pem', b!.combinedPath]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(await readTlsa(dns.primary, OWNER), [tlsa(a), tlsa(b)].sort(), 'live and new side by side');
    const w1 = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
    assert.equal(w1.code, 0, w1.stderr);
    assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(b!.fullchainPath, 'utf8'));

    const w2 = await runCli(['deploy', '--wait', '-c', config, '--pem', c!.combinedPath], { timeoutMs: 60_000 });
    assert.equal(w2.code, 0, w2.stderr);
    assert.match(w2.stderr, /2 × TTL 1s \+ margin \d+(\.\d+)?s after the last server/);
    assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(c!.fullchainPath, 'utf8'));
    for (const ep of [dns.primary, dns.secondary!]) {
      assert.ok(await (async () => {
        for (let i = 0; i < 50; i++) {
          if (JSON.stringify(await readTlsa(ep, OWNER)) === JSON.stringify([tlsa(c)])) return true;
          await new Promise((r) => setTimeout(r, 100));
        }
        return false;
      })(), `${server.name} ${ep.port} serves only C's record`);
    }
  });
}
