// A misbehaving DNS server in front of real BIND while deploying: SERVFAIL → 76, REFUSED → 77,
// garbage → 76, a cut-short TCP reply → 76, silence → 69. Each time the rollover stays staged, no
// record reaches the zone (except the cut reply, which came after the write), and once the server
// behaves the next run converges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { startFaultyDns, type FaultMode } from '../harness/faulty-dns.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir } from '../harness/certs.js';
import { makeWorkspace, runCli } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';

const CASES: [FaultMode, number][] = [['servfail', 76], ['refused', 77], ['garbage', 76], ['truncated', 76], ['silent', 69]];

test('faulty DNS server during deploy: documented exit codes, no write, recovery', { timeout: 150_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: 1 });
  const proxy = await startFaultyDns(bind.primary);
  const ws = makeWorkspace();
  const ca = makeCa('Faulty DNS Root');
  t.after(async () => { await proxy.close(); ws.remove(); removeCertDir(ca); });
  const fullchain = join(ws.dir, 'fullchain.pem');
  const live = makeLeaf(ca, ['mx.example.test']);
  copyFileSync(live.fullchainPath, fullchain);
  const config = ws.writeConfig({
    stateDir: ws.stateDir,
    dns: { server: `127.0.0.1:${proxy.endpoint.port}`, tsig: { name: 'danehook-key', keyFile: bind.keyFilePath }, nameservers: [`127.0.0.1:${bind.primary.port}`], ttl: 1, timeout: '500ms' },
    certificates: [{ nextKey: { mode: 'off' }, id: 'mx', domains: ['mx.example.test'], ports: [25], install: { fullchain }, reload: ['true'], probe: { protocol: 'none' }, live: fullchain }],
  });
  for (const [mode, code] of CASES) {
    const leaf = makeLeaf(ca, ['mx.example.test']);
    const serial = await bind.serial();
    proxy.mode = mode;
    const d = await runCli(['deploy', '-c', config, '--pem', leaf.combinedPath], { timeoutMs: 60_000 });
    assert.equal(d.code, code, `${mode}: ${d.stderr}`);
    assert.equal(d.stderr.split('\n').filter((l) => l.includes(' error: ')).length, 1, `${mode}: one error line\n${d.stderr}`);
    assert.ok(proxy.seen[mode] > 0, `${mode}: the proxy was asked`);
    // A reply cut short after the server applied the UPDATE: danehook cannot know it applied, so it
    // reports the error and keeps the rollover staged; the rerun finds the records and converges.
    if (mode !== 'truncated') assert.equal(await bind.serial(), serial, `${mode}: nothing reached the zone`);
    const status = JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout);
    assert.equal(status.certificates[0].rollovers.at(-1).phase, 'staged', `${mode}: staged, retried later`);
    assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(status.certificates[0].live ? fullchain : live.fullchainPath, 'utf8'));
    proxy.mode = 'pass';
    const w = await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 60_000 });
    assert.equal(w.code, 0, `${mode} recovery: ${w.stderr}`);
    assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(leaf.fullchainPath, 'utf8'), `${mode}: converged to the new certificate`);
    assert.deepEqual(await readTlsa(bind.primary, '_25._tcp.mx.example.test.'), [`3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`]);
  }
});
