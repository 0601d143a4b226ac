// `plan` shows the changes against the primary; `--dry-run` prints the plan and the steps and
// writes nothing (zone serial, state dir, installed files unchanged); `status` reports records in
// DNS that no certificate explains, and they stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { nsupdate } from '../harness/dns.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';

const OWNER = '_25._tcp.mx.example.test.';
const FOREIGN = `3 1 1 ${'ab'.repeat(32)}`;

test('dry runs write nothing; foreign records are reported and kept', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'nsupdate'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: 1, secondary: true });
  const ws = makeWorkspace();
  const ca = makeCa('Dry Run Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const [a, b] = [1, 2].map(() => makeLeaf(ca, ['mx.example.test']));
  const fullchain = join(ws.dir, 'fullchain.pem');
  copyFileSync(a!.fullchainPath, fullchain);
  const config = ws.writeConfig(bindConfig(ws, bind, { install: { fullchain }, reload: ['true'], probe: { protocol: 'none' }, live: fullchain }, { ttl: 1 }));
  // Someone else's record at our name: danehook must report it and never delete it.
  assert.equal((await nsupdate(bind.primary, bind.zone, bind.keyFilePath, [`update add ${OWNER} 1 TLSA ${FOREIGN}`])).code, 0);
  await bind.waitForSecondarySync();
  const serial = await bind.serial();

  // plan, online: the records and the changes against what the primary serves now.
  const plan = JSON.parse((await runCli(['plan', '--json', '-c', config, '--pem', b!.combinedPath])).stdout);
  const bTlsa = `3 1 1 ${opensslAssociation(b!.certPath, 1, 1)}`;
  assert.deepEqual(plan.changes, [{ op: 'create', name: OWNER, ttl: 1, tlsa: bTlsa }], 'the existing RRset TTL is kept');
  assert.deepEqual(plan.records, [{ name: OWNER, ttl: 1, tlsa: bTlsa }]);

  const dry = await runCli(['deploy', '--dry-run', '-c', config, '--pem', b!.combinedPath]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /dry run: would publish 2 record\(s\) for "mx"/);
  assert.ok(dry.stderr.includes(opensslAssociation(b!.certPath, 1, 1)), 'the plan names the new record');
  assert.equal(await bind.serial(), serial, 'no DNS write');
  assert.equal(existsSync(ws.stateDir), false, 'no state dir created');
  assert.equal(readFileSync(fullchain, 'utf8'), readFileSync(a!.fullchainPath, 'utf8'));

  assert.equal((await runCli(['deploy', '-c', config, '--pem', b!.combinedPath])).code, 0);
  const serialAfterDeploy = await bind.serial();
  assert.deepEqual(JSON.parse((await runCli(['plan', '--json', '-c', config, '--pem', b!.combinedPath])).stdout).changes, [], 'nothing left to add');
  const stateText = readFileSync(join(ws.stateDir, 'state.json'), 'utf8');
  const dryPost = await runCli(['post-deploy', '--dry-run', '-c', config]);
  assert.equal(dryPost.code, 0, dryPost.stderr);
  assert.equal(readFileSync(join(ws.stateDir, 'state.json'), 'utf8'), stateText, 'state unchanged by post-deploy --dry-run');
  assert.equal(existsSync(join(ws.stateDir, 'config.validated')), false, 'not even the config stamp');
  assert.equal(await bind.serial(), serialAfterDeploy);

  const status = JSON.parse((await runCli(['status', '--json', '-c', config])).stdout);
  assert.deepEqual(status.certificates[0].foreignRecords, [{ name: OWNER, ttl: 1, tlsa: FOREIGN }]);
  assert.equal((await runCli(['post-deploy', '--wait', '-c', config], { timeoutMs: 30_000 })).code, 0);
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [FOREIGN, `3 1 1 ${opensslAssociation(b!.certPath, 1, 1)}`].sort(), 'A gone, the foreign record kept');
  const text = await runCli(['status', '-c', config]);
  assert.match(text.stdout, /not ours \(kept\): _25\._tcp\.mx\.example\.test\. TLSA 3 1 1 abab/);
});
