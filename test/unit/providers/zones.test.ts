// The zone lookup every provider shares: configured zones (longest suffix) before discovery,
// discovery once per base name, failures forgotten; changes grouped by zone in a stable order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createZoneFinder, groupChangesByZone } from '../../../src/providers/zones.js';
import type { Change } from '../../../src/providers/types.js';

test('configured zones first, the longest that contains the name; no discovery for them', async () => {
  const asked: string[] = [];
  const find = createZoneFinder(['example.com', 'sub.example.com.'], async (base) => (asked.push(base), 'discovered.'));
  assert.equal(await find('_25._tcp.mx.sub.example.com'), 'sub.example.com.');
  assert.equal(await find('_25._tcp.mx.example.com.'), 'example.com.');
  assert.equal(await find('example.com.'), 'example.com.');
  assert.equal(await find('_25._tcp.mx.notexample.com.'), 'discovered.', 'a suffix match must end at a label boundary');
  assert.deepEqual(asked, ['mx.notexample.com.']);
});

test('discovery once per base name (every port of a host), a failed one asked again', async () => {
  const asked: string[] = [];
  let fail = true;
  const find = createZoneFinder([], async (base, name) => {
    asked.push(`${base} ${name}`);
    if (fail) throw new Error('timeout');
    return 'example.org.';
  });
  await assert.rejects(find('_25._tcp.mx.example.org.'), /timeout/);
  fail = false;
  assert.deepEqual(await Promise.all([find('_25._tcp.mx.example.org.'), find('_465._tcp.mx.example.org.')]), ['example.org.', 'example.org.']);
  assert.deepEqual(asked, ['mx.example.org. _25._tcp.mx.example.org.', 'mx.example.org. _25._tcp.mx.example.org.']);
});

test('groupChangesByZone: absolute names, zones in lexical order, one lookup per distinct name', async () => {
  const rdata = { usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) } as const;
  const change = (name: string, op: Change['op'] = 'create'): Change => ({ op, name, ttl: 60, rdata });
  let lookups = 0;
  const zone = async (name: string) => (lookups++, name.endsWith('b.test.') ? 'b.test.' : 'a.test.');
  const groups = await groupChangesByZone([change('_25._tcp.mx.b.test'), change('_25._tcp.mx.a.test.'), change('_25._tcp.mx.b.test', 'delete')], zone);
  assert.deepEqual(groups.map(([z, list]) => [z, list.map((c) => `${c.op} ${c.name}`)]), [
    ['a.test.', ['create _25._tcp.mx.a.test.']],
    ['b.test.', ['create _25._tcp.mx.b.test.', 'delete _25._tcp.mx.b.test.']],
  ]);
  assert.equal(lookups, 2);
});
