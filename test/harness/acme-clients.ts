// Runs the real ACME clients (lego 4.x, certbot, dehydrated, acme.sh from test/vendor) against a
// pebble from pebble.ts, with a hook command of the test's choosing, each in its own temp dirs; the
// result says where files are. Next-key options: NEXT-KEY-FACTS.md says what each one does.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryPath } from './binaries.js';
import type { PebbleHandle } from './pebble.js';
import { freePort } from './ports.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

export interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The client's own state directory (pass it back as `dir` to renew). */
  dir: string;
  argv: string[];
}

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 120000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function clientDir(t: HarnessContext, name: string, dir?: string): string {
  if (dir) return dir;
  const d = makeTempDir(name);
  registerCleanup(t, d, () => []);
  return d;
}

const EMAIL = 'hostmaster@example.test';

export interface LegoOptions {
  domains: string[];
  /** Command line lego runs (split on spaces, no shell): --run-hook, or --renew-hook with renew. */
  hook?: string;
  renew?: boolean;
  keyType?: 'ec256' | 'ec384' | 'rsa2048' | 'rsa4096';
  reuseKey?: boolean;
  /** `--csr FILE`: lego signs this CSR, writes no key, and takes the names from it (it refuses
   * --domains beside --csr, so `domains` then only names the files). */
  csr?: string;
  /** Reuse a previous run's --path (required for renew). */
  dir?: string;
  extraArgs?: string[];
}

export interface LegoRun extends ClientRun {
  /** <dir>/certificates/<domain>.crt (leaf + issuer), .key (not written with --csr), .issuer.crt */
  certPath: string;
  keyPath: string;
  issuerPath: string;
}

/** lego 4.x: `run --run-hook` or `renew --days 100000 --renew-hook` (forces a renewal). */
export async function runLego(t: HarnessContext, pebble: PebbleHandle, opts: LegoOptions): Promise<LegoRun> {
  const dir = clientDir(t, 'lego', opts.dir);
  const main = opts.domains[0]!;
  const argv = [
    '--server', pebble.directoryUrl, '--path', dir, '--email', EMAIL, '--accept-tos',
    '--key-type', opts.keyType ?? 'ec256',
    ...(opts.csr ? ['--csr', opts.csr] : opts.domains.flatMap((d) => ['--domains', d])),
    '--http', '--http.port', `127.0.0.1:${await freePort()}`,
    ...(opts.extraArgs ?? []),
  ];
  if (opts.renew) {
    argv.push('renew', '--days', '100000', '--no-random-sleep', ...(opts.reuseKey ? ['--reuse-key'] : []), ...(opts.hook ? ['--renew-hook', opts.hook] : []));
  } else {
    argv.push('run', ...(opts.hook ? ['--run-hook', opts.hook] : []));
  }
  const env = { ...process.env, LEGO_CA_CERTIFICATES: pebble.caBundlePath };
  const r = await exec(binaryPath('lego'), argv, env, dir);
  const base = join(dir, 'certificates', main.replace(/^\*/, '_'));
  return { ...r, dir, argv: ['lego', ...argv], certPath: `${base}.crt`, keyPath: `${base}.key`, issuerPath: `${base}.issuer.crt` };
}

export interface CertbotOptions {
  domains: string[];
  /** Shell command for --deploy-hook (certbot runs it with sh -c). */
  hook?: string;
  certName?: string;
  keyType?: 'ecdsa' | 'rsa';
  /** `certbot renew --force-renewal` on an existing dir instead of `certonly`. */
  renew?: boolean;
  reuseKey?: boolean;
  /** `--new-key`: a new key this once, even with `reuse_key = True` in the lineage (kept after). */
  newKey?: boolean;
  dir?: string;
  extraArgs?: string[];
}

export interface CertbotRun extends ClientRun {
  configDir: string;
  /** <configDir>/live/<certName> */
  lineage: string;
}

export async function runCertbot(t: HarnessContext, pebble: PebbleHandle, opts: CertbotOptions): Promise<CertbotRun> {
  const dir = clientDir(t, 'certbot', opts.dir);
  const configDir = join(dir, 'config');
  const certName = opts.certName ?? opts.domains[0]!;
  // Explicit config/work/logs dirs keep certbot out of /etc/letsencrypt and /var/log.
  const common = [
    '--non-interactive', '--config-dir', configDir, '--work-dir', join(dir, 'work'), '--logs-dir', join(dir, 'logs'),
    '--server', pebble.directoryUrl, '--standalone', '--http-01-address', '127.0.0.1', '--http-01-port', String(await freePort()),
    ...(opts.hook ? ['--deploy-hook', opts.hook] : []), ...(opts.reuseKey ? ['--reuse-key'] : []), ...(opts.newKey ? ['--new-key'] : []),
  ];
  const argv = opts.renew
    ? ['renew', '--force-renewal', '--no-random-sleep-on-renew', '--cert-name', certName, ...common]
    : ['certonly', '--agree-tos', '--email', EMAIL, '--cert-name', certName, '--key-type', opts.keyType ?? 'ecdsa',
        ...opts.domains.flatMap((d) => ['-d', d]), ...common];
  argv.push(...(opts.extraArgs ?? []));
  const env = { ...process.env, REQUESTS_CA_BUNDLE: pebble.caBundlePath };
  const r = await exec(binaryPath('certbot'), argv, env, dir);
  return { ...r, dir, argv: ['certbot', ...argv], configDir, lineage: join(configDir, 'live', certName) };
}

export interface DehydratedOptions {
  domains: string[];
  /** Path of an executable hook script: called as `hook <handler> args...` for every handler. */
  hook?: string;
  keyAlgo?: 'prime256v1' | 'secp384r1' | 'rsa';
  /** PRIVATE_KEY_ROLLOVER=yes (with PRIVATE_KEY_RENEW=yes): keeps certs/<domain>/privkey.roll.pem,
   * the key of the next renewal. Written into the config on every run (a renewal rewrites it). */
  keyRollover?: boolean;
  /** Re-run on an existing dir with --force (a renewal). */
  dir?: string;
  force?: boolean;
}

export interface DehydratedRun extends ClientRun {
  /** <dir>/certs/<domain> holding cert.pem, privkey.pem, chain.pem, fullchain.pem (symlinks) */
  certDir: string;
  /** <certDir>/privkey.roll.pem (exists with keyRollover) */
  rollKeyPath: string;
  configPath: string;
}

export async function runDehydrated(t: HarnessContext, pebble: PebbleHandle, opts: DehydratedOptions): Promise<DehydratedRun> {
  const fresh = !opts.dir;
  const dir = clientDir(t, 'dehydrated', opts.dir);
  const configPath = join(dir, 'config');
  mkdirSync(join(dir, 'wellknown'), { recursive: true });
  // dehydrated's config is a shell fragment; values are our own temp paths (no quotes inside).
  writeFileSync(configPath, [
    `CA="${pebble.directoryUrl}"`,
    `BASEDIR="${dir}"`,
    `WELLKNOWN="${join(dir, 'wellknown')}"`,
    `KEY_ALGO=${opts.keyAlgo ?? 'prime256v1'}`,
    'CHALLENGETYPE="http-01"',
    `CONTACT_EMAIL="${EMAIL}"`,
    ...(opts.hook ? [`HOOK="${opts.hook}"`] : []),
    ...(opts.keyRollover ? ['PRIVATE_KEY_RENEW=yes', 'PRIVATE_KEY_ROLLOVER=yes'] : []),
    '',
  ].join('\n'));
  const env = { ...process.env, CURL_CA_BUNDLE: pebble.caBundlePath };
  const dehydrated = binaryPath('dehydrated');
  let pre = { code: 0, stdout: '', stderr: '' };
  if (fresh) pre = await exec(dehydrated, ['--config', configPath, '--register', '--accept-terms'], env, dir);
  const argv = ['--config', configPath, '--cron', ...opts.domains.flatMap((d) => ['--domain', d]), ...(opts.force || !fresh ? ['--force'] : [])];
  const r = pre.code === 0 ? await exec(dehydrated, argv, env, dir) : pre;
  return { ...r, dir, argv: ['dehydrated', ...argv], configPath, certDir: join(dir, 'certs', opts.domains[0]!), rollKeyPath: join(dir, 'certs', opts.domains[0]!, 'privkey.roll.pem') };
}

/** acme.sh is not in Debian: the tests run the upstream script vendored in test/vendor/acme.sh/. */
export const ACMESH = fileURLToPath(new URL('../vendor/acme.sh/acme.sh', import.meta.url));

export interface AcmeShOptions {
  domains: string[];
  /** `--reloadcmd`: acme.sh runs it with `eval` in the domain dir (a shell command line). */
  reloadcmd?: string;
  /** `--always-force-new-domain-key`: keeps <key>.next, the key of the next renewal. */
  forceNewDomainKey?: boolean;
  keyLength?: 'ec-256' | 'ec-384' | '2048';
  /** `--renew --force` on a previous run's home (the options are kept in its domain conf). */
  renew?: boolean;
  dir?: string;
}

export interface AcmeShRun extends ClientRun {
  /** <home>/<domain>_ecc (or <domain> for RSA) holding <domain>.cer, .key, .key.next, ca.cer, fullchain.cer */
  domainDir: string;
  certPath: string;
  keyPath: string;
  nextKeyPath: string;
}

/** acme.sh 3.1.4 from source: `--issue --webroot` (pebble does not fetch the token) or `--renew --force`. */
export async function runAcmeSh(t: HarnessContext, pebble: PebbleHandle, opts: AcmeShOptions): Promise<AcmeShRun> {
  const dir = clientDir(t, 'acmesh', opts.dir);
  const main = opts.domains[0]!;
  const keyLength = opts.keyLength ?? 'ec-256';
  const ecc = keyLength.startsWith('ec-');
  const argv = opts.renew
    ? ['--home', dir, '--renew', '--force', '-d', main, ...(ecc ? ['--ecc'] : [])]
    : [
        '--home', dir, '--issue', '--server', pebble.directoryUrl, '--ca-bundle', pebble.caBundlePath,
        '--email', EMAIL, '--webroot', join(dir, 'webroot'), '--keylength', keyLength,
        ...opts.domains.flatMap((d) => ['-d', d]),
        ...(opts.forceNewDomainKey ? ['--always-force-new-domain-key'] : []),
        ...(opts.reloadcmd ? ['--reloadcmd', opts.reloadcmd] : []),
      ];
  mkdirSync(join(dir, 'webroot'), { recursive: true });
  // HOME too: acme.sh looks there for a default install before honouring --home for some files.
  const r = await exec(ACMESH, argv, { ...process.env, HOME: dir }, dir);
  const domainDir = join(dir, ecc ? `${main}_ecc` : main);
  const keyPath = join(domainDir, `${main}.key`);
  return { ...r, dir, argv: ['acme.sh', ...argv], domainDir, certPath: join(domainDir, `${main}.cer`), keyPath, nextKeyPath: `${keyPath}.next` };
}
