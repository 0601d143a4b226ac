// Service presets fill ports, reload and install paths; every key the entry sets wins, install
// key by key. Expected values are written out here, not read from the preset table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../../src/config/schema.js';

const parse = (entry: Record<string, unknown>) =>
  configSchema.parse({
    dns: { server: '127.0.0.1', tsig: { name: 'k', secretFile: '/s' } },
    certificates: [{ id: 'mx', domains: ['mx.example.com'], ...entry }],
  }).certificates[0]!;

test('presets give Debian-conventional defaults', () => {
  const cases: [string, number[], string[], Record<string, string>][] = [
    ['postfix', [25, 465, 587], ['postfix', 'reload'], { combined: '/etc/postfix/danehook/mx.pem' }],
    ['dovecot', [993, 995, 143, 110], ['doveadm', 'reload'], { fullchain: '/etc/dovecot/private/danehook/mx.fullchain.pem', key: '/etc/dovecot/private/danehook/mx.key.pem' }],
    ['nginx', [443], ['nginx', '-s', 'reload'], { fullchain: '/etc/nginx/danehook/mx.fullchain.pem', key: '/etc/nginx/danehook/mx.key.pem' }],
    ['apache', [443], ['apachectl', 'graceful'], { fullchain: '/etc/apache2/danehook/mx.fullchain.pem', key: '/etc/apache2/danehook/mx.key.pem' }],
  ];
  for (const [preset, ports, reload, install] of cases) {
    const e = parse({ preset });
    assert.deepEqual(e.ports, ports, preset);
    assert.deepEqual(e.reload, reload, preset);
    // No mode by default: existing targets keep theirs (io/install-meta.ts).
    assert.deepEqual(e.install, { ...install, allowWritableDir: false, replaceSymlinks: false }, preset);
  }
});

test('entry keys override the preset, install key by key', () => {
  const e = parse({ preset: 'nginx', ports: [8443], reload: ['systemctl', 'reload', 'nginx'], install: { key: '/srv/k.pem', mode: '0640' } });
  assert.deepEqual(e.ports, [8443]);
  assert.deepEqual(e.reload, ['systemctl', 'reload', 'nginx']);
  assert.deepEqual(e.install, { fullchain: '/etc/nginx/danehook/mx.fullchain.pem', key: '/srv/k.pem', mode: '0640', allowWritableDir: false, replaceSymlinks: false });
});

test('without a preset, ports are required; an unknown preset is an error', () => {
  assert.throws(() => parse({}), /list at least one port \(or choose a preset\)/);
  assert.throws(() => parse({ preset: 'exim' }), /preset/);
});
