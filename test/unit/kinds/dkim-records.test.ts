// DKIM records and signer tables (pure): the p= of a key as opendkim-genkey (an independent tool)
// publishes it, selectors from a pattern never reused, and the signer's table lines rewritten for
// one domain while other domains' lines stay as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeSelector, formatDkimOwner, formatDkimTxt, parseDkimTags, parseSelector } from '../../../src/kinds/dkim/records.js';
import { describe } from '../../../src/kinds/dkim/key.js';
import { readDomainMap, readOpendkimKey, writeDomainMap, writeKeyTable, writeSigningTable } from '../../../src/kinds/dkim/signer-tables.js';

test("p= equals what opendkim-genkey publishes for the same key (RSA-2048)", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dkim-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync('opendkim-genkey', ['-b', '2048', '-d', 'example.test', '-s', 'sel1', '-D', dir]);
  } catch {
    if (process.env.CI === 'true') throw new Error('opendkim-genkey (opendkim-tools) is missing');
    t.skip('opendkim-genkey not installed');
    return;
  }
  const published = readFileSync(join(dir, 'sel1.txt'), 'utf8').match(/"([^"]*)"/g)!.map((q) => q.slice(1, -1)).join('');
  const key = describe(readFileSync(join(dir, 'sel1.private'), 'utf8'));
  assert.equal(parseDkimTags(formatDkimTxt('rsa-2048', key.spkiDer)).get('p'), parseDkimTags(published).get('p'));
  assert.equal(parseDkimTags(published).get('k'), 'rsa');
});

test('owner names and selectors: a date pattern, suffixes when a selector was used before', () => {
  assert.equal(formatDkimOwner('mail-202612', 'Example.Test.'), 'mail-202612._domainkey.example.test.');
  assert.equal(parseSelector('mail-202612._domainkey.example.test.'), 'mail-202612');
  const now = new Date('2026-12-02T04:00:00Z');
  assert.equal(computeSelector('{id}-{yyyy}{mm}', 'mail', now, new Set()), 'mail-202612');
  assert.equal(computeSelector('{id}-{yyyy}{mm}', 'mail', now, new Set(['mail-202612'])), 'mail-202612-2');
  assert.equal(computeSelector('{id}-{yyyy}{mm}', 'mail', now, new Set(['mail-202612', 'mail-202612-2'])), 'mail-202612-3');
  assert.equal(computeSelector('s{yyyy}{mm}{dd}', 'x', now, new Set()), 's20261202');
});

test('OpenDKIM tables: only this domain\'s lines change; comments and other domains stay; the current key is read back', () => {
  const keyTable = '# keys\nold._domainkey.example.test example.test:old:/etc/opendkim/keys/old.private\nk1._domainkey.other.test other.test:k1:/etc/opendkim/keys/o.private\n';
  const signingTable = '*@example.test old._domainkey.example.test\nother.test k1._domainkey.other.test\n';
  const kt = writeKeyTable(keyTable, 'example.test', { selector: 'new', keyFile: '/k/new.private' });
  const st = writeSigningTable(signingTable, 'example.test', 'new', keyTable);
  assert.equal(kt, '# keys\nnew._domainkey.example.test example.test:new:/k/new.private\nk1._domainkey.other.test other.test:k1:/etc/opendkim/keys/o.private\n');
  assert.equal(st, '*@example.test new._domainkey.example.test\nother.test k1._domainkey.other.test\n');
  assert.deepEqual(readOpendkimKey(kt, st, 'example.test'), { selector: 'new', keyFile: '/k/new.private' });
  assert.deepEqual(readOpendkimKey(keyTable, signingTable, 'other.test'), { selector: 'k1', keyFile: '/etc/opendkim/keys/o.private' });
  assert.equal(readOpendkimKey('', '', 'example.test'), undefined);
  assert.equal(writeSigningTable('', 'example.test', 'new', ''), 'example.test new._domainkey.example.test\n', 'a new domain gets a line');
  // Key names of any form (the KeyTable says which are this domain's).
  const kt2 = 's0-example.test example.test:s0:/k/s0.private\n';
  assert.equal(writeSigningTable('*@example.test s0-example.test\n', 'example.test', 'new', kt2), '*@example.test new._domainkey.example.test\n');
  assert.deepEqual(readOpendkimKey(kt2, '*@example.test s0-example.test\n', 'example.test'), { selector: 's0', keyFile: '/k/s0.private' });
});

test('rspamd maps: the domain\'s value replaced or added', () => {
  assert.equal(writeDomainMap('example.test old\nother.test k1\n', 'example.test', 'new'), 'example.test new\nother.test k1\n');
  assert.equal(writeDomainMap('other.test k1\n', 'example.test', 'new'), 'other.test k1\nexample.test new\n');
  assert.equal(readDomainMap('# c\nexample.test /k/new.private\n', 'example.test'), '/k/new.private');
});
