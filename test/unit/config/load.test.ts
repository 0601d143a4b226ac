// Where the configuration comes from (--config, $DANEHOOK_CONFIG, the system directory), the
// $DANEHOOK_STATE_DIR override, and the TSIG key sources' cross-checks — on real files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

let dir: string;
const yaml = (extra = '') => `dns:\n  server: 127.0.0.1:53\n  tsig: { name: danehook-key${extra} }\ncertificates:\n  - { id: mx, domains: [mx.example.com], ports: [25] }\n`;
const env = { DANEHOOK_TSIG_SECRET: Buffer.alloc(32, 1).toString('base64') };
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'danehook-load-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('--config wins over $DANEHOOK_CONFIG, which wins over the system directory', async () => {
  const sys = join(dir, 'etc');
  mkdirSync(sys);
  writeFileSync(join(sys, 'config.yml'), yaml());
  writeFileSync(join(dir, 'env.yaml'), yaml());
  writeFileSync(join(dir, 'flag.json'), JSON.stringify({ dns: { server: '127.0.0.1', tsig: { name: 'danehook-key' } }, certificates: [{ id: 'mx', domains: ['mx.example.com'], ports: [25] }] }));
  assert.equal((await loadConfig({ env, systemDir: sys })).path, join(sys, 'config.yml'));
  assert.equal((await loadConfig({ env: { ...env, DANEHOOK_CONFIG: join(dir, 'env.yaml') }, systemDir: sys })).path, join(dir, 'env.yaml'));
  assert.equal((await loadConfig({ file: join(dir, 'flag.json'), env: { ...env, DANEHOOK_CONFIG: join(dir, 'env.yaml') }, systemDir: sys })).path, join(dir, 'flag.json'));
  await assert.rejects(loadConfig({ env, systemDir: join(dir, 'nowhere') }), (e: unknown) => e instanceof ConfigError && /no configuration found: give --config FILE/.test(e.message));
});

test('$DANEHOOK_STATE_DIR overrides stateDir', async () => {
  writeFileSync(join(dir, 'c.yaml'), yaml());
  const loaded = await loadConfig({ file: join(dir, 'c.yaml'), env: { ...env, DANEHOOK_STATE_DIR: '/srv/state' } });
  assert.equal(loaded.config.stateDir, '/srv/state');
});

test('keyFile: algorithm taken from the file; an explicit different one is an error', async () => {
  const keyFile = join(dir, 'k.key');
  writeFileSync(keyFile, execFileSync('tsig-keygen', ['-a', 'hmac-sha512', 'danehook-key']), { mode: 0o600 });
  writeFileSync(join(dir, 'kf.yaml'), yaml(`, keyFile: ${keyFile}`));
  const loaded = await loadConfig({ file: join(dir, 'kf.yaml'), env: {} });
  assert.equal(loaded.secret.tsig!.algorithm, 'hmac-sha512');
  assert.equal(loaded.secret.tsig!.secret().length, 64);
  writeFileSync(join(dir, 'kf2.yaml'), yaml(`, keyFile: ${keyFile}, algorithm: hmac-sha256`));
  await assert.rejects(loadConfig({ file: join(dir, 'kf2.yaml'), env: {} }), /dns\.tsig\.algorithm is hmac-sha256 but key "danehook-key" in .* is hmac-sha512/);
});

test('no secret anywhere is a configuration error naming the three sources', async () => {
  writeFileSync(join(dir, 'ns.yaml'), yaml());
  await assert.rejects(loadConfig({ file: join(dir, 'ns.yaml'), env: {} }), /no TSIG secret: set dns\.tsig\.secretFile or dns\.tsig\.keyFile, or export DANEHOOK_TSIG_SECRET/);
});

test('powerdns: API key from apiKeyFile, else $DANEHOOK_PDNS_API_KEY; none, empty or multi-line is a configuration error', async () => {
  const pdns = (extra = '') => `dns:\n  provider: powerdns\n  server: 127.0.0.1:53\n  powerdns: { url: "http://127.0.0.1:8081"${extra} }\ncertificates:\n  - { id: mx, domains: [mx.example.com], ports: [25] }\n`;
  writeFileSync(join(dir, 'p-env.yaml'), pdns());
  assert.equal((await loadConfig({ file: join(dir, 'p-env.yaml'), env: { DANEHOOK_PDNS_API_KEY: 'from-env' } })).secret.apiKey, 'from-env');
  await assert.rejects(loadConfig({ file: join(dir, 'p-env.yaml'), env: {} }), (e: unknown) => e instanceof ConfigError && e.exitCode === 78 && /no PowerDNS API key: set dns\.powerdns\.apiKeyFile or export DANEHOOK_PDNS_API_KEY/.test(e.message));
  const keyFile = join(dir, 'api.key');
  writeFileSync(keyFile, 'from-file\n', { mode: 0o600 });
  writeFileSync(join(dir, 'p-file.yaml'), pdns(`, apiKeyFile: ${keyFile}`));
  const loaded = await loadConfig({ file: join(dir, 'p-file.yaml'), env: { DANEHOOK_PDNS_API_KEY: 'from-env' } });
  assert.equal(loaded.secret.apiKey, 'from-file'); // the file wins; its trailing newline is not part of the key
  assert.equal(loaded.secret.tsig, undefined);
  writeFileSync(keyFile, 'two\nlines\n');
  await assert.rejects(loadConfig({ file: join(dir, 'p-file.yaml'), env: {} }), /apiKeyFile .* the API key is empty or spans several lines/);
  writeFileSync(join(dir, 'p-missing.yaml'), pdns(`, apiKeyFile: ${join(dir, 'nope')}`));
  await assert.rejects(loadConfig({ file: join(dir, 'p-missing.yaml'), env: {} }), /dns\.powerdns\.apiKeyFile .*nope does not exist/);
});

test('powerdns: plain http to another host warns (the key would cross the network readable); loopback and https do not', async () => {
  const cfg = (url: string) => `dns:\n  provider: powerdns\n  server: 127.0.0.1:53\n  powerdns: { url: "${url}" }\ncertificates:\n  - { id: mx, domains: [mx.example.com], ports: [25] }\n`;
  const warned = async (url: string) => {
    writeFileSync(join(dir, 'p-url.yaml'), cfg(url));
    return (await loadConfig({ file: join(dir, 'p-url.yaml'), env: { DANEHOOK_PDNS_API_KEY: 'k' } })).warnings.filter((w) => /plain http/.test(w)).length;
  };
  assert.equal(await warned('http://192.0.2.1:8081'), 1);
  assert.equal(await warned('http://pdns.example.com:8081'), 1);
  assert.equal(await warned('http://127.0.0.1:8081'), 0);
  assert.equal(await warned('http://[::1]:8081'), 0);
  assert.equal(await warned('http://localhost:8081'), 0);
  assert.equal(await warned('https://pdns.example.com'), 0);
});
