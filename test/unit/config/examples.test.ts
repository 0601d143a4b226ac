// Every example config under examples/config/ must validate against the schema, so what operators
// copy is never stale. Secret files need not exist: only the schema is checked here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultLoaders } from 'cosmiconfig';
import { configSchema } from '../../../src/config/schema.js';
import { formatZodIssues } from '../../../src/config/issues.js';

const dir = fileURLToPath(new URL('../../../examples/config/', import.meta.url));
const files = readdirSync(dir).filter((f) => ['.yaml', '.yml', '.json'].includes(extname(f))).sort();

test('there are example configs', () => {
  assert.ok(files.length >= 3, `found only ${files.join(', ')}`);
});

for (const file of files) {
  test(`examples/config/${file} validates`, async () => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const raw = extname(file) === '.json' ? JSON.parse(text) : await defaultLoaders['.yaml'](path, text);
    const result = configSchema.safeParse(raw);
    assert.ok(result.success, result.success ? '' : formatZodIssues(result.error.issues));
    assert.ok(result.data.certificates.length + result.data.dkim.length >= 1);
  });
}
