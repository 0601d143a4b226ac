// Run the built CLI (dist/cli.js) as a user or an ACME client would: argv, env, exit code, output.
// Also a temp workspace with a config file and a state dir whose bytes tests compare.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { listFilesUnder } from './tempdir.js';
import { binaryPath } from './binaries.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** I/O: run `node dist/cli.js ...args` with exactly `env` (plus PATH); never inherits DANEHOOK_* or client vars. */
export function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Workspace {
  dir: string;
  stateDir: string;
  configPath: string;
  secretPath: string;
  writeConfig(config: object): string;
  /** Every file under stateDir with its bytes, for "state unchanged" assertions. */
  snapshotState(): Record<string, string>;
  remove(): void;
}

/** I/O: a temp dir with a TSIG secret file (0600), an empty state dir and a config writer. */
export function makeWorkspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'danehook-ws-'));
  const stateDir = join(dir, 'state');
  const secretPath = join(dir, 'tsig.secret');
  writeFileSync(secretPath, Buffer.alloc(32, 7).toString('base64') + '\n', { mode: 0o600 });
  const ws: Workspace = {
    dir,
    stateDir,
    configPath: join(dir, 'config.json'),
    secretPath,
    writeConfig(config) {
      writeFileSync(ws.configPath, JSON.stringify(config, null, 2));
      return ws.configPath;
    },
    snapshotState() {
      return Object.fromEntries(listFilesUnder(stateDir).map(({ path, mode }) => [path, `${mode.toString(8)} ${readFileSync(path).toString('base64')}`]));
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return ws;
}

/**
 * Tests of the classic path assert exact RRsets, so their entries announce no next key; the
 * next-key tests (next-key-*.test.ts) set `nextKey` themselves (an entry's own keys win).
 */
export const CLASSIC = { nextKey: { mode: 'off' } };

/** A config for one entry; DNS points at a closed port so any unexpected DNS use fails loudly. */
export function baseConfig(ws: Workspace, entry: Record<string, unknown> = {}): Record<string, any> {
  return {
    stateDir: ws.stateDir,
    dns: { server: '127.0.0.1:9', tsig: { name: 'danehook-key', secretFile: ws.secretPath }, timeout: '1s' },
    certificates: [{ id: 'mx', domains: ['mx.example.com'], ports: [25], ...CLASSIC, ...entry }],
  };
}

interface BindLike {
  primary: { host: string; port: number };
  secondary?: { host: string; port: number };
  keyFilePath: string;
  /** PowerDNS started with `api: true` (test/harness/pdns.ts). */
  api?: { url: string; keyFilePath: string };
}

/**
 * A danehook config for a harness DNS server: UPDATEs to the primary with the harness key, every
 * server (primary, secondary) listed as authoritative, one entry for mx.example.test port 25.
 * `provider: 'powerdns'` writes through the server's HTTP API instead (`apiKeyFile` overrides
 * the harness key file, e.g. with a wrong key); `exec` through an exec adapter (nsupdateAdapterSection).
 */
export function bindConfig(
  ws: Workspace,
  bind: BindLike,
  entry: Record<string, unknown> = {},
  opts: { ttl?: number; timeout?: string; rollover?: object; provider?: 'rfc2136' | 'powerdns'; apiKeyFile?: string; exec?: ExecSection } = {},
): Record<string, any> {
  const servers = [bind.primary, ...(bind.secondary ? [bind.secondary] : [])].map((s) => `127.0.0.1:${s.port}`);
  let credentials: Record<string, unknown> = { tsig: { name: 'danehook-key', keyFile: bind.keyFilePath } };
  if (opts.provider === 'powerdns') {
    if (!bind.api) throw new Error('bindConfig: provider powerdns needs startPowerDns(t, { api: true })');
    credentials = { provider: 'powerdns', powerdns: { url: bind.api.url, apiKeyFile: opts.apiKeyFile ?? bind.api.keyFilePath } };
  }
  // `exec`: the same servers, written through an exec adapter instead of danehook's own UPDATEs.
  if (opts.exec) credentials = { provider: 'exec', exec: opts.exec };
  return {
    stateDir: ws.stateDir,
    dns: { server: servers[0], ...credentials, nameservers: servers, ttl: opts.ttl ?? 2, timeout: opts.timeout ?? '2s' },
    rollover: { delayFactor: 2, ...(opts.rollover ?? {}) },
    certificates: [{ id: 'mx', domains: ['mx.example.test'], ports: [25], ...CLASSIC, ...entry }],
  };
}

/** A `dns.exec` section (examples/providers/README.md). */
export interface ExecSection {
  command: string[];
  timeout?: string;
  env?: string[];
}

export const NSUPDATE_ADAPTER = fileURLToPath(new URL('../../examples/providers/nsupdate-adapter.mjs', import.meta.url));

/** The shipped nsupdate adapter for a harness server: dig/nsupdate at its primary with its key file. */
export function nsupdateAdapterSection(bind: BindLike, opts: { timeout?: string; adapterTimeoutSeconds?: number; keyFile?: string } = {}): ExecSection {
  return {
    command: [process.execPath, NSUPDATE_ADAPTER, '--server', `127.0.0.1:${bind.primary.port}`, '--key-file', opts.keyFile ?? bind.keyFilePath, '--timeout', String(opts.adapterTimeoutSeconds ?? 2),
      '--dig', binaryPath('dig'), '--nsupdate', binaryPath('nsupdate')],
    timeout: opts.timeout ?? '10s',
  };
}

/** The certificates[] entry for a harness postfix: danehook installs its chain file and reloads it. */
export function postfixEntry(pf: { chainFile: string; configDir: string; smtpPort: number }, grace = '5s'): Record<string, unknown> {
  return {
    install: { combined: pf.chainFile },
    reload: ['postfix', '-c', pf.configDir, 'reload'],
    probe: { protocol: 'smtp', addresses: [`127.0.0.1:${pf.smtpPort}`], grace },
  };
}
