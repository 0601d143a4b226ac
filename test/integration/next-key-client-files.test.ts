// The client's next-key file as it really is at hook time (NEXT-KEY-FACTS.md), against real BIND:
// dehydrated without PRIVATE_KEY_ROLLOVER has no privkey.roll.pem (the adapter names it anyway) →
// no next key, no warning, a hint how to enable it; acme.sh's .next caught mid-rewrite (one "\n")
// → a warning, no next key, and the renewal itself still goes through (exit 0). Control: a real
// roll key beside KEYFILE is announced (dig shows its 3 1 1, hashed by openssl).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, opensslKeySpkiSha256, removeCertDir, type CertFiles } from '../harness/certs.js';
import { bindConfig, makeWorkspace, runCli } from '../harness/cli.js';
import { readTlsa } from '../harness/dane-check.js';
import { entryStatus } from '../harness/steps.js';

const OWNER = '_25._tcp.mx.example.test.';

async function rig(t: Parameters<typeof startBind>[0]) {
  const bind = await startBind(t, { zone: 'example.test', ttl: 2 });
  const ws = makeWorkspace();
  const ca = makeCa('Client Files Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const config = ws.writeConfig(bindConfig(ws, bind, {
    nextKey: { mode: 'auto' }, install: { fullchain: join(ws.dir, 'fullchain.pem'), key: join(ws.dir, 'key.pem') },
    live: 'none', probe: { protocol: 'none' }, reload: ['true'],
  }, { ttl: 2 }));
  return { bind, ws, ca, config };
}

/** dehydrated's certs/<domain>/ layout for one leaf; returns the deploy_cert argv. */
function dehydratedDir(dir: string, leaf: CertFiles): string[] {
  mkdirSync(dir, { recursive: true });
  copyFileSync(leaf.keyPath, join(dir, 'privkey.pem'));
  copyFileSync(leaf.certPath, join(dir, 'cert.pem'));
  copyFileSync(leaf.fullchainPath, join(dir, 'fullchain.pem'));
  copyFileSync(leaf.fullchainPath, join(dir, 'chain.pem'));
  return ['deploy_cert', 'mx.example.test', ...['privkey', 'cert', 'fullchain', 'chain'].map((f) => join(dir, `${f}.pem`)), '1700000000'];
}

test('dehydrated without PRIVATE_KEY_ROLLOVER: no roll key file → no next key, no warning; with one → announced (control)', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const { bind, ws, ca, config } = await rig(t);
  const a = makeLeaf(ca, ['mx.example.test']);
  const d1 = await runCli(['deploy', '-c', config, ...dehydratedDir(join(ws.dir, 'certs-a'), a)]);
  assert.equal(d1.code, 0, d1.stderr);
  assert.doesNotMatch(d1.stderr, /next key cannot be used|warning: .*next key/i, 'an absent roll key is no problem');
  assert.match(d1.stderr, /PRIVATE_KEY_ROLLOVER=yes/, 'the log says how to enable it');
  assert.equal((await entryStatus(config) as any).next, null);

  // Control: the same deploy with privkey.roll.pem beside KEYFILE announces that key.
  const b = makeLeaf(ca, ['mx.example.test']);
  const roll = makeLeaf(ca, ['mx.example.test']).keyPath;
  const args = dehydratedDir(join(ws.dir, 'certs-b'), b);
  copyFileSync(roll, join(ws.dir, 'certs-b', 'privkey.roll.pem'));
  const d2 = await runCli(['deploy', '-c', config, ...args]);
  assert.equal(d2.code, 0, d2.stderr);
  const st = await entryStatus(config) as any;
  assert.equal(st.next?.spki, opensslKeySpkiSha256(roll));
  assert.equal(st.next.source, 'dehydrated');
  assert.ok((await readTlsa(bind.primary, OWNER)).includes(`3 1 1 ${opensslKeySpkiSha256(roll)}`), 'dig: the roll key\'s record is published');
});

test('acme.sh .next caught mid-rewrite (a lone newline): a warning, no next key, the renewal still published', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const { bind, ws, ca, config } = await rig(t);
  const a = makeLeaf(ca, ['mx.example.test']);
  const next = join(ws.dir, 'mx.example.test.key.next');
  writeFileSync(next, '\n'); // acme.sh: `echo "" > .next` right after using it, before the new key is written
  const env = { CERT_PATH: a.certPath, CERT_KEY_PATH: a.keyPath, CERT_FULLCHAIN_PATH: a.fullchainPath, Le_Domain: 'mx.example.test', Le_ForceNewDomainKey: '1', Le_Next_Domain_Key: next };
  const d = await runCli(['deploy', '-c', config], { env });
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /warning: "mx": the client's next key cannot be used/);
  assert.equal((await entryStatus(config) as any).next, null);
  assert.deepEqual(await readTlsa(bind.primary, OWNER), [`3 1 1 ${opensslAssociation(a.certPath, 1, 1)}`], 'dig: the renewal\'s own record is published');
});
