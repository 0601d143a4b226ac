// End-to-end rig for the real ACME clients: BIND primary + secondary (TTL 2 s), pebble, postfix
// serving an openssl-made certificate A whose records are not in DNS yet, a danehook config that
// installs into postfix's chain file, and a "timer" that runs `danehook post-deploy` as separate
// processes while every claim is checked independently (dig, openssl s_client, openssl pkey).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startBind, type BindHandle } from './bind.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from './certs.js';
import { makeWorkspace, runCli, type Workspace, bindConfig, postfixEntry } from './cli.js';
import { opensslDaneVerify, presentedSpkiSha256, readTlsa } from './dane-check.js';
import type { Endpoint } from './dns.js';
import { startPebble, type PebbleHandle } from './pebble.js';
import { startPostfix, type PostfixInstance } from './postfix.js';
import type { HarnessContext } from './tempdir.js';

const run = promisify(execFile);

export const DOMAIN = 'mx.example.test';
export const OWNER = `_25._tcp.${DOMAIN}.`;
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HOOKS = join(ROOT, 'hooks');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** openssl: SHA-256 of the SPKI of a private key file (what a 3 1 1 record of its certificate holds). */
export function keySpkiSha256(keyPath: string): string {
  const der = execFileSync('openssl', ['pkey', '-in', keyPath, '-pubout', '-outform', 'DER']);
  return execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().split(/\s/)[0]!.toLowerCase();
}

/** openssl: SHA-256 of the SPKI of the first certificate in a PEM file. */
export const certSpkiSha256 = (certPath: string) => opensslAssociation(certPath, 1, 1);

/** Run `fn` with extra variables in process.env (the ACME client runners pass process.env on). */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export interface HookRun { args: string[]; start: number; end: number; code: number }

/**
 * A transparent wrapper around a hook: logs start/end (ms since epoch, GNU date) and exit code of
 * each call, passes arguments, environment, cwd, stdout/stderr through, and exits with the hook's code.
 * The path has no spaces (lego v4 splits the hook command on spaces).
 */
export function writeTimedHook(dir: string, name: string, target: string): { path: string; runs(): HookRun[] } {
  const path = join(dir, name);
  const log = join(dir, `${name}.timing`);
  writeFileSync(path, [
    '#!/bin/sh',
    `log='${log}'`,
    'start=$(date +%s%3N)',
    `'${target}' "$@"`,
    'rc=$?',
    'end=$(date +%s%3N)',
    'printf \'%s %s %s %s\\n\' "$start" "$end" "$rc" "$*" >> "$log"',
    'exit $rc',
    '',
  ].join('\n'));
  chmodSync(path, 0o755);
  return {
    path,
    runs: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []).map((l) => {
      const [start, end, code, ...args] = l.split(' ');
      return { start: Number(start), end: Number(end), code: Number(code), args };
    }),
  };
}

export interface Rig {
  bind: BindHandle;
  pebble: PebbleHandle;
  pf: PostfixInstance;
  ws: Workspace;
  /** The openssl-made certificate postfix serves at the start (no records in DNS). */
  a: CertFiles;
  config: string;
  /** Environment the hook needs in the client's environment. */
  hookEnv: Record<string, string>;
  presented(): Promise<string>;
  status(): Promise<any>;
  events(): { at: string; event?: string; phase?: string; [k: string]: unknown }[];
}

export async function startRig(t: HarnessContext): Promise<Rig> {
  const [bind, pebble] = await Promise.all([startBind(t, { zone: 'example.test', ttl: 2, secondary: true }), startPebble(t)]);
  const ws = makeWorkspace();
  const ca = makeCa('E2E Root');
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const a = makeLeaf(makeIntermediate(ca, 'E2E Intermediate'), [DOMAIN]);
  const pf = await startPostfix(t, { combinedPem: readFileSync(a.combinedPath, 'utf8'), ipv6: false });
  const config = ws.writeConfig(bindConfig(ws, bind, { domains: [DOMAIN], ...postfixEntry(pf) }, { rollover: { propagationTimeout: '60s' } }));
  return {
    bind, pebble, pf, ws, a, config,
    hookEnv: { DANEHOOK_CONFIG: config },
    presented: () => presentedSpkiSha256('127.0.0.1', pf.smtpPort),
    async status() {
      const r = await runCli(['status', '--json', '--offline', '-c', config]);
      assert.equal(r.code, 0, `status: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    events: () => readFileSync(join(ws.stateDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)),
  };
}

/** Both servers' RRsets (dig), then the SPKI postfix presents (openssl): the served key must be in every RRset. */
interface Observation { start: number; end: number; spki: string; primary: string[]; secondary: string[] }

async function observe(rig: Rig): Promise<Observation> {
  const start = Date.now();
  const [primary, secondary] = await Promise.all([readTlsa(rig.bind.primary, OWNER), readTlsa(rig.bind.secondary!, OWNER)]);
  const spki = await rig.presented();
  return { start, end: Date.now(), spki, primary, secondary };
}

export interface TimerResult {
  runs: number;
  phases: string[];
  /** Continuous observations of postfix and both servers taken in the background. */
  observations: Observation[];
  elapsedMs: number;
}

/**
 * Drive `danehook post-deploy` like a timer (every ~intervalMs, each run its own process) until
 * the newest rollover of `mx` is `cleaned`. After every run: exit 0, and openssl's DANE check passes
 * against postfix with the RRset each server serves. Meanwhile a background loop keeps observing
 * postfix and both servers. `beforeRun(i)` may change the world (hold/release the secondary).
 */
export async function driveTimer(rig: Rig, opts: { intervalMs?: number; maxRuns?: number; beforeRun?: (i: number, phase: string) => Promise<void> } = {}): Promise<TimerResult> {
  const interval = opts.intervalMs ?? 500;
  const observations: Observation[] = [];
  let stop = false;
  const background = (async () => {
    while (!stop) {
      observations.push(await observe(rig));
      await sleep(50);
    }
  })();
  const t0 = Date.now();
  const phases: string[] = [];
  const everServed = new Set<string>();
  let runs = 0;
  try {
    for (let i = 0; i < (opts.maxRuns ?? 60); i++) {
      const phase = (await rig.status()).certificates[0].rollovers.at(-1)?.phase ?? 'none';
      if (phases.at(-1) !== phase) phases.push(phase);
      if (phase === 'cleaned') break;
      await opts.beforeRun?.(i, phase);
      const began = Date.now();
      const p = await runCli(['post-deploy', '-c', rig.config], { timeoutMs: 30_000 });
      runs++;
      assert.equal(p.code, 0, `post-deploy run ${i} (phase ${phase}) exited ${p.code}:\n${p.stderr}`);
      for (const [name, server] of [['secondary', rig.bind.secondary!], ['primary', rig.bind.primary]] as [string, Endpoint][]) {
        const rrset = await readTlsa(server, OWNER);
        // No RRset at all (a secondary that never had one): DANE is not in use there, nothing to verify.
        if (rrset.length === 0 && !everServed.has(name)) continue;
        everServed.add(name);
        const check = await opensslDaneVerify('127.0.0.1', rig.pf.smtpPort, DOMAIN, rrset);
        assert.ok(check.ok, `after post-deploy run ${i} (phase was ${phase}) DANE fails against the ${name}'s RRset ${JSON.stringify(rrset)}:\n${check.output}`);
      }
      await sleep(Math.max(0, interval - (Date.now() - began)));
    }
  } finally {
    stop = true;
    await background;
  }
  // One more look once the timer is done: under load a single slow observation can span the whole
  // switch, and the end state must be among what was seen (switchWindow needs it).
  observations.push(await observe(rig));
  assert.equal(phases.at(-1), 'cleaned', `phases seen: ${phases.join(' → ')}`);
  // Every observation: the key postfix presented is in every RRset; an empty RRset only on a server
  // that has not served one yet (no TLSA: no DANE), never once it did (an emptied RRset).
  const seen = { primary: false, secondary: false };
  for (const o of observations) {
    for (const name of ['primary', 'secondary'] as const) {
      if (o[name].length === 0 && !seen[name]) continue;
      seen[name] = true;
      assert.ok(o[name].includes(`3 1 1 ${o.spki}`), `postfix presented ${o.spki} while the ${name} served ${JSON.stringify(o[name])}`);
    }
  }
  return { runs, phases, observations, elapsedMs: Date.now() - t0 };
}

/**
 * The switch seen from outside: postfix presented `from` until some moment, `to` after it, never
 * back. Returns the window [lastFrom.start, firstTo.end] the switch happened in.
 */
export function switchWindow(obs: Observation[], from: string, to: string): { lastFromStart: number; firstToEnd: number } {
  assert.ok(obs.length > 2, 'too few background observations');
  const firstTo = obs.findIndex((o) => o.spki === to);
  assert.ok(firstTo > 0, `postfix never seen presenting ${to} (or never seen presenting ${from} first)`);
  for (const o of obs.slice(0, firstTo)) assert.equal(o.spki, from, 'postfix presented an unexpected certificate before the switch');
  for (const o of obs.slice(firstTo)) assert.equal(o.spki, to, 'postfix went back to the old certificate after the switch');
  return { lastFromStart: obs[firstTo - 1]!.start, firstToEnd: obs[firstTo]!.end };
}

/** The step-1 checks after a client's hook ran `danehook deploy`: both certificates' records on the primary, postfix still on `live`. */
export async function assertPublishedBeside(rig: Rig, liveSpki: string, newSpki: string): Promise<void> {
  assert.notEqual(liveSpki, newSpki, 'the client must have issued a new key');
  assert.deepEqual(await readTlsa(rig.bind.primary, OWNER), [`3 1 1 ${liveSpki}`, `3 1 1 ${newSpki}`].sort(), 'live and new records side by side on the primary');
  assert.equal(await rig.presented(), liveSpki, 'postfix still presents the live certificate');
}

/** Step 3 and the timestamps of step 2: only the new records remain, postfix presents the new key, no switch before activateAfter. */
export async function assertRolledOver(rig: Rig, timer: TimerResult, liveSpki: string, newSpki: string): Promise<{ rollover: any; window: { lastFromStart: number; firstToEnd: number } }> {
  assert.deepEqual(await readTlsa(rig.bind.primary, OWNER), [`3 1 1 ${newSpki}`], 'only the new records remain on the primary');
  assert.ok(await rig.bind.waitForSecondarySync());
  assert.deepEqual(await readTlsa(rig.bind.secondary!, OWNER), [`3 1 1 ${newSpki}`], 'only the new records remain on the secondary');
  assert.equal(await rig.presented(), newSpki, 'postfix presents the client\'s key');
  const rollover = (await rig.status()).certificates[0].rollovers.at(-1);
  assert.equal(rollover.spki, newSpki);
  const window = switchWindow(timer.observations, liveSpki, newSpki);
  const activateAfter = Date.parse(rollover.activateAfter);
  assert.ok(Number.isFinite(activateAfter), `activateAfter ${rollover.activateAfter}`);
  // Sound from outside: an observation that *finished* before activateAfter never showed the new key.
  assert.ok(window.firstToEnd >= activateAfter, `postfix presented the new certificate by ${new Date(window.firstToEnd).toISOString()}, before activateAfter ${rollover.activateAfter}`);
  // And the state agrees with what was seen.
  const activatedAt = Date.parse(rollover.activatedAt);
  assert.ok(activatedAt >= activateAfter, `activatedAt ${rollover.activatedAt} < activateAfter ${rollover.activateAfter}`);
  const activated = rig.events().filter((e) => e.phase === 'activated').at(-1);
  assert.ok(activated && Date.parse(activated.at) >= activateAfter, `events.jsonl: activated ${activated?.at}, activateAfter ${rollover.activateAfter}`);
  return { rollover, window };
}

export async function runTimed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const t0 = Date.now();
  const result = await fn();
  return { result, ms: Date.now() - t0 };
}

export { run as execFileP };
