// Client adapters: each client's hook environment (or argv) → one CertEvent; partial or
// ambiguous input is a UsageError (64) naming what was expected. Table-driven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectCertEvent } from '../../../src/clients/detect.js';
import { UsageError } from '../../../src/errors.js';

type Case = { name: string; env?: Record<string, string>; args?: string[]; explicit?: Record<string, string>; want: object };

const ok: Case[] = [
  {
    name: 'lego v4 run-hook',
    env: { LEGO_ACCOUNT_EMAIL: 'a@b', LEGO_CERT_DOMAIN: 'MX.example.com', LEGO_CERT_PATH: '/l/mx.crt', LEGO_CERT_KEY_PATH: '/l/mx.key' },
    want: { client: 'lego-v4', name: 'mx.example.com', domains: ['mx.example.com'], files: { certificate: '/l/mx.crt', key: '/l/mx.key' } },
  },
  {
    name: 'lego v4.17+ with issuer',
    env: { LEGO_CERT_DOMAIN: 'mx.example.com', LEGO_CERT_PATH: '/l/mx.crt', LEGO_CERT_KEY_PATH: '/l/mx.key', LEGO_ISSUER_CERT_PATH: '/l/mx.issuer.crt', LEGO_CERT_PEM_PATH: '/l/mx.pem' },
    want: { client: 'lego-v4', files: { certificate: '/l/mx.crt', key: '/l/mx.key', chain: '/l/mx.issuer.crt' } },
  },
  {
    name: 'lego v5 deploy-hook',
    env: { LEGO_HOOK_CERT_NAME: 'mx', LEGO_HOOK_CERT_DOMAINS: 'mx.example.com,smtp.example.com', LEGO_HOOK_CERT_PATH: '/c/mx.crt', LEGO_HOOK_CERT_KEY_PATH: '/c/mx.key', LEGO_HOOK_ISSUER_CERT_PATH: '/c/i.crt' },
    want: { client: 'lego-v5', name: 'mx', domains: ['mx.example.com', 'smtp.example.com'], files: { certificate: '/c/mx.crt', key: '/c/mx.key', chain: '/c/i.crt' } },
  },
  {
    name: 'certbot deploy-hook',
    env: { RENEWED_LINEAGE: '/etc/letsencrypt/live/mx.example.com/', RENEWED_DOMAINS: 'mx.example.com smtp.example.com' },
    want: {
      client: 'certbot', name: 'mx.example.com', domains: ['mx.example.com', 'smtp.example.com'],
      files: { certificate: '/etc/letsencrypt/live/mx.example.com/cert.pem', chain: '/etc/letsencrypt/live/mx.example.com/chain.pem', key: '/etc/letsencrypt/live/mx.example.com/privkey.pem' },
    },
  },
  {
    name: 'acme.sh reloadcmd with next key',
    env: { CERT_PATH: '/a/mx.cer', CERT_KEY_PATH: '/a/mx.key', CA_CERT_PATH: '/a/ca.cer', CERT_FULLCHAIN_PATH: '/a/fullchain.cer', Le_Domain: 'mx.example.com', Le_ForceNewDomainKey: '1', Le_Next_Domain_Key: '/a/mx.key.next' },
    want: { client: 'acme.sh', name: 'mx.example.com', nextKey: '/a/mx.key.next', files: { certificate: '/a/mx.cer', key: '/a/mx.key', chain: '/a/ca.cer', fullchain: '/a/fullchain.cer' } },
  },
  {
    name: 'dehydrated deploy_cert',
    args: ['deploy_cert', 'mx.example.com', '/d/privkey.pem', '/d/cert.pem', '/d/fullchain.pem', '/d/chain.pem', '1700000000'],
    want: { client: 'dehydrated', name: 'mx.example.com', files: { certificate: '/d/cert.pem', key: '/d/privkey.pem', fullchain: '/d/fullchain.pem', chain: '/d/chain.pem' } },
  },
  { name: '--pem', explicit: { pem: '/x/all.pem' }, want: { client: 'explicit', files: { pem: '/x/all.pem' } } },
  { name: '--cert --key --chain', explicit: { cert: '/x/c', key: '/x/k', chain: '/x/ch' }, want: { client: 'explicit', files: { certificate: '/x/c', key: '/x/k', chain: '/x/ch' } } },
  {
    name: 'explicit flags win over a client environment',
    env: { RENEWED_LINEAGE: '/etc/letsencrypt/live/x' },
    explicit: { pem: '/x/all.pem' },
    want: { client: 'explicit', files: { pem: '/x/all.pem' } },
  },
];

for (const c of ok) {
  test(`detectCertEvent: ${c.name}`, () => {
    const event = detectCertEvent({ env: c.env ?? {}, explicit: c.explicit ?? {}, args: c.args ?? [] });
    assertSubset(event, c.want);
  });
}

function assertSubset(actual: unknown, want: unknown, path = ''): void {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    for (const [k, v] of Object.entries(want)) assertSubset((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else {
    assert.deepEqual(actual, want, path);
  }
}

const bad: { name: string; env?: Record<string, string>; args?: string[]; explicit?: Record<string, string>; message: RegExp }[] = [
  { name: 'nothing at all', message: /no certificate given: give --pem FILE/ },
  { name: 'lego without key path', env: { LEGO_CERT_DOMAIN: 'mx', LEGO_CERT_PATH: '/l/mx.crt' }, message: /lego hook environment is incomplete: LEGO_CERT_KEY_PATH is not set/ },
  { name: 'lego v5 without cert path', env: { LEGO_HOOK_CERT_NAME: 'mx', LEGO_HOOK_CERT_KEY_PATH: '/k' }, message: /LEGO_HOOK_CERT_PATH is not set/ },
  { name: 'certbot domains without lineage', env: { RENEWED_DOMAINS: 'mx.example.com' }, message: /RENEWED_LINEAGE is not set/ },
  { name: 'acme.sh without key', env: { CERT_PATH: '/a/c', Le_Domain: 'mx' }, message: /CERT_KEY_PATH is not set/ },
  { name: 'two clients at once', env: { RENEWED_LINEAGE: '/x', LEGO_CERT_PATH: '/y', LEGO_CERT_KEY_PATH: '/k', LEGO_CERT_DOMAIN: 'd' }, message: /ambiguous hook environment: variables of lego v4 and certbot/ },
  { name: 'dehydrated short argv', args: ['deploy_cert', 'mx.example.com', '/k'], message: /deploy_cert needs DOMAIN KEYFILE CERTFILE/ },
  { name: 'stray positional', args: ['mx.example.com'], message: /unexpected arguments "mx.example.com"/ },
  { name: '--pem with --cert', explicit: { pem: '/p', cert: '/c' }, message: /either --pem FILE or --cert/ },
  { name: '--key without --cert', explicit: { key: '/k' }, message: /need --cert FILE/ },
];

for (const c of bad) {
  test(`detectCertEvent rejects: ${c.name}`, () => {
    assert.throws(() => detectCertEvent({ env: c.env ?? {}, explicit: c.explicit ?? {}, args: c.args ?? [] }), (err: unknown) => {
      assert.ok(err instanceof UsageError, String(err));
      assert.equal(err.exitCode, 64);
      assert.match(err.message, c.message);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    });
  });
}
