// Loopback demo: a real BIND primary + secondary and a real TLS service (postfix or nginx) in temp
// dirs, one DANE rollover driven through the built CLI, printed as a timeline with independent checks
// (dig, openssl s_client -dane_tlsa_*). Changes nothing system-wide; cleans up on exit and on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary } from '../../test/harness/binaries.js';
import { startBind } from '../../test/harness/bind.js';
import { makeCa, makeLeaf, opensslAssociation, removeCertDir, type CertFiles } from '../../test/harness/certs.js';
import { CLI, makeWorkspace, runCli } from '../../test/harness/cli.js';
import { dig, tlsaOf, type Endpoint } from '../../test/harness/dns.js';
import { startNginx } from '../../test/harness/nginx.js';
import { startPostfix } from '../../test/harness/postfix.js';
import type { HarnessContext } from '../../test/harness/tempdir.js';
import { probeEndpoint } from '../../src/io/probe.js';

const TTL = 3;
const DELAY_FACTOR = 2;
const ZONE = 'example.test';

// ---------------------------------------------------------------------------------------------
// Cleanup: the harness registers its teardown with `t.after(fn)` (node:test style); this adapter
// collects those callbacks and runs them in reverse at the end, on failure and on Ctrl-C.
const cleanups: (() => void | Promise<void>)[] = [];
const ctx: HarnessContext & { passed?: boolean } = { after: (fn) => void cleanups.push(fn), passed: undefined };
let running: ChildProcess | undefined; // the CLI child currently running, killed by its PID on Ctrl-C
let cleaning: Promise<void> | undefined;
let interrupted = false; // after Ctrl-C: no more output, servers' logs are not dumped

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (running?.pid && running.exitCode === null) {
      try {
        process.kill(running.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    // The harness prints its servers' logs when a run failed; after Ctrl-C they are only noise.
    const write = process.stderr.write;
    if (interrupted) process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      for (const fn of cleanups.splice(0).reverse()) {
        try {
          await fn();
        } catch (err) {
          if (!interrupted) process.stderr.write(`cleanup: ${(err as Error).message}\n`);
        }
      }
    } finally {
      process.stderr.write = write;
    }
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping the demo's servers and removing its temp dirs…\n`);
    void cleanup().then(() => {
      process.stderr.write('demo interrupted; everything it started is stopped and removed\n');
      process.exit(130);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Output: one timeline line per step, elapsed seconds since the start.
const t0 = Date.now();
const secs = (ms = Date.now()) => `+${((ms - t0) / 1000).toFixed(1)}s`;
const since = (ms = Date.now()) => secs(ms).padStart(7);
const line = (tag: string, text: string, at?: number) => void (interrupted || process.stdout.write(`${since(at)}  ${tag.padEnd(9)} ${text}\n`));
// danehook's log lines are "<ISO time> danehook <message>"; the timeline shows the message.
const logMessage = (l: string) => l.replace(/^\S+ danehook /, '');
const detail = (text: string) => void (interrupted || process.stdout.write(`${' '.repeat(18)}${text}\n`));

const failures: string[] = [];
function check(ok: boolean, what: string): boolean {
  line(ok ? 'check ok' : 'CHECK', `${ok ? '' : 'FAILED: '}${what}`);
  if (!ok) failures.push(what);
  return ok;
}

// ---------------------------------------------------------------------------------------------
type Service = 'postfix' | 'nginx';

function chooseService(): Service {
  const arg = process.argv.slice(2).find((a) => a.startsWith('--service='))?.slice('--service='.length) ?? process.env.DEMO_SERVICE;
  if (arg === 'postfix' || arg === 'nginx') return arg;
  if (arg) throw new Error(`unknown service "${arg}" (postfix or nginx)`);
  // postfix needs root (its daemons drop to the postfix user); nginx runs as anyone.
  return process.getuid?.() === 0 && findBinary('postfix') ? 'postfix' : 'nginx';
}

interface Served {
  primary: string[];
  secondary: string[];
  /** 3 1 1 association data of the certificate the service presents, or an error text. */
  presented: string;
}

async function main(): Promise<number> {
  const service = chooseService();
  const needed = ['named', 'dig', 'openssl', service];
  const missing = needed.filter((b) => !findBinary(b));
  if (missing.length > 0) throw new Error(`missing programs: ${missing.join(', ')} (run: bash test/setup-debian.sh)`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);

  const host = service === 'postfix' ? `mx.${ZONE}` : `www.${ZONE}`;
  const tlsaPort = service === 'postfix' ? 25 : 443;
  const owner = `_${tlsaPort}._tcp.${host}.`;
  process.stdout.write(`danehook loopback demo: ${service}, TLSA owner ${owner}, TTL ${TTL} s, delayFactor ${DELAY_FACTOR}\n\n`);

  // 1. Two certificates from a throwaway CA: A is live now, B is the "renewed" one (new key).
  const ca = makeCa('danehook demo CA');
  ctx.after(() => removeCertDir(ca));
  const a = makeLeaf(ca, [host]);
  const b = makeLeaf(ca, [host]);
  const assoc = (c: CertFiles) => opensslAssociation(c.certPath, 1, 1);
  const A = assoc(a);
  const B = assoc(b);
  const label = (hex: string) => (hex === A ? 'A' : hex === B ? 'B' : `?${hex.slice(0, 8)}`);
  const labels = (rrs: string[]) => `{${rrs.map((r) => label(r.split(' ')[3] ?? '')).sort().join(',')}}`;
  line('certs', `A (live) 3 1 1 ${A}`);
  line('certs', `B (new)  3 1 1 ${B}    (openssl: SHA-256 of each SPKI)`);

  // 2. BIND: primary + secondary on loopback ports; A's TLSA is already published, as on a site
  //    that has run DANE for a while (so activation must wait delayFactor × TTL after propagation).
  const relOwner = owner.slice(0, -(ZONE.length + 2));
  const bind = await startBind(ctx, { zone: ZONE, ttl: TTL, secondary: true, records: [`${relOwner} ${TTL} IN TLSA 3 1 1 ${A}`] });
  const primary = bind.primary;
  const secondary = bind.secondary!;
  line('dns', `BIND primary 127.0.0.1:${primary.port}, secondary 127.0.0.1:${secondary.port} (NOTIFY + IXFR), TSIG key ${bind.key.name} may update TLSA only`);
  detail(`zone files and logs in ${bind.tempDir}`);

  // 3. The TLS service, serving A from files in its temp dir (danehook installs there later).
  let endpoint: Endpoint;
  let probeProtocol: 'smtp' | 'tls';
  let reload: string[];
  let install: Record<string, string>;
  if (service === 'postfix') {
    const pf = await startPostfix(ctx, { combinedPem: readFileSync(a.combinedPath, 'utf8'), myhostname: host, ipv6: false });
    endpoint = { host: '127.0.0.1', port: pf.smtpPort };
    probeProtocol = 'smtp';
    reload = [findBinary('postfix')!, '-c', pf.configDir, 'reload'];
    install = { combined: pf.chainFile };
    line('service', `postfix on 127.0.0.1:${pf.smtpPort} (SMTP + STARTTLS), smtpd_tls_chain_files = ${pf.chainFile}`);
  } else {
    const ng = await startNginx(ctx, { fullchainPem: readFileSync(a.fullchainPath, 'utf8'), keyPem: readFileSync(a.keyPath, 'utf8'), ipv6: false });
    endpoint = { host: '127.0.0.1', port: ng.port };
    probeProtocol = 'tls';
    reload = [findBinary('nginx')!, '-p', ng.dir, '-c', join(ng.dir, 'nginx.conf'), '-s', 'reload'];
    install = { fullchain: ng.certFile, key: ng.keyFile };
    line('service', `nginx on 127.0.0.1:${ng.port} (HTTPS), ssl_certificate = ${ng.certFile}`);
  }

  // 4. danehook's config: everything in a temp workspace; reload = the service's reload argv.
  const ws = makeWorkspace();
  ctx.after(() => ws.remove());
  const config = ws.writeConfig({
    stateDir: ws.stateDir,
    dns: {
      server: `127.0.0.1:${primary.port}`,
      tsig: { name: 'danehook-key', keyFile: bind.keyFilePath },
      nameservers: [`127.0.0.1:${primary.port}`, `127.0.0.1:${secondary.port}`],
      ttl: TTL,
      timeout: '2s',
    },
    rollover: { delayFactor: DELAY_FACTOR, propagationTimeout: '30s' },
    certificates: [{
      id: service === 'postfix' ? 'mx' : 'www',
      domains: [host],
      ports: [tlsaPort],
      tlsa: ['3 1 1'],
      // The demo shows the delayed path of a new key (A → B): no next key is announced beside it
      // (README "Zero-wait renewals" shows the other path).
      nextKey: { mode: 'off' },
      install,
      reload,
      // The demo's service listens on a high port, not on the port in the TLSA owner name.
      probe: { protocol: probeProtocol, addresses: [`127.0.0.1:${endpoint.port}`] },
    }],
  });
  line('config', `${config}`);
  detail(`install → ${Object.values(install).join(', ')}; reload → ${reload.join(' ')}`);

  // Observations: dig on both servers, the certificate the service presents (STARTTLS for SMTP).
  const tlsaAt = async (server: Endpoint) => tlsaOf(await dig(server, owner, 'TLSA'));
  const presented = async (): Promise<string> => {
    try {
      const r = await probeEndpoint({ host: endpoint.host, port: endpoint.port, protocol: probeProtocol, servername: host, timeoutMs: 3000 });
      const spki = new X509Certificate(r.chain[0]!).publicKey.export({ type: 'spki', format: 'der' });
      return createHash('sha256').update(spki).digest('hex');
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  };
  const observe = async (): Promise<Served> => {
    const [p, s, c] = await Promise.all([tlsaAt(primary), tlsaAt(secondary), presented()]);
    return { primary: p, secondary: s, presented: c };
  };
  // Safety invariant (DESIGN.md): every server's RRset has a record for the certificate presented.
  let uncovered = 0;
  const report = (tag: string, o: Served) => {
    const covers = (rrs: string[]) => rrs.some((r) => r === `3 1 1 ${o.presented}`);
    const covered = covers(o.primary) && covers(o.secondary);
    if (!covered) uncovered++;
    line(tag, `dig primary ${labels(o.primary).padEnd(7)} secondary ${labels(o.secondary).padEnd(7)} service presents ${label(o.presented).padEnd(2)} ${covered ? 'covered' : 'NOT COVERED'}`);
  };
  const showCli = (args: string[], r: { code: number | null; stderr: string }, ms: number) => {
    line('cli', `danehook ${args.join(' ')} → exit ${r.code} in ${(ms / 1000).toFixed(1)} s`);
    for (const l of r.stderr.trim().split('\n').filter(Boolean)) detail(`| ${logMessage(l)}`);
  };
  const cli = async (args: string[]) => {
    const started = Date.now();
    const r = await runCli([...args, '-c', config]);
    showCli(args, r, Date.now() - started);
    return r;
  };

  report('observe', await observe());

  // 5. pre-deploy (preflight), then deploy B: stage + publish beside A, return at once.
  check((await cli(['pre-deploy'])).code === 0, 'pre-deploy: config, state dir, DNS server and TSIG key accepted');
  const d = await cli(['deploy', '--pem', b.combinedPath]);
  check(d.code === 0, 'deploy exited 0 (published, activation deferred)');
  await bind.waitForSecondarySync(5000);
  const afterDeploy = await observe();
  report('observe', afterDeploy);
  check(afterDeploy.primary.length === 2 && afterDeploy.presented === A, 'after deploy: A and B published side by side, service still presents A');

  // 6. post-deploy --wait: propagation, delay, activation (install + reload), cleanup. Sample the
  //    servers and the service every second meanwhile; show the state's events as they happen.
  const args = ['post-deploy', '--wait', '-c', config];
  line('cli', `danehook post-deploy --wait  (running; sampling every second)`);
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] });
  running = child;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk;
    let nl;
    while ((nl = stderr.indexOf('\n')) >= 0) {
      const l = stderr.slice(0, nl);
      stderr = stderr.slice(nl + 1);
      if (l.trim()) line('| cli', logMessage(l));
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  const eventsFile = join(ws.stateDir, 'events.jsonl');
  let seenEvents = 0;
  let deadline: number | undefined;
  const showEvents = () => {
    if (!existsSync(eventsFile)) return;
    const events = readFileSync(eventsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
    for (const e of events.slice(seenEvents)) {
      if (e.activateAfter && deadline === undefined) {
        deadline = Date.parse(e.activateAfter);
        line('deadline', `activation not before ${secs(deadline)} = last server served B (${secs(Date.parse(e.propagatedAt ?? ''))}) + ${DELAY_FACTOR} × TTL ${TTL} s [${e.activateAfter}]`);
      }
      if (e.phase) line('state', `phase → ${e.phase}${e.at ? ` (recorded ${secs(Date.parse(e.at))})` : ''}${e.reason ? ` (${e.reason})` : ''}`);
    }
    seenEvents = events.length;
  };
  const samples: { at: number; o: Served }[] = [];
  while (code === undefined && Date.now() - started < 45_000) {
    const o = await observe();
    samples.push({ at: Date.now(), o });
    showEvents();
    report('observe', o);
    await Promise.race([sleep(1000), exited]);
  }
  if (code === undefined) {
    child.kill('SIGTERM');
    await exited;
  }
  running = undefined;
  showEvents();
  line('cli', `danehook post-deploy --wait → exit ${code} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  check(code === 0, 'post-deploy --wait exited 0');

  // 7. Final state and independent checks.
  await bind.waitForSecondarySync(5000);
  const final = await observe();
  samples.push({ at: Date.now(), o: final });
  report('observe', final);
  const firstB = samples.find((s) => s.o.presented === B);
  const lastA = samples.filter((s) => s.o.presented === A).at(-1);
  check(deadline !== undefined && firstB !== undefined && firstB.at >= deadline,
    `service presented B only after the deadline (A last seen ${lastA ? secs(lastA.at) : '-'}, B first seen ${firstB ? secs(firstB.at) : 'never'}, deadline ${deadline ? secs(deadline) : 'none'})`);
  const events = existsSync(eventsFile) ? readFileSync(eventsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>) : [];
  const activated = events.filter((e) => e.phase === 'activated').at(-1);
  check(activated !== undefined && deadline !== undefined && Date.parse(activated.at!) >= deadline, 'activation happened at or after the deadline (state events)');
  check(uncovered === 0, 'at every sample, both servers served a TLSA record matching the presented certificate');
  check(final.presented === B, 'service presents B');
  check(final.primary.join() === `3 1 1 ${B}` && final.secondary.join() === `3 1 1 ${B}`, 'both servers serve only B\'s record (A\'s cleaned up)');

  // openssl, not danehook: DANE-verify the live service against what the secondary serves now.
  const verify = async (rrdata: string) => {
    const starttls = service === 'postfix' ? ['-starttls', 'smtp', '-name', host] : ['-servername', host];
    // stdin is /dev/null: s_client completes the handshake, prints its verdict and quits at EOF.
    const args = ['s_client', '-connect', `127.0.0.1:${endpoint.port}`, ...starttls, '-dane_tlsa_domain', host, '-dane_tlsa_rrdata', rrdata, '-brief'];
    return new Promise<string>((resolve) => {
      const p = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      p.stderr!.on('data', (d) => (out += d));
      p.on('close', () => resolve(out));
      p.on('error', (err) => resolve(String(err)));
    });
  };
  const served = final.secondary[0] ?? '';
  const out = await verify(served);
  line('openssl', `s_client -dane_tlsa_domain ${host} -dane_tlsa_rrdata "${served.slice(0, 24)}…"`);
  for (const l of out.split('\n').filter((l) => /Verification|Verified peername|DANE TLSA/.test(l))) detail(l.trim());
  check(/Verification: OK/.test(out), 'openssl s_client: Verification: OK against the TLSA record in DNS');
  const stale = await verify(`3 1 1 ${A}`);
  line('openssl', `same, with A's old record "3 1 1 ${A.slice(0, 16)}…"`);
  for (const l of stale.split('\n').filter((l) => /Verification|verify error/i.test(l)).slice(0, 2)) detail(l.trim());
  check(!/Verification: OK/.test(stale), 'openssl s_client rejects the service against A\'s old record (the check has teeth)');
  return failures.length === 0 ? 0 : 1;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  if (!interrupted) process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
}
if (!interrupted) {
  ctx.passed = exitCode === 0;
  await cleanup();
  process.stdout.write(exitCode === 0
    ? `\nall checks passed (${secs()}); servers stopped, temp dirs removed\n`
    : `\ndemo FAILED${failures.length ? `: ${failures.join('; ')}` : ''}; servers stopped, temp dirs removed\n`);
  process.exit(exitCode);
}
