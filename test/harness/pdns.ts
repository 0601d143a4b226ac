// Real PowerDNS Authoritative (gsqlite3) on loopback with RFC 2136 enabled. By default a Lua update
// policy lets only our TSIG key change only TLSA records; optional pdns secondary fed by NOTIFY.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import {
  absolute, dig, generateTsigKey, querySerial, relativeName, servesZone, writeKeyFiles, zoneFileText,
  type DnsServerHandle, type Endpoint, type TsigAlgorithm, type ZoneOptions,
} from './dns.js';
import { freePort } from './ports.js';
import { startDaemon, waitFor, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

const run = promisify(execFile);
const SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';

export interface PowerDnsOptions extends ZoneOptions {
  keyName?: string;
  algorithm?: TsigAlgorithm;
  secondary?: boolean;
  /**
   * 'tlsa-only' (default): lua-dnsupdate-policy-script allowing our key and TLSA only.
   * 'key-only': PowerDNS's built-in TSIG-ALLOW-DNSUPDATE check, which cannot restrict types.
   */
  policy?: 'tlsa-only' | 'key-only';
  /**
   * Enable the primary's HTTP API (api=yes, webserver on a free loopback port, a random key).
   * The zone then gets SOA-EDIT-API DEFAULT (`soaEditApi: false` leaves it unset, as pdnsutil
   * load-zone does: API changes then keep the serial and the secondary never sees them).
   */
  api?: boolean;
  soaEditApi?: boolean;
}

export interface PowerDnsApi {
  /** Base URL for dns.powerdns.url, e.g. "http://127.0.0.1:23456". */
  url: string;
  key: string;
  /** The key alone in a 0600 file, for dns.powerdns.apiKeyFile. */
  keyFilePath: string;
}

export interface PowerDnsHandle extends DnsServerHandle {
  pdnsutil(server: 'primary' | 'secondary', args: string[]): Promise<string>;
  /** Set when started with `api: true`. */
  api?: PowerDnsApi;
}

interface Setup {
  name: 'primary' | 'secondary';
  port: number;
  dir: string;
}

// The Lua policy replaces ALL of PowerDNS's own update checks (allow-dnsupdate-from and
// TSIG-ALLOW-DNSUPDATE are skipped once it is set), so it must check the key name itself. A TSIG
// that does not verify is refused before the script runs.
function policyScript(keyName: string): string {
  return `-- danehook test harness: key ${keyName} may add/delete TLSA records, nothing else.
function updatepolicy(input)
  -- an unsigned update carries an unset name whose toString() throws: pcall turns that into "no"
  local ok, tsig = pcall(function() return input:getTsigName():toString() end)
  if not ok or tsig ~= "${keyName}" then
    return false
  end
  return input:getQType() == pdns.TLSA
end
`;
}

export async function startPowerDns(t: HarnessContext, opts: PowerDnsOptions = {}): Promise<PowerDnsHandle> {
  const pdnsServer = binaryPath('pdns_server');
  binaryPath('pdnsutil');
  binaryPath('sqlite3');
  const zone = absolute(opts.zone ?? 'example.test');
  const ttl = opts.ttl ?? 300;
  const policy = opts.policy ?? 'tlsa-only';
  const tempDir = makeTempDir('pdns');
  const key = generateTsigKey(opts.keyName, opts.algorithm);
  const { keyFilePath, secretFilePath } = writeKeyFiles(tempDir, key);
  const primary: Setup = { name: 'primary', port: await freePort(), dir: join(tempDir, 'primary') };
  const secondary: Setup | undefined = opts.secondary
    ? { name: 'secondary', port: await freePort(), dir: join(tempDir, 'secondary') }
    : undefined;

  const api: PowerDnsApi | undefined = opts.api
    ? { url: `http://127.0.0.1:${await freePort()}`, key: randomBytes(18).toString('base64url'), keyFilePath: join(tempDir, 'pdns-api.key') }
    : undefined;
  if (api) writeFileSync(api.keyFilePath, `${api.key}\n`, { mode: 0o600 });
  const webserver = (s: Setup) =>
    api && s.name === 'primary'
      ? ['api=yes', `api-key=${api.key}`, 'webserver=yes', 'webserver-address=127.0.0.1', `webserver-port=${new URL(api.url).port}`, 'webserver-allow-from=127.0.0.1/32']
      : ['webserver=no'];
  const conf = (s: Setup, extra: string[]) =>
    [
      'launch=gsqlite3',
      `gsqlite3-database=${join(s.dir, 'pdns.sqlite3')}`,
      `local-address=127.0.0.1:${s.port}`,
      'daemon=no',
      'guardian=no',
      'disable-syslog=yes',
      'log-timestamp=yes',
      `socket-dir=${s.dir}`,
      ...webserver(s),
      // metadata is changed while running (hold/release); no caching so changes apply at once
      'zone-metadata-cache-ttl=0',
      'cache-ttl=0',
      'negquery-cache-ttl=0',
      'query-cache-ttl=0',
      ...extra,
      '',
    ].join('\n');

  const pdnsutil = async (which: 'primary' | 'secondary', args: string[]) => {
    const s = which === 'primary' ? primary : secondary;
    if (!s) throw new Error('no secondary configured');
    const { stdout } = await run(binaryPath('pdnsutil'), [`--config-dir=${s.dir}`, ...args]);
    return stdout;
  };
  const pdnsControl = async (s: Setup, args: string[]) =>
    (await run(binaryPath('pdns_control'), [`--config-dir=${s.dir}`, ...args])).stdout;
  const initDb = async (s: Setup) => {
    mkdirSync(s.dir);
    await run(binaryPath('sqlite3'), [join(s.dir, 'pdns.sqlite3'), `.read ${SCHEMA}`]);
  };

  await initDb(primary);
  writeFileSync(join(primary.dir, 'policy.lua'), policyScript(key.name));
  writeFileSync(join(primary.dir, 'pdns.conf'), conf(primary, [
    'dnsupdate=yes',
    'allow-dnsupdate-from=127.0.0.0/8',
    'primary=yes',
    ...(policy === 'tlsa-only' ? [`lua-dnsupdate-policy-script=${join(primary.dir, 'policy.lua')}`] : []),
    ...(secondary ? [`also-notify=127.0.0.1:${secondary.port}`] : []),
    // Transfers only as the zone's ALLOW-AXFR-FROM says, so hold/release can switch them per zone.
    'allow-axfr-ips=',
  ]));
  writeFileSync(join(primary.dir, 'zone.db'), zoneFileText({ ...opts, zone }));
  await pdnsutil('primary', ['load-zone', relativeName(zone), join(primary.dir, 'zone.db')]);
  await pdnsutil('primary', ['import-tsig-key', relativeName(key.name), key.algorithm, key.secret]);
  await pdnsutil('primary', ['set-meta', relativeName(zone), 'TSIG-ALLOW-DNSUPDATE', relativeName(key.name)]);
  // load-zone makes a NATIVE zone (replication left to the database); only a PRIMARY zone sends
  // NOTIFY, and PowerDNS sends none after an UPDATE unless NOTIFY-DNSUPDATE is set.
  await pdnsutil('primary', ['set-kind', relativeName(zone), 'primary']);
  await pdnsutil('primary', ['set-meta', relativeName(zone), 'NOTIFY-DNSUPDATE', '1']);
  await pdnsutil('primary', ['set-meta', relativeName(zone), 'ALLOW-AXFR-FROM', '127.0.0.0/8']);
  if (api && opts.soaEditApi !== false) await pdnsutil('primary', ['set-meta', relativeName(zone), 'SOA-EDIT-API', 'DEFAULT']);
  if (secondary) {
    await initDb(secondary);
    writeFileSync(join(secondary.dir, 'pdns.conf'), conf(secondary, ['secondary=yes', 'allow-notify-from=127.0.0.0/8', 'xfr-cycle-interval=1']));
    await pdnsutil('secondary', ['create-secondary-zone', relativeName(zone), `127.0.0.1:${primary.port}`]);
  }

  const daemons: Partial<Record<'primary' | 'secondary', Daemon>> = {};
  registerCleanup(t, tempDir, () => Object.values(daemons).filter((d): d is Daemon => !!d));
  const ep = (s: Setup): Endpoint => ({ host: '127.0.0.1', port: s.port });
  const serial = (server: Endpoint = ep(primary)) => querySerial(server, zone);
  const waitForSecondarySync = async (timeoutMs = 10000) =>
    !secondary || waitFor(async () => (await serial(ep(secondary))) === (await serial(ep(primary))), timeoutMs, 100);
  const start = async (s: Setup) => {
    daemons[s.name] = await startDaemon({
      name: `pdns-${s.name}`,
      command: pdnsServer,
      args: [`--config-dir=${s.dir}`],
      logPath: join(tempDir, `${s.name}.log`),
      cwd: s.dir,
      // An empty secondary answers but not authoritatively: any reply means it is up.
      ready: s.name === 'primary' ? async () => (await servesZone(ep(s), zone)) && (!api || (await apiAnswers(api))) : async () => (await dig(ep(s), zone, 'SOA')).status !== 'NO-REPLY',
    });
    if (s.name === 'secondary') {
      await pdnsControl(s, ['retrieve', relativeName(zone)]);
      if (!(await waitForSecondarySync())) throw new Error('pdns secondary did not transfer the zone');
    }
  };
  await start(primary);
  if (secondary) await start(secondary);
  const needSecondary = () => {
    if (!secondary) throw new Error('startPowerDns({ secondary: true }) needed');
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
    pdnsutil,
    ...(api ? { api } : {}),
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
      await pdnsutil('primary', ['set-meta', relativeName(zone), 'NOTIFY-DNSUPDATE', '0']);
      // A NOTIFY can still arrive (re-sent, or from the primary's periodic serial check), so the
      // primary also refuses the secondary's transfers while held: it keeps what it has.
      await pdnsutil('primary', ['set-meta', relativeName(zone), 'ALLOW-AXFR-FROM', '192.0.2.1/32']);
    },
    async releaseSecondary() {
      needSecondary();
      await pdnsutil('primary', ['set-meta', relativeName(zone), 'ALLOW-AXFR-FROM', '127.0.0.0/8']);
      await pdnsutil('primary', ['set-meta', relativeName(zone), 'NOTIFY-DNSUPDATE', '1']);
      await pdnsControl(secondary!, ['retrieve', relativeName(zone)]);
      if (!(await waitForSecondarySync())) throw new Error('pdns secondary did not catch up after release');
    },
  };
}

// The webserver starts a moment after the DNS listener: ready when the API answers with our key.
async function apiAnswers(api: PowerDnsApi): Promise<boolean> {
  try {
    const res = await fetch(`${api.url}/api/v1/servers/localhost`, { headers: { 'X-API-Key': api.key }, signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}
