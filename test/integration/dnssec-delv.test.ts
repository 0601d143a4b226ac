// A record published by `danehook deploy` into an inline-signed BIND zone reaches the secondary by
// NOTIFY/IXFR and validates with delv from the zone's trust anchor (issue 3's proof of the wire).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBinaries, binaryPath } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir } from '../harness/certs.js';
import { makeWorkspace, runCli } from '../harness/cli.js';
import { waitFor } from '../harness/process.js';

const run = promisify(execFile);

test('danehook-published TLSA is on the secondary and validates with delv', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'delv'])) return;
  const bind = await startBind(t, { zone: 'signed.test', ttl: 60, inlineSigned: true, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('DNSSEC Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const leaf = makeLeaf(ca, ['mx.signed.test']);
  const config = ws.writeConfig({
    stateDir: ws.stateDir,
    dns: { server: `127.0.0.1:${bind.primary.port}`, tsig: { name: 'danehook-key', keyFile: bind.keyFilePath }, nameservers: [`127.0.0.1:${bind.primary.port}`], timeout: '2s' },
    certificates: [{ nextKey: { mode: 'off' }, id: 'mx', domains: ['mx.signed.test'], ports: [25], probe: { protocol: 'none' }, live: 'none' }],
  });
  const d = await runCli(['deploy', '-c', config, '--pem', leaf.combinedPath]);
  assert.equal(d.code, 0, d.stderr);
  const want = `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`;
  const owner = '_25._tcp.mx.signed.test';
  const anchor = await bind.trustAnchorFile();
  const delv = async (server: { host: string; port: number }) =>
    (await run(binaryPath('delv'), ['-a', anchor, '+root=signed.test', `@${server.host}`, '-p', String(server.port), owner, 'TLSA']).catch((e) => ({ stdout: String(e.stdout) }))).stdout;
  for (const server of [bind.primary, bind.secondary!]) {
    assert.ok(await waitFor(async () => /; fully validated/.test(await delv(server)), 20_000), `delv validates at ${server.port}`);
    // delv prints the hex in groups; compare without whitespace.
    const out = (await delv(server)).toLowerCase().replace(/\s+/g, '');
    assert.ok(out.includes(`intlsa${want.replace(/\s+/g, '')}`), out);
  }
});
