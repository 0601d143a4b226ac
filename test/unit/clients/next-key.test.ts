// Where each client's next key is (NEXT-KEY-FACTS.md): dehydrated's privkey.roll.pem beside KEYFILE,
// acme.sh's Le_Next_Domain_Key (or <CERT_KEY_PATH>.next from a standalone --install-cert); no
// next key from lego, certbot or explicit files, which have none of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectCertEvent } from '../../../src/clients/detect.js';

const event = (input: { env?: Record<string, string>; args?: string[]; explicit?: Record<string, string> }) =>
  detectCertEvent({ env: input.env ?? {}, explicit: input.explicit ?? {}, args: input.args ?? [] });

const dehydratedArgs = (dir: string) => ['deploy_cert', 'mx.example.com', `${dir}/privkey.pem`, `${dir}/cert.pem`, `${dir}/fullchain.pem`, `${dir}/chain.pem`, '1700000000'];

test('dehydrated: the next key is privkey.roll.pem in KEYFILE\'s directory', () => {
  assert.equal(event({ args: dehydratedArgs('/var/lib/dehydrated/certs/mx.example.com') }).nextKey, '/var/lib/dehydrated/certs/mx.example.com/privkey.roll.pem');
});

test('dehydrated: a relative or odd KEYFILE directory is kept as given (only the file name is dehydrated\'s)', () => {
  assert.equal(event({ args: dehydratedArgs('certs/mx.example.com') }).nextKey, 'certs/mx.example.com/privkey.roll.pem');
  assert.equal(event({ args: dehydratedArgs('/d/with space') }).nextKey, '/d/with space/privkey.roll.pem');
});

const ACME = { CERT_PATH: '/a/mx.cer', CERT_KEY_PATH: '/a/mx.key', Le_Domain: 'mx.example.com' };

test('acme.sh: Le_Next_Domain_Key is taken as given', () => {
  assert.equal(event({ env: { ...ACME, Le_ForceNewDomainKey: '1', Le_Next_Domain_Key: '/b/other.next' } }).nextKey, '/b/other.next');
});

test('acme.sh: standalone --install-cert (Le_ForceNewDomainKey=1, no Le_Next_Domain_Key) → <CERT_KEY_PATH>.next', () => {
  assert.equal(event({ env: { ...ACME, Le_ForceNewDomainKey: '1' } }).nextKey, '/a/mx.key.next');
});

test('acme.sh without --always-force-new-domain-key: no next key, though acme.sh exports Le_Next_Domain_Key', () => {
  // Seen: issue/renew export Le_Next_Domain_Key=<key>.next with or without the flag.
  const next = { Le_Next_Domain_Key: '/a/mx.key.next' };
  assert.equal(event({ env: ACME }).nextKey, undefined);
  assert.equal(event({ env: { ...ACME, ...next } }).nextKey, undefined);
  assert.equal(event({ env: { ...ACME, ...next, Le_ForceNewDomainKey: '' } }).nextKey, undefined);
  // `--always-force-new-domain-key 0`: acme.sh makes .next files but never uses one.
  assert.equal(event({ env: { ...ACME, ...next, Le_ForceNewDomainKey: '0' } }).nextKey, undefined);
});

test('lego, certbot and explicit files carry no client next key', () => {
  const lego = event({ env: { LEGO_CERT_DOMAIN: 'mx.example.com', LEGO_CERT_PATH: '/l/mx.crt', LEGO_CERT_KEY_PATH: '/l/mx.key' } });
  const certbot = event({ env: { RENEWED_LINEAGE: '/etc/letsencrypt/live/mx', RENEWED_DOMAINS: 'mx.example.com' } });
  const explicit = event({ explicit: { cert: '/x/c', key: '/x/k' } });
  for (const e of [lego, certbot, explicit]) assert.equal(e.nextKey, undefined, e.client);
});
