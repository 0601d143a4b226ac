// The provider registry and dns.server parsing ("host:port", "[v6]:port", bare host → 53).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TsigKey } from '../../../src/config/tsig-key.js';
import { configSchema } from '../../../src/config/schema.js';
import { formatHostPort, parseHostPort } from '../../../src/io/host-port.js';
import { createProvider, parseServer } from '../../../src/providers/registry.js';

const good: [string, string, number][] = [
  ['192.0.2.53:5353', '192.0.2.53', 5353],
  ['192.0.2.53', '192.0.2.53', 53],
  ['[2001:db8::53]:5300', '2001:db8::53', 5300],
  ['[2001:db8::53]', '2001:db8::53', 53],
  ['2001:db8::53', '2001:db8::53', 53],
  ['::1', '::1', 53],
  ['ns1.example.com:53', 'ns1.example.com', 53],
  ['ns1.example.com.', 'ns1.example.com', 53],
  ['localhost:65535', 'localhost', 65535],
];
for (const [text, host, port] of good) {
  test(`parseHostPort(${text})`, () => assert.deepEqual(parseHostPort(text, 53), { host, port }));
}

const bad = ['', ':53', 'host:0', 'host:65536', 'host:abc', '[not-v6]:53', '[2001:db8::1', 'a b:53', '1:2:3', 'host:53:54', '..:53'];
for (const text of bad) {
  test(`parseHostPort rejects ${JSON.stringify(text)}`, () => assert.equal(parseHostPort(text, 53), undefined));
}

test('formatHostPort brackets IPv6', () => {
  assert.equal(formatHostPort({ host: '2001:db8::1', port: 53 }), '[2001:db8::1]:53');
  assert.equal(formatHostPort({ host: '192.0.2.1', port: 53 }), '192.0.2.1:53');
});

test('parseServer throws a configuration error (78) for bad text', () => {
  assert.throws(() => parseServer('host:99999'), (e: Error & { exitCode?: number }) => e.exitCode === 78);
});

test('createProvider builds the rfc2136 provider from validated config', async () => {
  const config = configSchema.parse({
    dns: { server: '[::1]:5353', tsig: { name: 'k' } },
    certificates: [{ id: 'mx', domains: ['mx.example.com'], ports: [25] }],
  });
  const p = await createProvider({ dns: config.dns, secret: { tsig: new TsigKey('k', 'hmac-sha256', Buffer.from('secret')) }, zones: [], env: {} });
  assert.equal(p.name, 'rfc2136');
  assert.equal(p.capabilities.atomicPerZone, true);
  assert.equal(p.identity, 'TSIG key "k" at [::1]:5353');
});

const base = { certificates: [{ id: 'mx', domains: ['mx.example.com'], ports: [25] }] };
test('dns: the chosen provider needs its section, and no other provider\'s section is accepted', () => {
  const issues = (dns: object) => {
    const r = configSchema.safeParse({ ...base, dns: { server: '127.0.0.1', ...dns } });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(issues({ tsig: { name: 'k' } }), []);
  assert.deepEqual(issues({}), ['dns.tsig: dns.provider is rfc2136: dns.tsig is required']);
  assert.deepEqual(issues({ provider: 'powerdns', powerdns: { url: 'http://127.0.0.1:8081' } }), []);
  assert.deepEqual(issues({ provider: 'powerdns', tsig: { name: 'k' }, powerdns: { url: 'http://127.0.0.1:8081' } }), ['dns.tsig: dns.tsig belongs to provider rfc2136, but dns.provider is powerdns']);
  assert.deepEqual(issues({ provider: 'powerdns', powerdns: { url: 'ftp://x' } }).length, 1);
  assert.deepEqual(issues({ provider: 'exec', exec: { command: ['/usr/bin/adapter'] } }), []);
  assert.match(issues({ provider: 'exec', exec: { command: ['adapter'] } })[0]!, /absolute path/);
  assert.match(issues({ provider: 'exec', exec: { command: ['/a'], env: ['BAD-NAME'] } })[0]!, /environment variable name/);
  assert.match(issues({ provider: 'cloudflare' })[0]!, /dns\.provider/);
});
