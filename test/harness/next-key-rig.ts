// Rig for the next-key end-to-end tests: BIND primary + secondary with TLSA TTL 30 s, pebble, postfix
// serving an openssl-made certificate A (no records yet), danehook (nextKey auto, margin 1 s), and the
// independent outage monitor on both servers and both postfix listeners from the first moment.
// Helpers read every claim from outside: dig for RRsets, openssl for keys, events.jsonl for times.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBind } from './bind.js';
import { makeCa, makeIntermediate, makeLeaf, removeCertDir, type Ca, type CertFiles } from './certs.js';
import { bindConfig, makeWorkspace, postfixEntry, runCli, type Workspace } from './cli.js';
import { presentedSpkiSha256, readTlsa } from './dane-check.js';
import { DOMAIN, OWNER } from './e2e.js';
import { startPostfixOutageMonitor, type OutageMonitor, type OutageReport } from './outage-monitor.js';
import { startPebble, type PebbleHandle } from './pebble.js';
import { startPostfix, type PostfixInstance } from './postfix.js';
import { sleep } from './steps.js';
import type { HarnessContext } from './tempdir.js';

/** TLSA TTL: long enough that a wait of 2 × TTL is plain to see next to a zero-wait activation. */
export const TTL = 30;
const MARGIN = '1s';

export interface NextKeyRig {
  bind: Awaited<ReturnType<typeof startBind>>;
  pebble: PebbleHandle;
  pf: PostfixInstance;
  ws: Workspace;
  ca: Ca;
  a: CertFiles;
  config: string;
  monitor: OutageMonitor;
  hookEnv: Record<string, string>;
  presented(): Promise<string>;
  status(): Promise<any>;
  events(): { at: string; event?: string; phase?: string; rollover?: string; [k: string]: unknown }[];
}

export async function startNextKeyRig(t: HarnessContext): Promise<NextKeyRig> {
  const [bind, pebble] = await Promise.all([startBind(t, { zone: 'example.test', ttl: TTL, secondary: true }), startPebble(t)]);
  const ws = makeWorkspace();
  const root = makeCa('Next-key Root');
  const ca = makeIntermediate(root, 'Next-key Intermediate');
  t.after(() => { ws.remove(); removeCertDir(root); });
  const a = makeLeaf(ca, [DOMAIN]);
  const pf = await startPostfix(t, { combinedPem: readFileSync(a.combinedPath, 'utf8'), ipv6: false });
  // nextKey stated: the harness's bindConfig turns it off for the classic-path tests.
  const config = ws.writeConfig(bindConfig(ws, bind, { domains: [DOMAIN], ...postfixEntry(pf), nextKey: { mode: 'auto' } }, { ttl: TTL, rollover: { propagationTimeout: '60s', margin: MARGIN } }));
  const monitor = startPostfixOutageMonitor(bind, { host: '127.0.0.1', smtpPort: pf.smtpPort, smtpsPort: pf.smtpsPort }, OWNER, TTL);
  t.after(async () => void (await monitor.stop()));
  await monitor.waitSamples(3);
  return {
    bind, pebble, pf, ws, ca, a, config, monitor,
    hookEnv: { DANEHOOK_CONFIG: config },
    presented: () => presentedSpkiSha256('127.0.0.1', pf.smtpPort),
    async status() {
      const r = await runCli(['status', '--json', '--offline', '-c', config]);
      assert.equal(r.code, 0, `status: ${r.stderr}`);
      return JSON.parse(r.stdout).certificates[0];
    },
    events: () => readFileSync(join(ws.stateDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)),
  };
}

/** dig on both servers once the secondary caught up: they must agree; sorted "3 1 1 <hex>" lines. */
export async function servedRrset(rig: NextKeyRig): Promise<string[]> {
  assert.ok(await rig.bind.waitForSecondarySync(), 'the secondary caught up with the primary');
  const [p, s] = await Promise.all([readTlsa(rig.bind.primary, OWNER), readTlsa(rig.bind.secondary!, OWNER)]);
  assert.deepEqual([...s].sort(), [...p].sort(), 'secondary and primary serve the same RRset');
  return [...p].sort();
}

export const rec = (spki: string) => `3 1 1 ${spki}`;
export const rrsetOf = (...spkis: string[]) => spkis.map(rec).sort();

/**
 * Timer-like `post-deploy` runs (each its own process, exit 0) until the newest rollover is
 * `cleaned` and the announced next key is aged (`agedAt` passed); returns the entry's status.
 */
export async function postDeployUntilAged(rig: NextKeyRig, opts: { everyMs?: number; maxMs?: number } = {}): Promise<any> {
  const deadline = Date.now() + (opts.maxMs ?? 150_000);
  for (;;) {
    const st = await rig.status();
    const cleaned = (st.rollovers.at(-1)?.phase ?? 'cleaned') === 'cleaned';
    if (cleaned && st.next?.phase === 'propagated' && st.next.agedAt && Date.parse(st.next.agedAt) <= Date.now()) return st;
    assert.ok(Date.now() < deadline, `not aged in time: rollover ${st.rollovers.at(-1)?.phase}, next ${JSON.stringify(st.next)}`);
    const p = await runCli(['post-deploy', '-c', rig.config], { timeoutMs: 60_000 });
    assert.equal(p.code, 0, `post-deploy exited ${p.code}:\n${p.stderr}`);
    const agedIn = st.next?.agedAt ? Date.parse(st.next.agedAt) - Date.now() : 0;
    await sleep(Math.min(Math.max(agedIn, 0) + 50, opts.everyMs ?? 1000));
  }
}

/** Timer-like runs until the newest rollover is `cleaned` and the next key (if any) is served everywhere. */
export async function postDeployUntilSettled(rig: NextKeyRig, opts: { everyMs?: number; maxMs?: number } = {}): Promise<{ status: any; runs: number }> {
  const deadline = Date.now() + (opts.maxMs ?? 150_000);
  for (let runs = 0; ; runs++) {
    const st = await rig.status();
    if (st.rollovers.at(-1)?.phase === 'cleaned' && (!st.next || st.next.phase === 'propagated')) return { status: st, runs };
    assert.ok(Date.now() < deadline, `never settled: rollover ${st.rollovers.at(-1)?.phase}, next ${st.next?.phase}`);
    const p = await runCli(['post-deploy', '-c', rig.config], { timeoutMs: 60_000 });
    assert.equal(p.code, 0, `post-deploy exited ${p.code}:\n${p.stderr}`);
    await sleep(opts.everyMs ?? 1000);
  }
}

/** When the newest rollover with this SPKI was `activated`, per events.jsonl (ms since epoch). */
export function activatedAt(rig: NextKeyRig, rolloverId: string): number {
  const e = rig.events().filter((x) => x.event === 'phase' && x.phase === 'activated' && x.rollover === rolloverId).at(-1);
  assert.ok(e, `events.jsonl has no "activated" for rollover ${rolloverId}`);
  return Date.parse(e.at);
}

export function assertNoViolation(report: OutageReport, what: string): void {
  assert.ok(report.samples > 50, `${what}: the monitor took only ${report.samples} samples`);
  assert.equal(report.violations, 0, `${what}: DANE violations seen by the monitor:\n${report.details.join('\n')}`);
}

/**
 * Control: the same rig and monitor catch a certificate whose records are not published — a new
 * key swapped into postfix by hand. Run last: it leaves the service failing DANE on purpose.
 */
export async function assertMonitorCatchesSwap(rig: NextKeyRig): Promise<number> {
  const before = rig.monitor.report().violations;
  const rogue = makeLeaf(rig.ca, [DOMAIN]);
  rig.pf.installCert(readFileSync(rogue.combinedPath, 'utf8'));
  await rig.pf.reload();
  await rig.monitor.waitSamples(20);
  const caught = rig.monitor.report().violations - before;
  assert.ok(caught > 0, 'control: the monitor saw no violation although postfix presents a key no record matches');
  return caught;
}
