// The dkim[] config: defaults (rsa-2048, every 90 d, retain 7 d, delete), a selector pattern that
// can never repeat a selector, absolute signer paths, ids unique across certificates and dkim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../../src/config/schema.js';
import { formatZodIssues } from '../../../src/config/issues.js';

const dns = { server: '127.0.0.1:5353', tsig: { name: 'danehook-key', secretFile: '/s' } };
const signer = { preset: 'opendkim', keyTable: '/etc/opendkim/KeyTable', signingTable: '/etc/opendkim/SigningTable', keyDir: '/etc/opendkim/keys' };

test('a dkim-only config gets the documented defaults', () => {
  const c = configSchema.parse({ dns, dkim: [{ id: 'mail', domain: 'Example.COM.', signer }] });
  const d = c.dkim[0]!;
  assert.equal(d.domain, 'example.com');
  assert.equal(d.selector, '{id}-{yyyy}{mm}');
  assert.equal(d.keyType, 'rsa-2048');
  assert.equal(d.every, 90 * 86_400_000);
  assert.equal(d.retain, 7 * 86_400_000);
  assert.equal(d.retire, 'delete');
  assert.deepEqual(c.certificates, []);
});

const rows: [string, Record<string, unknown>, RegExp][] = [
  ['selector without a date', { selector: '{id}' }, /dkim\[0\]\.selector: .*date placeholder/],
  ['selector with a dot', { selector: 'a.{yyyy}' }, /dkim\[0\]\.selector: selector pattern: letters/],
  ['relative key dir', { signer: { ...signer, keyDir: 'keys' } }, /dkim\[0\]\.signer\.keyDir: give an absolute path/],
  ['unknown preset', { signer: { preset: 'amavis' } }, /dkim\[0\]\.signer\.preset/],
  ['bad key type', { keyType: 'rsa-1024' }, /dkim\[0\]\.keyType/],
  ['bad duration', { every: 'sometimes' }, /dkim\[0\]\.every: not a duration/],
];
for (const [name, over, re] of rows) {
  test(`dkim config refused: ${name}`, () => {
    const r = configSchema.safeParse({ dns, dkim: [{ id: 'mail', domain: 'example.com', signer, ...over }] });
    assert.equal(r.success, false);
    assert.match(formatZodIssues(r.error!.issues), re);
  });
}

test('ids are unique across certificates and dkim; an empty config is refused', () => {
  const r = configSchema.safeParse({ dns, certificates: [{ id: 'mail', domains: ['mx.example.com'], ports: [25] }], dkim: [{ id: 'mail', domain: 'example.com', signer }] });
  assert.match(formatZodIssues(r.error!.issues), /dkim\[0\]\.id: duplicate id "mail" \(also certificates\[0\]\)/);
  assert.match(formatZodIssues(configSchema.safeParse({ dns }).error!.issues), /configure at least one certificate entry/);
});
