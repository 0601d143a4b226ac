// The second credential kind through the other providers: a DKIM rotation (RSA-2048 selector, a
// TXT value longer than one 255-byte string) published and retired through the PowerDNS HTTP API
// (PowerDNS primary + secondary) and through the exec provider's nsupdate adapter (BIND primary +
// secondary). Known answers: dig on both servers, openssl for the key's p=.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries } from '../harness/binaries.js';
import { startBind } from '../harness/bind.js';
import { bindConfig, makeWorkspace, nsupdateAdapterSection, runCli } from '../harness/cli.js';
import type { DnsServerHandle } from '../harness/dns.js';
import { txtValues } from '../harness/dkim.js';
import { startPowerDns } from '../harness/pdns.js';
import { sleep } from '../harness/steps.js';
import { reportFigures } from '../harness/figures.js';

const TTL = 2;

/** The TXT values both servers serve at `name`, strings joined; asserts they agree. */
async function servedTxt(dns: DnsServerHandle, name: string): Promise<string[]> {
  const out = await Promise.all([dns.primary, dns.secondary!].map(async (ep) => (await txtValues(ep, name)).values));
  assert.deepEqual(out[1], out[0], `both servers agree on ${name}`);
  return out[0]!;
}

async function rotateTwice(t: { diagnostic(s: string): void }, label: string, dns: DnsServerHandle, dnsSection: Record<string, unknown>): Promise<void> {
  const ws = makeWorkspace();
  try {
    const keyDir = join(ws.dir, 'keys');
    mkdirSync(keyDir, { mode: 0o700 });
    const config = ws.writeConfig({
      stateDir: ws.stateDir,
      dns: dnsSection,
      rollover: { delayFactor: 2, margin: '1s', propagationTimeout: '60s' },
      dkim: [{ id: 'mail', domain: 'example.test', selector: '{id}-{yyyy}{mm}{dd}', keyType: 'rsa-2048', every: '1h', retain: '2s', signer: { preset: 'custom', activate: ['/bin/true'], keyDir } }],
    });
    const rollovers = async () => JSON.parse((await runCli(['status', '--json', '--offline', '-c', config])).stdout).dkim[0].rollovers as { selector: string; phase: string }[];
    const timerUntil = async (phase: string) => {
      for (let i = 0; i < 60; i++) {
        if ((await rollovers()).at(-1)?.phase === phase) return;
        const p = await runCli(['post-deploy', '-c', config]);
        assert.equal(p.code, 0, p.stderr);
        await sleep(300);
      }
      assert.fail(`${label}: the timer never reached ${phase}`);
    };
    const started = Date.now();
    await timerUntil('activated');
    const sel1 = (await rollovers())[0]!.selector;
    const pub = (sel: string) => execFileSync('openssl', ['pkey', '-in', join(keyDir, `${sel}.private`), '-pubout', '-outform', 'DER']).toString('base64');
    const owner = (sel: string) => `${sel}._domainkey.example.test`;
    assert.deepEqual(await servedTxt(dns, owner(sel1)), [`v=DKIM1; k=rsa; p=${pub(sel1)}`], `${label}: the first selector as openssl derives it`);

    const rot = await runCli(['dkim', 'rotate', '--id', 'mail', '-c', config]);
    assert.equal(rot.code, 0, rot.stderr);
    await timerUntil('cleaned');
    const sel2 = (await rollovers()).at(-1)!.selector;
    assert.notEqual(sel2, sel1);
    assert.ok(await dns.waitForSecondarySync());
    assert.deepEqual(await servedTxt(dns, owner(sel1)), [], `${label}: the old selector is retired on both servers`);
    assert.deepEqual(await servedTxt(dns, owner(sel2)), [`v=DKIM1; k=rsa; p=${pub(sel2)}`], `${label}: the new selector as openssl derives it`);
    const ms = Date.now() - started;
    t.diagnostic(`${label}: two rotations, old selector retired, in ${ms} ms`);
    reportFigures(`dkim-providers ${label}: two DKIM rotations published and retired in ${ms} ms (TTL ${TTL} s)`);
  } finally {
    ws.remove();
  }
}

test('DKIM rotation through the PowerDNS HTTP API: selectors published and retired on primary and secondary', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['pdns_server', 'pdnsutil', 'sqlite3', 'dig', 'openssl'])) return;
  const dns = await startPowerDns(t, { zone: 'example.test', ttl: TTL, secondary: true, api: true });
  const ws = makeWorkspace();
  t.after(() => ws.remove());
  await rotateTwice(t, 'powerdns', dns, bindConfig(ws, dns, {}, { ttl: TTL, provider: 'powerdns' }).dns);
});

test('DKIM rotation through the exec provider (nsupdate adapter, BIND): selectors published and retired on primary and secondary', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'nsupdate', 'openssl'])) return;
  const bind = await startBind(t, { zone: 'example.test', ttl: TTL, secondary: true, updatePolicy: 'grant danehook-key zonesub TLSA TXT;' });
  const ws = makeWorkspace();
  t.after(() => ws.remove());
  await rotateTwice(t, 'exec', bind, bindConfig(ws, bind, {}, { ttl: TTL, exec: nsupdateAdapterSection(bind) }).dns);
});
