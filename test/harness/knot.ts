// Real Knot DNS (knotd) on loopback: primary whose TSIG key may update TLSA only (acl update-type),
// optional knotd secondary fed by NOTIFY that a test can stop or hold back. Same shape as bind.ts.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import {
  absolute, generateTsigKey, querySerial, relativeName, servesZone, writeKeyFiles, zoneFileText,
  type DnsServerHandle, type Endpoint, type TsigAlgorithm, type ZoneOptions,
} from './dns.js';
import { freePort } from './ports.js';
import { startDaemon, waitFor, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

const run = promisify(execFile);

export interface KnotOptions extends ZoneOptions {
  keyName?: string;
  algorithm?: TsigAlgorithm;
  secondary?: boolean;
  /** Types the key may update (default ["TLSA"]). */
  updateTypes?: string[];
}

export interface KnotHandle extends DnsServerHandle {
  knotc(server: 'primary' | 'secondary', args: string[]): Promise<string>;
}

interface Setup {
  name: 'primary' | 'secondary';
  port: number;
  dir: string;
}

export async function startKnot(t: HarnessContext, opts: KnotOptions = {}): Promise<KnotHandle> {
  const knotd = binaryPath('knotd');
  const zone = absolute(opts.zone ?? 'example.test');
  const ttl = opts.ttl ?? 300;
  const tempDir = makeTempDir('knot');
  const key = generateTsigKey(opts.keyName, opts.algorithm);
  const { keyFilePath, secretFilePath } = writeKeyFiles(tempDir, key);
  const primary: Setup = { name: 'primary', port: await freePort(), dir: join(tempDir, 'primary') };
  const secondary: Setup | undefined = opts.secondary
    ? { name: 'secondary', port: await freePort(), dir: join(tempDir, 'secondary') }
    : undefined;
  let notifySecondary = true;

  const head = (s: Setup) => `server:
    rundir: "${s.dir}"
    listen: 127.0.0.1@${s.port}
log:
  - target: stderr
    any: info
database:
    storage: "${s.dir}"
key:
  - id: ${relativeName(key.name)}
    algorithm: ${key.algorithm}
    secret: ${key.secret}
`;
  // zonefile-sync -1: updates live in the journal and the zone file stays as written, which is how
  // Knot is usually run with dynamic updates.
  const primaryConf = () => `${head(primary)}${secondary ? `remote:
  - id: secondary
    address: 127.0.0.1@${secondary.port}
` : ''}acl:
  - id: tlsa_update
    key: ${relativeName(key.name)}
    action: update
    update-type: [${(opts.updateTypes ?? ['TLSA']).join(', ')}]
  - id: transfer
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "${primary.dir}"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: ${relativeName(zone)}
    file: zone.db
    acl: [tlsa_update, transfer]
${secondary && notifySecondary ? '    notify: [secondary]\n' : ''}`;
  const secondaryConf = () => `${head(secondary!)}remote:
  - id: primary
    address: 127.0.0.1@${primary.port}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "${secondary!.dir}"
    zonefile-sync: 0
zone:
  - domain: ${relativeName(zone)}
    file: secondary.db
    master: primary
    acl: [notify_from_primary]
`;
  mkdirSync(primary.dir);
  writeFileSync(join(primary.dir, 'zone.db'), zoneFileText({ ...opts, zone }));
  writeFileSync(join(tempDir, 'primary.conf'), primaryConf());
  if (secondary) {
    mkdirSync(secondary.dir);
    writeFileSync(join(tempDir, 'secondary.conf'), secondaryConf());
  }

  const daemons: Partial<Record<'primary' | 'secondary', Daemon>> = {};
  registerCleanup(t, tempDir, () => Object.values(daemons).filter((d): d is Daemon => !!d));
  const ep = (s: Setup): Endpoint => ({ host: '127.0.0.1', port: s.port });
  const start = async (s: Setup) => {
    // No -d: knotd stays in the foreground, so the PID we hold is the server's.
    daemons[s.name] = await startDaemon({
      name: `knotd-${s.name}`,
      command: knotd,
      args: ['-c', join(tempDir, `${s.name}.conf`)],
      logPath: join(tempDir, `${s.name}.log`),
      cwd: s.dir,
      ready: () => servesZone(ep(s), zone),
    });
  };
  const knotc = async (which: 'primary' | 'secondary', args: string[]) => {
    const s = which === 'primary' ? primary : secondary;
    if (!s) throw new Error('no secondary configured');
    const { stdout } = await run(binaryPath('knotc'), ['-c', join(tempDir, `${s.name}.conf`), ...args]);
    return stdout;
  };
  const serial = (server: Endpoint = ep(primary)) => querySerial(server, zone);
  const waitForSecondarySync = async (timeoutMs = 10000) =>
    !secondary || waitFor(async () => (await serial(ep(secondary))) === (await serial(ep(primary))), timeoutMs);

  await start(primary);
  if (secondary) {
    await start(secondary);
    if (!(await waitForSecondarySync())) throw new Error('knot secondary did not catch up with the primary');
  }
  const needSecondary = () => {
    if (!secondary) throw new Error('startKnot({ secondary: true }) needed');
  };

  return {
    zone,
    primary: ep(primary),
    secondary: secondary && ep(secondary),
    key,
    keyFilePath,
    secretFilePath,
    ttl,
    tempDir,
    serial,
    knotc,
    waitForSecondarySync,
    async stop() {
      await Promise.all(Object.values(daemons).map((d) => d?.stop()));
    },
    async stopSecondary() {
      needSecondary();
      await daemons.secondary?.stop();
    },
    async startSecondary() {
      needSecondary();
      if (daemons.secondary && !daemons.secondary.exited) return;
      await start(secondary!);
    },
    async holdSecondary() {
      needSecondary();
      notifySecondary = false;
      writeFileSync(join(tempDir, 'primary.conf'), primaryConf());
      await knotc('primary', ['reload']);
    },
    async releaseSecondary() {
      needSecondary();
      notifySecondary = true;
      writeFileSync(join(tempDir, 'primary.conf'), primaryConf());
      await knotc('primary', ['reload']);
      await knotc('secondary', ['zone-refresh', relativeName(zone)]);
      if (!(await waitForSecondarySync())) throw new Error('knot secondary did not catch up after release');
    },
  };
}
