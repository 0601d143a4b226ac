// `danehook pre-deploy` against real BIND: exit 0 with the right key, 77 with a wrong secret or
// key name, 69 with the server stopped, 74 with an unwritable state dir — and the zone's SOA
// serial (read with dig) unchanged by every one of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { querySerial } from '../harness/dns.js';
import { makeWorkspace, runCli } from '../harness/cli.js';

test('pre-deploy: right key 0, wrong key 77, server down 69; serial unchanged', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: 2, secondary: true });
  const ws = makeWorkspace();
  t.after(() => ws.remove());
  const wrongSecret = join(ws.dir, 'wrong.secret');
  writeFileSync(wrongSecret, Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 });
  const config = (tsig: object, extra: object = {}) =>
    ws.writeConfig({
      stateDir: ws.stateDir,
      dns: {
        server: `127.0.0.1:${bind.primary.port}`, tsig,
        nameservers: [`127.0.0.1:${bind.primary.port}`, `127.0.0.1:${bind.secondary!.port}`], timeout: '1s',
      },
      certificates: [{ nextKey: { mode: 'off' }, id: 'mx', domains: ['mx.example.test'], ports: [25] }],
      ...extra,
    });
  const serial = await querySerial(bind.primary, bind.zone);

  const ok = await runCli(['pre-deploy', '-c', config({ name: 'danehook-key', keyFile: bind.keyFilePath })]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /ok: TSIG key "danehook-key" at 127\.0\.0\.1:\d+ may write zone example\.test\./);
  assert.equal((ok.stderr.match(/ok: 127\.0\.0\.1:\d+ answers for example\.test\./g) ?? []).length, 2, 'both servers answer');

  const badSecret = await runCli(['pre-deploy', '-c', config({ name: 'danehook-key', secretFile: wrongSecret, algorithm: bind.key.algorithm })]);
  assert.equal(badSecret.code, 77, badSecret.stderr);
  assert.match(badSecret.stderr, /BADSIG/);

  const badName = await runCli(['pre-deploy', '-c', config({ name: 'other-key', secretFile: bind.secretFilePath, algorithm: bind.key.algorithm })]);
  assert.equal(badName.code, 77, badName.stderr);
  assert.match(badName.stderr, /BADKEY|NOTAUTH|REFUSED/);

  const noState = join(ws.dir, 'ro');
  mkdirSync(noState);
  writeFileSync(join(noState, 'state'), 'a file where the state dir should be');
  const io = await runCli(['pre-deploy', '-c', config({ name: 'danehook-key', keyFile: bind.keyFilePath }, { stateDir: join(noState, 'state') })]);
  assert.equal(io.code, 74, io.stderr);
  chmodSync(noState, 0o755);

  assert.equal(await querySerial(bind.primary, bind.zone), serial, 'pre-deploy never changes the zone');
  await bind.stop();
  const down = await runCli(['pre-deploy', '-c', config({ name: 'danehook-key', keyFile: bind.keyFilePath })]);
  assert.equal(down.code, 69, down.stderr);
  assert.match(down.stderr, /127\.0\.0\.1:\d+/);
});
