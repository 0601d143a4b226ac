// The real DKIM milters for the mail rig: OpenDKIM signing from KeyTable/SigningTable files,
// rspamd 3.4 (rspamd_proxy in milter mode, self-scanning) signing from dkim_signing selector/path
// maps, and an OpenDKIM verifier that resolves through the test's caching resolver.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import type { Endpoint } from './dns.js';
import { makePrivateDir } from './dkim.js';
import { freePort } from './ports.js';
import { startDaemon, waitFor, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

export type SignerKind = 'opendkim' | 'rspamd';

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
}

/** A signing milter whose key choice lives in files danehook can rewrite. */
export interface DkimSigner {
  kind: SignerKind;
  /** `inet:127.0.0.1:PORT` for postfix's smtpd_milters / non_smtpd_milters. */
  milter: string;
  daemon: Daemon;
  /** The daemon's own (main) process: what reloadSigner signals. */
  pid: number;
  /** Where private keys must live: 0700, owned by `keyOwner`, outside world-writable trees. */
  keyDir: string;
  /** The user the signer runs as; it must be able to read the private key (0600, owned by it). */
  keyOwner: SystemUser;
  /** argv that makes the running signer pick up changed files (see DKIM-FACTS.md for how fast). */
  reloadSigner: string[];
  /** Files that name the key in use. OpenDKIM: keyTable + signingTable; rspamd: selectorMap (+ pathMap). */
  files: Record<string, string>;
  /** Where the private key of `selector` must be (rspamd: its `path` template; OpenDKIM: any path, keyDir/SELECTOR.private here). */
  keyPathFor(domain: string, selector: string): string;
  /** I/O: point the signer at `selector` + `keyPath` for `domain` (rewrites the files atomically; no reload). */
  configure(domain: string, selector: string, keyPath: string): void;
  /**
   * I/O: run reloadSigner and resolve once new messages get the new files: OpenDKIM at once (the
   * next milter connection has it); rspamd when the main process says its old proxy worker ended.
   */
  reload(): Promise<void>;
  log(): string;
}

const run = promisify(execFile);
const runArgv = async (argv: string[]) => {
  const [cmd, ...args] = argv;
  await run(cmd!, args);
};

/** I/O: uid/gid of a system user from /etc/passwd (the Debian packages create opendkim and _rspamd). */
export function systemUser(name: string): SystemUser {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  const f = line?.split(':');
  if (!f) throw new Error(`no user ${name} in /etc/passwd (is its Debian package installed?)`);
  return { name, uid: Number(f[2]), gid: Number(f[3]) };
}

/** Write via a temporary file and rename: a reader never sees half a table. */
function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.new`, text, { mode: 0o644 });
  renameSync(`${path}.new`, path);
}

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

/** The private dir of a signer: 0755 (the daemon's user reads its config), keys/ 0700 owned by that user. */
function signerDirs(t: HarnessContext, prefix: string, owner: SystemUser, daemons: () => Daemon[]): { dir: string; keyDir: string } {
  const dir = makePrivateDir(prefix);
  chmodSync(dir, 0o755);
  const keyDir = join(dir, 'keys');
  mkdirSync(keyDir, { mode: 0o700 });
  chownSync(keyDir, owner.uid, owner.gid);
  registerCleanup(t, dir, daemons);
  return { dir, keyDir };
}

/**
 * I/O: OpenDKIM (Debian 2.11) signing in the foreground as user opendkim: `Mode s`,
 * `KeyTable file:` (`NAME DOMAIN:SELECTOR:KEYPATH`) and `SigningTable refile:` (`*@DOMAIN NAME`).
 * Reload: SIGUSR1 re-reads the configuration file and the tables it names.
 */
export async function startOpenDkimSigner(t: HarnessContext): Promise<DkimSigner> {
  const owner = systemUser('opendkim');
  let daemon: Daemon | undefined;
  const { dir, keyDir } = signerDirs(t, 'opendkim-signer', owner, () => (daemon ? [daemon] : []));
  const port = await freePort();
  const keyTable = join(dir, 'KeyTable');
  const signingTable = join(dir, 'SigningTable');
  const conf = join(dir, 'opendkim.conf');
  writeFileSync(keyTable, '');
  writeFileSync(signingTable, '');
  writeFileSync(conf, [
    'Mode s',
    `Socket inet:${port}@127.0.0.1`,
    'UserID opendkim',
    'Syslog yes',
    'SyslogSuccess yes',
    'Canonicalization relaxed/simple',
    // Submitted mail arrives from postfix's pickup as "localhost [127.0.0.1]": internal, so signed.
    'InternalHosts 127.0.0.1',
    `KeyTable file:${keyTable}`,
    `SigningTable refile:${signingTable}`,
    'OversignHeaders From',
    '',
  ].join('\n'), { mode: 0o644 });
  daemon = await startDaemon({
    name: 'opendkim-signer',
    command: binaryPath('opendkim'),
    args: ['-f', '-x', conf],
    logPath: join(dir, 'opendkim.log'),
    ready: () => tcpOpen(port),
  });
  return {
    kind: 'opendkim',
    milter: `inet:127.0.0.1:${port}`,
    daemon,
    pid: daemon.pid,
    keyDir,
    keyOwner: owner,
    reloadSigner: ['kill', '-USR1', String(daemon.pid)],
    files: { keyTable, signingTable, conf },
    keyPathFor: (_domain, selector) => join(keyDir, `${selector}.private`),
    configure(domain, selector, keyPath) {
      const name = `${selector}-${domain}`;
      writeAtomic(keyTable, `${name} ${domain}:${selector}:${keyPath}\n`);
      writeAtomic(signingTable, `*@${domain} ${name}\n`);
    },
    // SIGUSR1 only sets a flag; the next milter connection reloads opendkim.conf and the tables
    // (dkimf_config_reload, under a lock, before that connection goes on), so every message after
    // kill(1) returned gets the new files. A broken new config is logged (syslog) and ignored.
    reload: () => runArgv(['kill', '-USR1', String(daemon!.pid)]),
    log: () => daemon!.log(),
  };
}

/**
 * I/O: rspamd 3.4 as a signing milter: our own top-level config (no Debian module set: nothing
 * but DKIM signing, no network lookups), one `rspamd_proxy` worker with `milter = yes` and a
 * self-scanning upstream, `dkim_signing { selector_map = FILE; path = "KEYDIR/$domain.$selector.key"; }`
 * (map lines `DOMAIN SELECTOR`): one file names the selector, the key path follows from it.
 * `maps: 'selector+path'` uses a `path_map` file (`DOMAIN KEYPATH`) as well — two files rspamd
 * rereads one by one, so a message may get the new selector with the old key or the other way
 * round (DKIM-FACTS.md). Reload: SIGHUP to the main process (re-reads the config, new workers).
 */
export async function startRspamdSigner(t: HarnessContext, opts: { resolver: Endpoint; maps?: 'selector' | 'selector+path' }): Promise<DkimSigner> {
  const withPathMap = opts.maps === 'selector+path';
  const owner = systemUser('_rspamd');
  let daemon: Daemon | undefined;
  const { dir, keyDir } = signerDirs(t, 'rspamd-signer', owner, () => (daemon ? [daemon] : []));
  const port = await freePort();
  const dbDir = join(dir, 'db');
  const runDir = join(dir, 'run');
  for (const d of [dbDir, runDir]) {
    mkdirSync(d, { mode: 0o755 });
    chownSync(d, owner.uid, owner.gid);
  }
  const selectorMap = join(dir, 'dkim_selectors.map');
  const pathMap = join(dir, 'dkim_paths.map');
  writeFileSync(selectorMap, '', { mode: 0o644 });
  writeFileSync(pathMap, '', { mode: 0o644 });
  const logFile = join(dir, 'rspamd.log');
  const tldFile = join(dir, 'tld.dat');
  writeFileSync(tldFile, 'test\n', { mode: 0o644 });
  const conf = join(dir, 'rspamd.conf');
  writeFileSync(conf, `# danehook test signer: DKIM signing only
options {
  pidfile = "${join(runDir, 'rspamd.pid')}";
  # the C module "dkim" must be listed, or dkim_signing has nothing to sign with (FACTS.md)
  filters = "dkim";
  local_addrs = [127.0.0.0/8, ::1];
  dns { nameserver = ["${opts.resolver.host}:${opts.resolver.port}"]; timeout = 1s; retransmits = 1; }
  control_socket = "${join(runDir, 'rspamd.sock')} mode=0600";
  cache_file = "${join(dbDir, 'symbols.cache')}";
  # the public suffix list takes rspamd 20+ s to compile on a loaded machine; the test needs one TLD
  url_tld = "${tldFile}";
  history_file = "${join(dbDir, 'rspamd.history')}";
  stats_file = "${join(dbDir, 'stats.ucl')}";
  hs_cache_dir = "${dbDir}/";
}
logging { type = "console"; level = "info"; }
modules { path = "\${PLUGINSDIR}"; }
actions { reject = 10000; add_header = 9999; greylist = 9998; }
dkim { }
dkim_signing {
  selector_map = "${selectorMap}";
  ${withPathMap ? `path_map = "${pathMap}";` : `path = "${keyDir}/$domain.$selector.key";`}
  use_esld = false;
  allow_username_mismatch = true;
  try_fallback = false;
  sign_local = true;
}
worker "rspamd_proxy" {
  bind_socket = "127.0.0.1:${port}";
  milter = yes;
  timeout = 120s;
  count = 1;
  upstream "local" { default = yes; self_scan = yes; }
}
`, { mode: 0o644 });
  daemon = await startDaemon({
    name: 'rspamd-signer',
    command: binaryPath('rspamd'),
    args: ['-f', '-c', conf, '-u', owner.name, '-g', owner.name, '--var', `DBDIR=${dbDir}`, '--var', `RUNDIR=${runDir}`, '--var', `LOGDIR=${runDir}`, '--var', `LOCAL_CONFDIR=${dir}`],
    logPath: logFile,
    ready: () => tcpOpen(port),
    timeoutMs: 30_000,
  });
  return {
    kind: 'rspamd',
    milter: `inet:127.0.0.1:${port}`,
    daemon,
    pid: daemon.pid,
    keyDir,
    keyOwner: owner,
    reloadSigner: ['kill', '-HUP', String(daemon.pid)],
    files: withPathMap ? { selectorMap, pathMap, conf } : { selectorMap, conf },
    keyPathFor: (domain, selector) => join(keyDir, `${domain}.${selector}.key`),
    configure(domain, selector, keyPath) {
      if (withPathMap) writeAtomic(pathMap, `${domain} ${keyPath}\n`);
      else if (keyPath !== join(keyDir, `${domain}.${selector}.key`)) throw new Error(`rspamd's path template wants ${domain}.${selector}.key in ${keyDir}, not ${keyPath}`);
      writeAtomic(selectorMap, `${domain} ${selector}\n`);
    },
    async reload() {
      // SIGHUP: the main process rereads the config (and maps), forks a new proxy worker and tells
      // the old one to finish; until that one has ended, it still takes connections (old files).
      const offset = existsSync(logFile) ? readFileSync(logFile).length : 0;
      const news = () => (existsSync(logFile) ? readFileSync(logFile).subarray(offset).toString('utf8') : '');
      await runArgv(['kill', '-HUP', String(daemon!.pid)]);
      const ok = await waitFor(() => {
        const text = news();
        const old = /rspamd_hup_handler: kill old workers/.test(text);
        return old && /rspamd_proxy process \d+ terminated/.test(text);
      }, 30_000, 50);
      if (!ok) throw new Error(`rspamd did not finish reloading within 30 s:\n${news().slice(-3000)}`);
    },
    log: () => daemon!.log(),
  };
}

export interface DkimVerifier {
  milter: string;
  daemon: Daemon;
  /** The authserv-id its Authentication-Results carry. */
  authservId: string;
  /** An opendkim.conf whose resolver settings reach the caching resolver (for opendkim-testkey -x). */
  resolverConfPath: string;
}

/**
 * I/O: OpenDKIM verifying (`Mode v`), writing `Authentication-Results: <authservId>; dkim=…` on every
 * message and accepting all of them (On-* accept: the verdict is read from the header, not from
 * bounces). Its libunbound forwards everything to `resolver` (FACTS.md: without that it answers
 * NXDOMAIN for test. itself); libunbound keeps its own cache on top, per TTL, like any resolver.
 */
export async function startOpenDkimVerifier(t: HarnessContext, opts: { resolver: Endpoint; authservId?: string }): Promise<DkimVerifier> {
  const dir = makeTempDir('opendkim-verifier');
  chmodSync(dir, 0o755);
  let daemon: Daemon | undefined;
  registerCleanup(t, dir, () => (daemon ? [daemon] : []));
  const port = await freePort();
  const authservId = opts.authservId ?? 'receiver.test';
  const unboundConf = join(dir, 'libunbound.conf');
  writeFileSync(unboundConf, [
    'server:',
    '  do-not-query-localhost: no',
    '  local-zone: "test." nodefault',
    'forward-zone:',
    '  name: "."',
    `  forward-addr: ${opts.resolver.host}@${opts.resolver.port}`,
    '',
  ].join('\n'), { mode: 0o644 });
  const resolverLines = [`ResolverConfiguration ${unboundConf}`];
  const conf = join(dir, 'opendkim.conf');
  writeFileSync(conf, [
    'Mode v',
    `Socket inet:${port}@127.0.0.1`,
    'UserID opendkim',
    'Syslog yes',
    `AuthservID ${authservId}`,
    'AlwaysAddARHeader yes',
    'On-Default accept',
    'On-BadSignature accept',
    'On-DNSError accept',
    'On-KeyNotFound accept',
    'On-InternalError accept',
    'On-NoSignature accept',
    'On-SignatureError accept',
    ...resolverLines,
    '',
  ].join('\n'), { mode: 0o644 });
  // opendkim-testkey -x reads ResolverConfiguration too (its man page says "ResolverConfig"; seen working).
  const resolverConfPath = join(dir, 'testkey.conf');
  writeFileSync(resolverConfPath, `${resolverLines.join('\n')}\n`, { mode: 0o644 });
  daemon = await startDaemon({
    name: 'opendkim-verifier',
    command: binaryPath('opendkim'),
    args: ['-f', '-x', conf],
    logPath: join(dir, 'opendkim.log'),
    ready: () => tcpOpen(port),
  });
  return { milter: `inet:127.0.0.1:${port}`, daemon, authservId, resolverConfPath };
}
