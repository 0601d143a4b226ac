// The TSIG secret never leaves its file or variable: not in any process's argv (/proc/*/cmdline,
// sampled during the run), logs, --json output, state, events or error messages — checked by
// searching everything a full rollover and a failing run produce, in base64 and hex.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, removeCertDir } from '../harness/certs.js';
import { makeWorkspace, runCli, type CliResult } from '../harness/cli.js';
import { listFilesUnder } from '../harness/tempdir.js';

function sampleCmdlines(into: Set<string>): () => void {
  const timer = setInterval(() => {
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        into.add(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
      } catch {
        /* gone */
      }
    }
  }, 20);
  return () => clearInterval(timer);
}

for (const source of ['keyFile', 'env'] as const) {
  test(`the TSIG secret (${source}) appears nowhere a run leaves traces`, { timeout: 90_000 }, async (t) => {
    if (!requireBinaries(t, ['named', 'dig'])) return;
    const bind = await startBind(t, { zone: 'example.test', ttl: 1 });
    const ws = makeWorkspace();
    const ca = makeCa(`Secret Root ${source}`);
    t.after(() => { ws.remove(); removeCertDir(ca); });
    const secret = bind.key.secret;
    const needles = [secret, Buffer.from(secret, 'base64').toString('hex'), secret.slice(0, 16)];
    const tsig = source === 'keyFile' ? { name: 'danehook-key', keyFile: bind.keyFilePath } : { name: 'danehook-key', algorithm: bind.key.algorithm };
    const env = source === 'env' ? { DANEHOOK_TSIG_SECRET: secret } : undefined;
    const fullchain = join(ws.dir, 'fullchain.pem');
    const config = ws.writeConfig({
      stateDir: ws.stateDir,
      dns: { server: `127.0.0.1:${bind.primary.port}`, tsig, nameservers: [`127.0.0.1:${bind.primary.port}`], ttl: 1, timeout: '1s' },
      certificates: [{ nextKey: { mode: 'off' }, id: 'mx', domains: ['mx.example.test'], ports: [25], install: { fullchain }, reload: ['true'], probe: { protocol: 'none' }, live: 'none' }],
    });
    const leaf = makeLeaf(ca, ['mx.example.test']);
    const cmdlines = new Set<string>();
    const stop = sampleCmdlines(cmdlines);
    const outputs: CliResult[] = [];
    try {
      outputs.push(await runCli(['pre-deploy', '-v', '-c', config], { env }));
      outputs.push(await runCli(['deploy', '--wait', '-v', '-c', config, '--pem', leaf.combinedPath], { env }));
      outputs.push(await runCli(['status', '--json', '-v', '-c', config], { env }));
      outputs.push(await runCli(['plan', '--json', '-v', '-c', config, '--pem', leaf.combinedPath], { env }));
      // A failing run: the server rejects a wrong secret; its error message must not echo ours.
      const wrong = join(ws.dir, 'wrong.secret');
      writeFileSync(wrong, Buffer.alloc(32, 3).toString('base64'), { mode: 0o600 });
      const bad = JSON.parse(readFileSync(config, 'utf8'));
      bad.dns.tsig = { name: 'danehook-key', secretFile: wrong, algorithm: bind.key.algorithm };
      outputs.push(await runCli(['pre-deploy', '-v', '-c', ws.writeConfig(bad)]));
    } finally {
      stop();
    }
    assert.equal(outputs[1]!.code, 0, outputs[1]!.stderr);
    assert.equal(outputs[4]!.code, 77, 'the wrong secret was really rejected');
    const haystacks: [string, string][] = [
      ...outputs.flatMap((o, i): [string, string][] => [[`run ${i} stdout`, o.stdout], [`run ${i} stderr`, o.stderr]]),
      ...listFilesUnder(ws.stateDir).map(({ path }): [string, string] => [path, readFileSync(path, 'latin1')]),
      ...[...cmdlines].map((c): [string, string] => ['a process command line', c]),
    ];
    assert.ok(haystacks.length > 10, 'there is something to search');
    assert.ok(cmdlines.size > 3, 'command lines were sampled');
    for (const [where, text] of haystacks) for (const n of needles) assert.ok(!text.includes(n), `secret found in ${where}`);
  });
}
