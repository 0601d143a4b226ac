// How long runs wait for the lock, from the config: the legitimate hold grows with reload, probe
// and DNS timeouts and the number of entries; a deploy hook's wait stays inside lego's 120 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../../src/config/schema.js';
import { computeDeployLockWaitMs, computeLockHoldMs, HOOK_LIMIT_MS } from '../../../src/rollover/lock-wait.js';
import { LOCK_WAIT_MS } from '../../../src/io/state-store.js';

const config = (entry: Record<string, unknown> = {}, dns: Record<string, unknown> = {}, more: Record<string, unknown>[] = []) =>
  configSchema.parse({
    dns: { server: '127.0.0.1:53', tsig: { name: 'k', secretFile: '/s' }, ...dns },
    certificates: [{ id: 'mx', domains: ['mx.example.com'], ports: [25], ...entry }, ...more],
  });

test('the hold covers reload twice (rollback), activate, two probes and the DNS steps', () => {
  const c = config({ reload: ['true'], reloadTimeout: '30s', activate: ['true'], probe: { timeout: '10s', grace: '5s' } }, { timeout: '2s' });
  // 3 commands × (30 + 2 s kill grace) + 2 × (10 + 5) + 6 × 2
  assert.equal(computeLockHoldMs(c), 3 * 32_000 + 30_000 + 12_000);
});

test('no reload: only probes and DNS; entries add up', () => {
  const one = config({ probe: { protocol: 'none', timeout: '1s', grace: '0s' } }, { timeout: '1s' });
  assert.equal(computeLockHoldMs(one), 2 * 1_000 + 6 * 1_000);
  const two = config({ probe: { protocol: 'none', timeout: '1s', grace: '0s' } }, { timeout: '1s' }, [{ id: 'www', domains: ['www.example.com'], ports: [443], probe: { timeout: '1s', grace: '0s' } }]);
  assert.equal(computeLockHoldMs(two), 2 * computeLockHoldMs(one));
});

test('a deploy waits the whole hold when it fits inside lego’s limit with room for its own work', () => {
  const c = config({ reload: ['sleep', '30'], reloadTimeout: '40s', probe: { protocol: 'none', timeout: '1s', grace: '0s' } }, { timeout: '1s' });
  const hold = computeLockHoldMs(c);
  assert.equal(hold, 2 * 42_000 + 2_000 + 6_000);
  assert.ok(hold < HOOK_LIMIT_MS - 17_000);
  assert.equal(computeDeployLockWaitMs(c, c.certificates[0]!), hold);
});

test('defaults (reload timeout 60 s): the deploy wait is capped below 120 s minus its own work', () => {
  const c = config({ reload: ['systemctl', 'reload', 'postfix'] });
  const wait = computeDeployLockWaitMs(c, c.certificates[0]!);
  assert.ok(computeLockHoldMs(c) > HOOK_LIMIT_MS);
  // 120 s − probe timeout 10 s − 6 × DNS timeout 5 s − 10 s overhead
  assert.equal(wait, 70_000);
});

test('never below the old 5 s wait, even with tiny timeouts', () => {
  const c = config({ probe: { protocol: 'none', timeout: '100ms', grace: '0s' } }, { timeout: '100ms' });
  assert.equal(computeDeployLockWaitMs(c, c.certificates[0]!), LOCK_WAIT_MS);
});
