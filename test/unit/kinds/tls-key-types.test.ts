// Which key types a probe of an entry offers: the live and the rollover's, once each, unknowns left
// out; and when entries share an endpoint (same TLSA owner: RSA and ECDSA certificates for one name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeKeyTypes, readLiveKeyType } from '../../../src/kinds/tls/key-types.js';
import { computeSharesEndpoint } from '../../../src/kinds/tls/probe.js';
import { configSchema, type CertificateEntry } from '../../../src/config/schema.js';
import type { EntryState } from '../../../src/core/state.js';

function entries(...list: Record<string, unknown>[]): CertificateEntry[] {
  return configSchema.parse({
    dns: { server: '127.0.0.1:53', tsig: { name: 'k', secretFile: '/nonexistent' } },
    certificates: list.map((e) => ({ domains: ['mx.example.com'], ports: [25], ...e })),
  }).certificates;
}

test('computeKeyTypes: order kept, repeats and unknowns dropped', () => {
  assert.deepEqual(computeKeyTypes('rsa', undefined, 'rsa', 'ecdsa'), ['rsa', 'ecdsa']);
  assert.deepEqual(computeKeyTypes(undefined), []);
});

test('computeSharesEndpoint: same name and port shares, another port or name does not', () => {
  const [rsa, ec, other, submission] = entries(
    { id: 'mx-rsa' },
    { id: 'mx-ec', ports: [465, 25] },
    { id: 'www', domains: ['www.example.com'] },
    { id: 'sub', ports: [587] },
  );
  assert.equal(computeSharesEndpoint([rsa!, ec!, other!, submission!], rsa!), true);
  assert.equal(computeSharesEndpoint([rsa!, ec!, other!, submission!], ec!), true);
  assert.equal(computeSharesEndpoint([rsa!, ec!, other!, submission!], other!), false);
  assert.equal(computeSharesEndpoint([rsa!, ec!, other!, submission!], submission!), false);
  assert.equal(computeSharesEndpoint([rsa!], rsa!), false, 'an entry does not share with itself');
});

test('readLiveKeyType: kept in state; none without a live certificate; unknown when not kept and nothing installed', () => {
  const [e] = entries({ id: 'mx' });
  const live = { spki: 'a'.repeat(64), fingerprint: 'b'.repeat(64), notAfter: '2030-01-01T00:00:00.000Z', records: [], source: 'probe' as const };
  const es = (l: EntryState['live']): EntryState => ({ live: l, liveKnown: true, rollovers: [], owned: [], next: null, retiredNext: [] });
  assert.equal(readLiveKeyType(e!, es({ ...live, keyType: 'ecdsa' })), 'ecdsa');
  assert.equal(readLiveKeyType(e!, es(null)), undefined);
  assert.equal(readLiveKeyType(e!, es(live)), undefined);
});
