// End to end for acme.sh (not installed here): files issued by pebble (through lego) are laid out as
// acme.sh keeps them (~/.acme.sh/<domain>_ecc/<domain>.cer, .key, ca.cer, fullchain.cer), and
// hooks/deploy runs as acme.sh runs a --reloadcmd: `eval` in a subshell, cwd = the domain dir, with
// CERT_PATH, CERT_KEY_PATH, CA_CERT_PATH, CERT_FULLCHAIN_PATH, Le_Domain exported (FACTS.md).
// Then the same rollover as for the real clients: timer runs, DANE checked after every one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLego } from '../harness/acme-clients.js';
import { requireBinaries } from '../harness/binaries.js';
import {
  assertPublishedBeside, assertRolledOver, certSpkiSha256, driveTimer, HOOKS, keySpkiSha256, DOMAIN,
  startRig,
} from '../harness/e2e.js';

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/** acme.sh's `_installcert`: ( export CERT_PATH ...; cd "$DOMAIN_PATH" && eval "$_reload_cmd" ) */
function runAsAcmeShReloadcmd(reloadCmd: string, env: Record<string, string>, domainPath: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', '( cd "$DOMAIN_PATH" && eval "$_reload_cmd" )'], {
      env: { ...process.env, ...env, DOMAIN_PATH: domainPath, _reload_cmd: reloadCmd },
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    // 'close': stdout/stderr closed too (acme.sh waits for the subshell; a lingering child would hold it).
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

test('acme.sh --reloadcmd environment: hooks/deploy publishes at once, timer activates and cleans up', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['named', 'dig', 'postfix', 'openssl', 'pebble', 'lego'])) return;
  const rig = await startRig(t);
  const live = certSpkiSha256(rig.a.certPath);

  const issued = await runLego(t, rig.pebble, { domains: [DOMAIN] });
  assert.equal(issued.code, 0, issued.stderr);
  const chain = splitPem(readFileSync(issued.certPath, 'utf8'));
  assert.ok(chain.length >= 2, 'lego wrote leaf + issuer');
  const domainPath = join(rig.ws.dir, 'acme.sh-home', `${DOMAIN}_ecc`);
  mkdirSync(domainPath, { recursive: true });
  const files = {
    CERT_PATH: join(domainPath, `${DOMAIN}.cer`),
    CERT_KEY_PATH: join(domainPath, `${DOMAIN}.key`),
    CA_CERT_PATH: join(domainPath, 'ca.cer'),
    CERT_FULLCHAIN_PATH: join(domainPath, 'fullchain.cer'),
  };
  writeFileSync(files.CERT_PATH, chain[0]!);
  writeFileSync(files.CERT_KEY_PATH, readFileSync(issued.keyPath), { mode: 0o600 });
  writeFileSync(files.CA_CERT_PATH, chain.slice(1).join(''));
  writeFileSync(files.CERT_FULLCHAIN_PATH, chain.join(''));
  const b = keySpkiSha256(files.CERT_KEY_PATH);
  assert.equal(certSpkiSha256(files.CERT_PATH), b);

  const hook = await runAsAcmeShReloadcmd(join(HOOKS, 'deploy'), { ...files, Le_Domain: DOMAIN, ...rig.hookEnv }, domainPath);
  assert.equal(hook.code, 0, `reloadcmd failed (acme.sh would exit 1):\n${hook.stderr}`);
  assert.ok(hook.ms < 5000, `reloadcmd took ${hook.ms} ms`);
  await assertPublishedBeside(rig, live, b);

  const timer = await driveTimer(rig);
  const { rollover } = await assertRolledOver(rig, timer, live, b);
  // postfix serves the whole chain acme.sh had (leaf + issuer), not only the leaf.
  const served = readFileSync(rig.pf.chainFile, 'utf8');
  assert.equal(splitPem(served).join(''), chain.join(''), 'installed chain = acme.sh fullchain');
  t.diagnostic(`acme.sh reloadcmd: hook ${hook.ms} ms; timer ${timer.runs} runs, ${timer.elapsedMs} ms, phases ${timer.phases.join(' → ')}; activateAfter ${rollover.activateAfter}, activatedAt ${rollover.activatedAt}`);
});
