// The config schema: defaults come from the schema, unknown keys and bad values are reported by
// path, all problems at once. Table-driven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../../src/config/schema.js';
import { formatZodIssues } from '../../../src/config/issues.js';

const base = () => ({
  dns: { server: '127.0.0.1:5353', tsig: { name: 'danehook-key', secretFile: '/s' } },
  certificates: [{ id: 'mx', domains: ['mx.example.com'], ports: [25] }],
});

test('minimal config gets the documented defaults', () => {
  const c = configSchema.parse(base());
  assert.equal(c.stateDir, '/var/lib/danehook');
  assert.equal(c.dns.provider, 'rfc2136');
  assert.equal(c.dns.tsig!.algorithm, 'hmac-sha256');
  assert.equal(c.dns.nameservers, 'auto');
  assert.equal(c.dns.nameserverPort, 53);
  assert.equal(c.dns.ttl, 3600);
  assert.equal(c.dns.timeout, 5000);
  assert.deepEqual(c.rollover, { delayFactor: 2, minDelay: 0, propagationTimeout: 3_600_000, cleanupDelay: 0, margin: 5_000 });
  const e = c.certificates[0]!;
  assert.equal(e.protocol, 'tcp');
  assert.deepEqual(e.tlsa, ['3 1 1']);
  assert.equal(e.probe.addresses, 'auto');
});

test('durations, names and lists are normalised', () => {
  const raw = base() as Record<string, any>;
  raw.rollover = { minDelay: '90s', propagationTimeout: '2h', cleanupDelay: 30 };
  raw.certificates[0].domains = ['MX.Example.COM.'];
  raw.dns.tsig.name = 'DaneHook-Key.';
  const c = configSchema.parse(raw);
  assert.equal(c.rollover.minDelay, 90_000);
  assert.equal(c.rollover.propagationTimeout, 7_200_000);
  assert.equal(c.rollover.cleanupDelay, 30_000);
  assert.deepEqual(c.certificates[0]!.domains, ['mx.example.com']);
  assert.equal(c.dns.tsig!.name, 'danehook-key');
});

const invalid: [string, (c: Record<string, any>) => void, RegExp][] = [
  ['unknown top-level key', (c) => (c.stateDirectory = '/x'), /stateDirectory: unknown key/],
  ['unknown nested key', (c) => (c.dns.tsig!.secret = 'abc'), /dns\.tsig\.secret: unknown key/],
  ['port 0', (c) => (c.certificates[0].ports = [0]), /certificates\[0\]\.ports\[0\]: port must be 1-65535/],
  ['port 70000', (c) => (c.certificates[0].ports = [25, 70000]), /certificates\[0\]\.ports\[1\]: port must be 1-65535/],
  ['port as string', (c) => (c.certificates[0].ports = ['25']), /certificates\[0\]\.ports\[0\]/],
  ['bad TLSA parameters', (c) => (c.certificates[0].tlsa = ['3 1 1', '3 1 9']), /certificates\[0\]\.tlsa\[1\]: TLSA parameters must be/],
  ['bad server', (c) => (c.dns.server = '127.0.0.1:99999'), /dns\.server: expected "host:port"/],
  ['bad algorithm', (c) => (c.dns.tsig!.algorithm = 'hmac-md5'), /dns\.tsig\.algorithm/],
  ['both secretFile and keyFile', (c) => (c.dns.tsig!.keyFile = '/k'), /either secretFile or keyFile/],
  ['ttl zero', (c) => (c.dns.ttl = 0), /dns\.ttl: ttl must be at least 1/],
  ['absurd ttl', (c) => (c.dns.ttl = 10_000_000), /dns\.ttl: ttl above one week/],
  ['delayFactor below RFC 7671', (c) => (c.rollover = { delayFactor: 1 }), /rollover\.delayFactor: delayFactor must be at least 2/],
  ['bad duration', (c) => (c.rollover = { minDelay: 'soon' }), /rollover\.minDelay: not a duration/],
  ['wildcard domain', (c) => (c.certificates[0].domains = ['*.example.com']), /certificates\[0\]\.domains\[0\]: not a valid DNS name/],
  ['no certificates', (c) => (c.certificates = []), /certificates: configure at least one/],
  ['duplicate ids', (c) => c.certificates.push({ ...c.certificates[0] }), /certificates\[1\]\.id: duplicate id "mx"/],
  ['path traversal in id', (c) => (c.certificates[0].id = '../../etc'), /certificates\[0\]\.id: id must be/],
  ['reload as a string', (c) => (c.certificates[0].reload = 'systemctl reload postfix'), /certificates\[0\]\.reload/],
  ['bad install mode', (c) => (c.certificates[0].install = { key: '/k', mode: '644x' }), /certificates\[0\]\.install\.mode: mode must be octal/],
  ['missing dns', (c) => delete c.dns, /dns: /],
];

for (const [name, mutate, want] of invalid) {
  test(`schema rejects ${name}`, () => {
    const raw = base();
    mutate(raw);
    const r = configSchema.safeParse(raw);
    assert.equal(r.success, false);
    const text = formatZodIssues(r.error!.issues);
    assert.match(text, want);
    assert.ok(!text.includes('\n'), 'one line');
  });
}

test('every problem is reported at once', () => {
  const raw = base() as Record<string, any>;
  raw.certificates[0].ports = [0];
  raw.dns.ttl = -1;
  raw.bogus = true;
  const text = formatZodIssues(configSchema.safeParse(raw).error!.issues);
  for (const p of ['certificates[0].ports[0]', 'dns.ttl', 'bogus']) assert.ok(text.includes(p), `${p} in ${text}`);
});

test('dns.zone (one or a list) and an entry zone that must contain the entry\'s domains', () => {
  const ok = configSchema.parse({ ...base(), dns: { ...base().dns, zone: ['Example.COM.', 'example.net'] } });
  assert.deepEqual(ok.dns.zone, ['example.com', 'example.net']);
  const bad = configSchema.safeParse({ ...base(), certificates: [{ id: 'mx', domains: ['mx.example.com'], ports: [25], zone: 'example.org' }] });
  assert.equal(bad.success, false);
  assert.match(formatZodIssues(bad.error!.issues), /certificates\[0\]\.zone: zone example\.org does not contain every domain of the entry \(mx\.example\.com\)/);
});
