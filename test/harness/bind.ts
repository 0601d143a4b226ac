// Real BIND 9 (named) on loopback: a primary with a TSIG key limited to TLSA updates, optionally a
// secondary fed by NOTIFY/IXFR (which a test can stop or hold back) and an inline-signed zone.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import {
  absolute, dig, generateTsigKey, querySerial, rdataOf, relativeName, servesZone, writeKeyFiles, zoneFileText,
  type DnsServerHandle, type Endpoint, type TsigAlgorithm, type ZoneOptions,
} from './dns.js';
import { freePort } from './ports.js';
import { startDaemon, waitFor, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

const run = promisify(execFile);

export interface BindOptions extends ZoneOptions {
  keyName?: string;
  algorithm?: TsigAlgorithm;
  /** Start a second named that transfers the zone from the primary. */
  secondary?: boolean;
  /** dnssec-policy default + inline-signing: answers carry RRSIGs, delv can validate. */
  inlineSigned?: boolean;
  /**
   * With inlineSigned: RRSIG validity in seconds (BIND `signatures-validity`, also for the DNSKEY
   * RRset), re-signed a quarter of it before expiry; BIND's default policy (14 d, refresh 5 d) otherwise.
   */
  signaturesValidity?: number;
  /** named worker threads (-n); default 1. More lets an UPDATE's answer overtake inline signing. */
  threads?: number;
  /** Replace the default `grant <key> zonesub TLSA;` (e.g. to test a too-narrow policy). */
  updatePolicy?: string;
  /** More zones the primary serves (same template, no updates), e.g. a child the zone delegates to itself. */
  extraZones?: string[];
}

export interface BindHandle extends DnsServerHandle {
  primaryDaemon(): Daemon;
  secondaryDaemon(): Daemon | undefined;
  /** Stop the primary (UPDATEs and queries to it fail); its journal keeps every applied change. */
  stopPrimary(): Promise<void>;
  /** Start the primary again on the same port with the zone as it was. */
  startPrimary(): Promise<void>;
  /** File for `delv -a FILE +root=<zone>` (inline-signed zones only). */
  trustAnchorFile(): Promise<string>;
  /** rndc against one of our servers (e.g. ["reload"]). */
  rndc(server: 'primary' | 'secondary', args: string[]): Promise<string>;
}

interface ServerSetup {
  name: 'primary' | 'secondary';
  port: number;
  rndcPort: number;
  dir: string;
}

export async function startBind(t: HarnessContext, opts: BindOptions = {}): Promise<BindHandle> {
  const named = binaryPath('named');
  const zone = absolute(opts.zone ?? 'example.test');
  const ttl = opts.ttl ?? 300;
  const tempDir = makeTempDir('bind');
  const key = generateTsigKey(opts.keyName, opts.algorithm);
  const { keyFilePath, secretFilePath } = writeKeyFiles(tempDir, key);
  const rndcSecret = randomBytes(32).toString('base64');
  const rndcKey = `key "harness-rndc" { algorithm hmac-sha256; secret "${rndcSecret}"; };\n`;

  const primary: ServerSetup = { name: 'primary', port: await freePort(), rndcPort: await freePort(), dir: tempDir };
  const secondary: ServerSetup | undefined = opts.secondary
    ? { name: 'secondary', port: await freePort(), rndcPort: await freePort(), dir: tempDir }
    : undefined;
  let notifySecondary = true;

  const common = (s: ServerSetup) => `${rndcKey}
controls { inet 127.0.0.1 port ${s.rndcPort} allow { 127.0.0.1; } keys { "harness-rndc"; }; };
options {
  directory "${tempDir}";
  pid-file "${join(tempDir, `${s.name}.pid`)}";
  session-keyfile "${join(tempDir, `${s.name}.session.key`)}";
  managed-keys-directory "${tempDir}";
  listen-on port ${s.port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  minimal-responses no;
  notify explicit;
  // BIND waits 5 s before sending NOTIFY by default; tests want the secondary to follow at once.
  notify-delay 0;
};
key "${relativeName(key.name)}" { algorithm ${key.algorithm}; secret "${key.secret}"; };
`;
  const validity = opts.signaturesValidity;
  const policy = opts.inlineSigned && validity !== undefined
    ? `dnssec-policy "harness" {
  keys { csk lifetime unlimited algorithm 13; };
  signatures-validity ${validity};
  signatures-validity-dnskey ${validity};
  signatures-refresh ${Math.floor(validity / 4)};
};
`
    : '';
  const primaryConf = () => `${common(primary)}
${policy}zone "${relativeName(zone)}" {
  type primary;
  file "zone.db";
  update-policy { ${opts.updatePolicy ?? `grant ${relativeName(key.name)} zonesub TLSA;`} };
  allow-transfer { 127.0.0.1; };
  ${secondary && notifySecondary ? `also-notify { 127.0.0.1 port ${secondary.port}; };` : ''}
  ${opts.inlineSigned ? `dnssec-policy ${policy ? '"harness"' : 'default'}; inline-signing yes;` : ''}
};
${(opts.extraZones ?? []).map((z, i) => `zone "${relativeName(absolute(z))}" { type primary; file "extra-${i}.db"; };\n`).join('')}`;
  const secondaryConf = () => `${common(secondary!)}
zone "${relativeName(zone)}" {
  type secondary;
  file "secondary.db";
  masterfile-format text;
  primaries { 127.0.0.1 port ${primary.port}; };
};
`;
  writeFileSync(join(tempDir, 'zone.db'), zoneFileText({ ...opts, zone }));
  (opts.extraZones ?? []).forEach((z, i) => writeFileSync(join(tempDir, `extra-${i}.db`), zoneFileText({ zone: absolute(z), ttl })));
  writeFileSync(join(tempDir, 'primary.conf'), primaryConf());
  if (secondary) writeFileSync(join(tempDir, 'secondary.conf'), secondaryConf());
  writeFileSync(join(tempDir, 'rndc.conf'), `${rndcKey}options { default-key "harness-rndc"; default-server 127.0.0.1; };\n`);

  const daemons: Partial<Record<'primary' | 'secondary', Daemon>> = {};
  const start = async (s: ServerSetup) => {
    // -g: foreground, log to stderr (captured); -n 1: one worker thread is plenty on loopback
    // (and serialises the UPDATE's answer behind inline signing: threads > 1 shows the lag).
    daemons[s.name] = await startDaemon({
      name: `named-${s.name}`,
      command: named,
      args: ['-g', '-n', String(opts.threads ?? 1), '-c', join(tempDir, `${s.name}.conf`)],
      logPath: join(tempDir, `${s.name}.log`),
      cwd: tempDir,
      ready: () => servesZone({ host: '127.0.0.1', port: s.port }, zone),
    });
  };
  registerCleanup(t, tempDir, () => Object.values(daemons).filter((d): d is Daemon => !!d));

  const ep = (s: ServerSetup): Endpoint => ({ host: '127.0.0.1', port: s.port });
  const rndc = async (which: 'primary' | 'secondary', args: string[]) => {
    const s = which === 'primary' ? primary : secondary;
    if (!s) throw new Error('no secondary configured');
    const { stdout } = await run(binaryPath('rndc'), ['-c', join(tempDir, 'rndc.conf'), '-p', String(s.rndcPort), ...args]);
    return stdout;
  };
  const serial = (server: Endpoint = ep(primary)) => querySerial(server, zone);
  const waitForSecondarySync = async (timeoutMs = 10000) => {
    if (!secondary) return true;
    return waitFor(async () => (await serial(ep(secondary))) === (await serial(ep(primary))), timeoutMs);
  };

  await start(primary);
  if (opts.inlineSigned) {
    // Signing happens just after load; wait so the secondary and the tests see a signed zone.
    const ok = await waitFor(async () => (await dig(ep(primary), zone, 'SOA', ['+dnssec'])).answers.some((l) => /\sRRSIG\s/.test(l)), 20000);
    if (!ok) throw new Error('BIND did not sign the zone within 20 s');
  }
  if (secondary) {
    await start(secondary);
    if (!(await waitForSecondarySync())) throw new Error('secondary did not catch up with the primary');
  }

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
    primaryDaemon: () => daemons.primary!,
    secondaryDaemon: () => daemons.secondary,
    rndc,
    waitForSecondarySync,
    async stop() {
      await Promise.all(Object.values(daemons).map((d) => d?.stop()));
    },
    async stopPrimary() {
      await daemons.primary?.stop();
    },
    async startPrimary() {
      if (daemons.primary && !daemons.primary.exited) return;
      await start(primary);
    },
    async stopSecondary() {
      await daemons.secondary?.stop();
    },
    async startSecondary() {
      if (!secondary) throw new Error('startBind({ secondary: true }) needed');
      if (daemons.secondary && !daemons.secondary.exited) return;
      await start(secondary);
    },
    async holdSecondary() {
      if (!secondary) throw new Error('startBind({ secondary: true }) needed');
      // Its SOA refresh is a day, so without NOTIFY it keeps serving what it has.
      notifySecondary = false;
      writeFileSync(join(tempDir, 'primary.conf'), primaryConf());
      await rndc('primary', ['reconfig']);
    },
    async releaseSecondary() {
      if (!secondary) throw new Error('startBind({ secondary: true }) needed');
      notifySecondary = true;
      writeFileSync(join(tempDir, 'primary.conf'), primaryConf());
      await rndc('primary', ['reconfig']);
      await rndc('secondary', ['refresh', relativeName(zone)]);
      if (!(await waitForSecondarySync())) throw new Error('secondary did not catch up after release');
    },
    async trustAnchorFile() {
      if (!opts.inlineSigned) throw new Error('startBind({ inlineSigned: true }) needed');
      const ksk = rdataOf(await dig(ep(primary), zone, 'DNSKEY'), 'DNSKEY').filter((r) => r.startsWith('257 '));
      if (ksk.length === 0) throw new Error('no KSK (DNSKEY 257) served yet');
      const lines = ksk.map((r) => {
        const [flags, proto, alg, ...b64] = r.split(' ');
        return `  "${zone}" static-key ${flags} ${proto} ${alg} "${b64.join('')}";`;
      });
      const file = join(tempDir, 'trust-anchor.conf');
      writeFileSync(file, `trust-anchors {\n${lines.join('\n')}\n};\n`);
      return file;
    },
  };
}
