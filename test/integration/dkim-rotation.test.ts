// Issue 12's proof: danehook rotates DKIM keys under real signers while mail flows. Real BIND
// primary + secondary, a postfix sender whose mail the real signer (OpenDKIM, then rspamd) signs,
// a receiving postfix whose OpenDKIM verifies through a caching Unbound: a message every second
// through two rotations, every one `dkim=pass`; the signer switched only after 2 × TTL + margin,
// the old selector retired only after `retain`. The rig's own test (dkim-rig.test.ts) is the
// control: it shows these counts catch a too-early switch and a too-early deletion.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { dkimRigBinaries, startDkimFlow, startDkimRig } from '../harness/dkim-rig.js';
import { serversOf, txtValues } from '../harness/dkim.js';
import type { SignerKind } from '../harness/dkim-milters.js';
import { makeWorkspace, runCli } from '../harness/cli.js';
import { reportFigures } from '../harness/figures.js';
import { sleep } from '../harness/steps.js';

const RETAIN_S = 4;
const MARGIN_S = 1;

interface Ev { at: string; rollover?: string; phase?: string; propagatedAt?: string; selector?: string }

async function rotateTwice(t: TestContext, signer: SignerKind): Promise<void> {
  const rig = await startDkimRig(t, { signer });
  const ws = makeWorkspace();
  t.after(() => ws.remove());
  // The operator's setup before danehook: selector s0 published and in use.
  const s0 = await rig.newKey('s0');
  await rig.publish(s0);
  await rig.useKey(s0);
  const servers = serversOf(rig.bind).map((s) => `127.0.0.1:${s.port}`);
  const signerConfig = signer === 'opendkim'
    ? { preset: 'opendkim', keyTable: rig.signerFiles.keyTable, signingTable: rig.signerFiles.signingTable, keyDir: rig.keyDir }
    : { preset: 'rspamd', selectorMap: rig.signerFiles.selectorMap, keyDir: rig.keyDir };
  // The signer's own check after each switch (issue 12): opendkim-testkey compares the installed
  // key with what the caching resolver fetches; its failure would roll the switch back.
  const verifyLog = join(ws.dir, 'verify.log');
  const verify = join(ws.dir, 'verify.sh');
  writeFileSync(verify, `#!/bin/sh\nout=$(opendkim-testkey -d "$DANEHOOK_DKIM_DOMAIN" -s "$DANEHOOK_DKIM_SELECTOR" -k "$DANEHOOK_DKIM_KEY_FILE" -vvv -x ${rig.verifier.resolverConfPath} 2>&1)\necho "$DANEHOOK_DKIM_SELECTOR: $out" >> ${verifyLog}\necho "$out" | grep -q "key OK"\n`);
  chmodSync(verify, 0o755);
  const config = ws.writeConfig({
    stateDir: ws.stateDir,
    dns: { server: servers[0], tsig: { name: 'danehook-key', keyFile: rig.bind.keyFilePath }, nameservers: servers, ttl: rig.ttl, timeout: '2s' },
    rollover: { delayFactor: 2, margin: `${MARGIN_S}s`, propagationTimeout: '60s' },
    dkim: [{
      id: 'mail', domain: rig.domain, selector: '{id}-{yyyy}{mm}{dd}', every: '1h', retain: `${RETAIN_S}s`, signer: signerConfig,
      reload: rig.reloadSigner, verify: [verify], keyOwner: rig.keyOwner.name, keyGroup: rig.keyOwner.name,
    }],
  });
  const status = async () => JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout).dkim[0];
  const timer = async (until: (st: any) => boolean) => {
    for (let i = 0; i < 80; i++) {
      if (until(await status())) return;
      const p = await runCli(['post-deploy', '-c', config]);
      assert.equal(p.code, 0, p.stderr);
      await sleep(250);
    }
    assert.fail(`the timer never got there: ${JSON.stringify(await status())}`);
  };

  const flow = startDkimFlow(rig, { everyMs: 1000 });
  const selectors: string[] = [];
  for (let n = 1; n <= 2; n++) {
    const rot = await runCli(['dkim', 'rotate', '--id', 'mail', '-c', config]);
    assert.equal(rot.code, 0, rot.stderr);
    const sel = (await status()).rollovers.at(-1).selector;
    selectors.push(sel);
    await timer((st) => st.rollovers.at(-1).phase === 'activated');
    // Mail keeps flowing for a few seconds with the new key while the old selector is retained.
    await timer((st) => st.rollovers.at(-1).phase === 'cleaned');
  }
  await sleep(2000);
  const submitted = await flow.stop();
  assert.ok(await rig.settle(), `every message delivered: ${JSON.stringify(rig.results())}`);

  const res = rig.results();
  assert.equal(res.delivered, submitted, `all ${submitted} messages delivered`);
  assert.equal(res.pass, submitted, `every message dkim=pass: ${JSON.stringify(res)}`);
  assert.equal(res.fail + res.temperror + res.permerror + res.unverified + res.deferred, 0, JSON.stringify(res));
  for (const sel of ['s0', ...selectors]) assert.ok((res.selectors[sel] ?? 0) > 0, `mail was signed with ${sel}: ${JSON.stringify(res.selectors)}`);

  // The order, from danehook's event log: switch ≥ last server served + 2 × TTL + margin; retire ≥ switch + retain.
  const events: Ev[] = readFileSync(join(ws.stateDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const figures: string[] = [];
  for (const r of (await status()).rollovers) {
    const of = (phase: string) => events.find((e) => e.rollover === r.id && e.phase === phase);
    const propagated = Date.parse(of('propagated')!.propagatedAt!);
    const switched = Date.parse(of('activated')!.at);
    const cleaned = Date.parse(of('cleaned')!.at);
    assert.ok(switched >= propagated + 2 * rig.ttl * 1000 + MARGIN_S * 1000, `${r.selector}: switched ${switched - propagated} ms after propagation`);
    assert.ok(cleaned - switched >= RETAIN_S * 1000, `${r.selector}: previous selector retired ${cleaned - switched} ms after the switch`);
    figures.push(`${r.selector} switch +${switched - propagated} ms, retire +${cleaned - switched} ms`);
  }
  // opendkim-testkey passed after each switch, for the selector switched to.
  const checked = readFileSync(verifyLog, 'utf8');
  for (const sel of selectors) assert.match(checked, new RegExp(`^${sel}: [\\s\\S]*?key OK`, 'm'), `opendkim-testkey for ${sel}:\n${checked}`);
  // Only the selector in service is left.
  for (const server of serversOf(rig.bind)) {
    assert.deepEqual((await txtValues(server, `s0._domainkey.${rig.domain}.`)).values, [], 's0 retired');
    assert.deepEqual((await txtValues(server, `${selectors[0]}._domainkey.${rig.domain}.`)).values, [], `${selectors[0]} retired`);
    assert.equal((await txtValues(server, `${selectors[1]}._domainkey.${rig.domain}.`)).values.length, 1);
  }
  reportFigures(`dkim-rotation (${signer}): ${submitted} messages through 2 rotations, ${res.pass} dkim=pass, 0 failures; ${figures.join('; ')}`);
}

for (const signer of ['opendkim', 'rspamd'] as const) {
  test(`DKIM rotation with ${signer}: a message every second through two rotations, every one dkim=pass`, { timeout: 240_000 }, async (t) => {
    if (!requireBinaries(t, dkimRigBinaries(signer))) return;
    await rotateTwice(t, signer);
  });
}
