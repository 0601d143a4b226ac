#!/usr/bin/env node
// The one test command (`npm test`): builds the CLI, then runs every test file under test/ with
// node's test runner (TypeScript via tsx). `npm test -- unit` or `-- integration` narrows it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' || name === 'bench' ? [] : find(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = find(join(root, 'test'))
  .map((p) => relative(root, p))
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
// Tests, harness and demo are TypeScript too: type-check them with the same strict options.
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'test/tsconfig.json')], { cwd: root, stdio: 'inherit' });
const concurrency = process.env.DANEHOOK_TEST_CONCURRENCY ?? '2';
const figures = join(mkdtempSync(join(tmpdir(), 'danehook-figures-')), 'figures.txt');
writeFileSync(figures, '');
const tap = join(dirname(figures), 'report.tap');
const reporters = ['--test-reporter=tap', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`];
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...reporters, ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, DANEHOOK_FIGURES_FILE: figures },
});
// The figures tests measured (rollovers, kills, violations, inputs tried), after the summary.
const measured = readFileSync(figures, 'utf8').trim();
if (measured) console.log(`\nFigures measured in this run:\n${measured.split('\n').map((l) => `  ${l}`).join('\n')}`);
// The run's totals as the last line, so they close the output whatever came before.
const summary = readFileSync(tap, 'utf8');
const count = (what) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(summary)?.[1] ?? 0);
console.log(`tests: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
rmSync(dirname(figures), { recursive: true, force: true });
process.exit(r.status ?? 1);
