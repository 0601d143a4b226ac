// DKIM rotation on the shared core, against real BIND (primary + secondary, TXT TTL 2 s) with a
// custom signer (a script that records what it was told): the timer publishes a new selector,
// switches the signer only after every server served it for 2 × TTL + margin, keeps the old
// selector `retain`, then deletes (or revokes) it. Known answers from dig and openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { makeWorkspace, runCli } from '../harness/cli.js';
import { dig, rdataOf } from '../harness/dns.js';
import { reportFigures } from '../harness/figures.js';
import { sleep } from '../harness/steps.js';

const TTL = 2;

async function rig(t: Parameters<typeof startBind>[0], dkim: Record<string, unknown> = {}) {
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true, updatePolicy: 'grant danehook-key zonesub TLSA TXT;' });
  const ws = makeWorkspace();
  t.after(() => ws.remove());
  const keyDir = join(ws.dir, 'keys');
  mkdirSync(keyDir, { mode: 0o700 });
  const calls = join(ws.dir, 'signer.log');
  const signer = join(ws.dir, 'signer.sh');
  writeFileSync(signer, `#!/bin/sh\necho "$(date +%s%3N) $DANEHOOK_DKIM_SELECTOR $DANEHOOK_DKIM_KEY_FILE \${DANEHOOK_DKIM_PREVIOUS_SELECTOR:-none}" >> ${calls}\n`);
  chmodSync(signer, 0o755);
  const servers = [bind.primary, bind.secondary!].map((s) => `127.0.0.1:${s.port}`);
  const config = ws.writeConfig({
    stateDir: ws.stateDir,
    dns: { server: servers[0], tsig: { name: 'danehook-key', keyFile: bind.keyFilePath }, nameservers: servers, ttl: TTL, timeout: '2s' },
    rollover: { delayFactor: 2, margin: '1s', propagationTimeout: '60s' },
    dkim: [{ id: 'mail', domain: 'example.test', selector: '{id}-{yyyy}{mm}{dd}', keyType: 'rsa-2048', every: '1h', retain: '3s', signer: { preset: 'custom', activate: [signer], keyDir }, ...dkim }],
  });
  /** The TXT value each server serves at `name`, joined (dig +short prints the strings quoted). */
  const txt = async (name: string) => {
    const out = await Promise.all([bind.primary, bind.secondary!].map(async (ep) => rdataOf(await dig(ep, name, 'TXT'), 'TXT').map((a) => a.replace(/"\s+"/g, '').replace(/^"|"$/g, ''))));
    assert.deepEqual(out[1], out[0], `both servers agree on ${name}`);
    return out[0]!;
  };
  const status = async () => JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout).dkim[0];
  const calledSigner = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').map((l) => l.split(' ')) : []);
  return { bind, ws, config, keyDir, txt, status, calledSigner };
}

async function timerUntil(config: string, done: () => Promise<boolean>, maxRuns = 40): Promise<void> {
  for (let i = 0; i < maxRuns; i++) {
    if (await done()) return;
    const p = await runCli(['post-deploy', '-c', config]);
    assert.equal(p.code, 0, p.stderr);
    await sleep(300);
  }
  assert.fail('the timer never got there');
}

test('DKIM: the timer publishes a selector, switches the signer after 2 × TTL + margin, retires the old one after retain', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const { config, txt, status, calledSigner, keyDir, ws } = await rig(t);
  // plan and --dry-run first: they say what would happen and write nothing (no DNS, no state).
  const plan = await runCli(['plan', '--json', '--id', 'mail', '-c', config]);
  assert.equal(plan.code, 0, plan.stderr);
  const planned = JSON.parse(plan.stdout);
  assert.equal(planned.due, true);
  const dry = await runCli(['post-deploy', '--dry-run', '-c', config]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /dry run: would publish 1 record/);
  assert.deepEqual(await txt(planned.next.owner), [], 'the dry run published nothing');
  assert.equal(existsSync(join(ws.stateDir, 'state.json')), false, 'the dry run wrote no state');
  // The first timer run starts the first rotation (no key managed yet) and publishes it.
  const p1 = await runCli(['post-deploy', '-c', config]);
  assert.equal(p1.code, 0, p1.stderr);
  let st = await status();
  const sel1 = st.rollovers[0].selector as string;
  assert.match(sel1, /^mail-\d{8}$/);
  assert.equal(sel1, planned.next.selector, 'the selector plan announced');
  assert.equal(calledSigner().length, 0, 'the signer is not switched before the wait');
  await timerUntil(config, async () => (await status()).rollovers[0].phase === 'cleaned' || (await status()).rollovers[0].phase === 'activated');
  st = await status();
  const r1 = st.rollovers[0];
  const switched = Number(calledSigner()[0]![0]);
  assert.ok(switched >= Date.parse(r1.propagatedAt) + 2 * TTL * 1000 + 1000, `the signer switched ${switched - Date.parse(r1.propagatedAt)} ms after every server served the selector (≥ 5000)`);
  const keyFile = calledSigner()[0]![2]!;
  assert.equal(keyFile, join(keyDir, `${sel1}.private`));
  assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'private key 0600');
  // Known answer: openssl's public key of the installed private key is what DNS serves as p=.
  const pub = execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout', '-outform', 'DER']).toString('base64');
  assert.deepEqual(await txt(`${sel1}._domainkey.example.test`), [`v=DKIM1; k=rsa; p=${pub}`]);

  // A second rotation now: new selector (suffix: same day), the old one retired only after retain.
  const rot = await runCli(['dkim', 'rotate', '--id', 'mail', '-c', config]);
  assert.equal(rot.code, 0, rot.stderr);
  st = await status();
  const sel2 = st.rollovers.at(-1).selector as string;
  assert.equal(sel2, `${sel1}-2`);
  await timerUntil(config, async () => (await status()).rollovers.at(-1).phase === 'activated');
  const activatedAt = Date.parse((await status()).rollovers.at(-1).activatedAt);
  assert.equal(calledSigner().at(-1)![1], sel2);
  assert.equal(calledSigner().at(-1)![3], sel1, 'the custom signer is told the previous selector');
  assert.equal((await txt(`${sel1}._domainkey.example.test`)).length, 1, 'the old selector stays published right after the switch');
  await timerUntil(config, async () => (await status()).rollovers.at(-1).phase === 'cleaned');
  const cleanedAt = Date.parse((await status()).rollovers.at(-1).cleanedAt);
  assert.ok(cleanedAt - activatedAt >= 3000, `retired ${cleanedAt - activatedAt} ms after the switch (retain 3 s)`);
  assert.deepEqual(await txt(`${sel1}._domainkey.example.test`), [], 'the old selector is gone');
  assert.equal((await txt(`${sel2}._domainkey.example.test`)).length, 1);
  assert.equal(existsSync(join(keyDir, `${sel1}.private`)), true, 'key files in the signer dir are the operator\'s to prune');
  reportFigures(`dkim-core: 2 rotations, signer switched ${switched - Date.parse(r1.propagatedAt)} ms after propagation (TTL ${TTL} s), old selector retired ${cleanedAt - activatedAt} ms after the switch (retain 3 s)`);
});

test('DKIM retire: revoke leaves "v=DKIM1; p=" at the old selector', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const { config, txt, status } = await rig(t, { retire: 'revoke', keyType: 'ed25519' });
  await timerUntil(config, async () => (await status())?.rollovers[0]?.phase === 'cleaned');
  const sel1 = (await status()).rollovers[0].selector;
  assert.match((await txt(`${sel1}._domainkey.example.test`))[0]!, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/, 'Ed25519: the bare 32-byte key (RFC 8463)');
  assert.equal((await runCli(['dkim', 'rotate', '--id', 'mail', '-c', config])).code, 0);
  await timerUntil(config, async () => (await status()).rollovers.at(-1).phase === 'cleaned');
  assert.deepEqual(await txt(`${sel1}._domainkey.example.test`), ['v=DKIM1; p='], 'revoked, not deleted');
});

test('DKIM: a signer that fails verification is rolled back; nothing is deleted', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'openssl'])) return;
  const { config, status, calledSigner, txt } = await rig(t, { verify: ['false'] });
  await timerUntil(config, async () => (await status())?.rollovers[0]?.publishedAt !== undefined && (await status()).rollovers[0].phase !== 'published' && (await status()).rollovers[0].phase !== 'propagated', 40).catch(() => undefined);
  const st = await status();
  assert.equal(st.rollovers[0].phase, 'rolled-back');
  assert.match(st.rollovers[0].lastError, /verify command/);
  assert.equal(st.live, null, 'no key took over');
  assert.equal(calledSigner().length, 1, 'switched once; a custom signer with no previous key is not called again');
  assert.equal((await txt(`${st.rollovers[0].selector}._domainkey.example.test`)).length, 1, 'the new selector stays published');
});
