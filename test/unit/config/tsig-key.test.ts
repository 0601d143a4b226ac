// TSIG key sources: BIND key files as tsig-keygen writes them (the tool makes the known answer),
// base64 secrets, and that the secret never shows in JSON, strings or inspection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { inspect } from 'node:util';
import { decodeSecret, parseBindKeyFile, TsigKey } from '../../../src/config/tsig-key.js';

for (const alg of ['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha1']) {
  test(`parseBindKeyFile reads tsig-keygen -a ${alg}`, () => {
    const text = execFileSync('tsig-keygen', ['-a', alg, 'danehook-key.example.']).toString();
    const secret = /secret "([^"]+)"/.exec(text)![1]!;
    const keys = parseBindKeyFile(text);
    assert.deepEqual(keys, [{ name: 'danehook-key.example', algorithm: alg, secret }]);
    assert.equal(decodeSecret(secret)!.toString('base64'), secret);
  });
}

test('parseBindKeyFile skips comments and reads several keys', () => {
  const text = `# generated\n// another\n/* block\n key "fake" { algorithm hmac-md5; secret "x"; }; */\nkey a { algorithm hmac-sha256; secret "YWFh"; };\nkey "B." {\n  algorithm "hmac-sha512";\n  secret "YmJi";\n};\n`;
  assert.deepEqual(parseBindKeyFile(text), [
    { name: 'a', algorithm: 'hmac-sha256', secret: 'YWFh' },
    { name: 'b', algorithm: 'hmac-sha512', secret: 'YmJi' },
  ]);
});

test('decodeSecret accepts canonical base64 with whitespace, rejects the rest', () => {
  const cases: [string, boolean][] = [['c2VjcmV0', true], [' c2Vj\ncmV0 \n', true], ['c2VjcmV0=', false], ['not*base64', false], ['', false], ['====', false]];
  for (const [text, ok] of cases) assert.equal(decodeSecret(text) !== undefined, ok, JSON.stringify(text));
});

test('the secret never appears in JSON, strings or util.inspect', () => {
  const secret = Buffer.from('super-secret-bytes-0123456789');
  const key = new TsigKey('k', 'hmac-sha256', secret);
  const b64 = secret.toString('base64');
  for (const text of [JSON.stringify({ key }), String(key), inspect(key), inspect({ nested: { key } }, { depth: 5 }), `${key}`]) {
    assert.ok(!text.includes(b64) && !text.includes('super-secret'), text);
  }
  assert.ok(key.secret().equals(secret));
});
