// A real validating, caching Unbound (Debian's, 1.17) for tests: a stub zone served by the test's
// authoritative servers (all of them, so answers come from each), the zone's KSK as trust anchor
// (or none for an unsigned zone: caching only),
// listening on port 53 of a loopback address of its own (glibc's resolver only talks to port 53).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binaryPath } from './binaries.js';
import { absolute, dig, type DigResult, type Endpoint } from './dns.js';
import { freeLoopbackAddress } from './ports.js';
import { startDaemon, type Daemon } from './process.js';
import { makeTempDir, registerCleanup, type HarnessContext } from './tempdir.js';

export interface UnboundOptions {
  /** The stub zone, e.g. "example.test". */
  zone: string;
  /** Its authoritative servers (primary and secondaries); Unbound spreads queries over them. */
  servers: Endpoint[];
  /**
   * A BIND `trust-anchors { "zone" static-key 257 3 13 "..."; };` file (bind.trustAnchorFile()).
   * Omit for an unsigned zone: Unbound then caches without validating (answers carry no AD bit).
   */
  trustAnchorFile?: string;
  /**
   * More stub zones beside `zone`, e.g. a delegated child under a signed parent: with the
   * parent's trust anchor Unbound then validates the child through the DS at the parent.
   */
  stubs?: { zone: string; servers: Endpoint[] }[];
}

export interface UnboundHandle {
  /** Where it listens: port 53 of a loopback address nothing else uses. */
  endpoint: Endpoint;
  daemon: Daemon;
  tempDir: string;
  /** A resolv.conf that sends glibc to this Unbound and keeps its AD bit (options trust-ad). */
  resolvConfPath: string;
  /** I/O: a recursive query with DO set, as a stub resolver asks (flags include "ad" when validated). */
  resolve(name: string, type: string): Promise<DigResult>;
}

/** Pure: `trust-anchor:` lines for unbound.conf from a BIND trust-anchors file. */
export function unboundTrustAnchors(bindTrustAnchors: string): string[] {
  const keys = [...bindTrustAnchors.matchAll(/"([^"]+)"\s+(?:static|initial)-key\s+(\d+)\s+(\d+)\s+(\d+)\s+"([^"]+)"/g)];
  if (keys.length === 0) throw new Error('no static-key in the trust anchor file');
  return keys.map(([, name, flags, proto, alg, key]) => `  trust-anchor: "${absolute(name!)} DNSKEY ${flags} ${proto} ${alg} ${key!.replace(/\s+/g, '')}"`);
}

/** I/O: start Unbound; stopped by PID and its dir removed by `t.after`. Caller checks requireBinaries(t, ['unbound']). */
export async function startUnbound(t: HarnessContext, opts: UnboundOptions): Promise<UnboundHandle> {
  const tempDir = makeTempDir('unbound');
  const endpoint: Endpoint = { host: await freeLoopbackAddress(53), port: 53 };
  const zone = absolute(opts.zone);
  const conf = [
    'server:',
    `  interface: ${endpoint.host}@${endpoint.port}`,
    '  do-ip6: no',
    `  access-control: 127.0.0.0/8 allow`,
    // Runs as us, in the foreground, with no chroot: the temp dir is all it needs.
    '  username: ""',
    '  chroot: ""',
    `  directory: "${tempDir}"`,
    `  pidfile: "${join(tempDir, 'unbound.pid')}"`,
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  val-log-level: 2',
    '  log-servfail: yes',
    // The authoritative servers are on 127.0.0.1, which Unbound refuses to query by default.
    '  do-not-query-localhost: no',
    // "test." is a special-use name (RFC 6761) that Unbound answers NXDOMAIN for itself by default.
    '  local-zone: "test." nodefault',
    // Caching stays at its defaults (the point of the rig: TTLs are honoured, in whole seconds).
    ...(opts.trustAnchorFile ? unboundTrustAnchors(readFileSync(opts.trustAnchorFile, 'utf8')) : []),
    'remote-control:',
    '  control-enable: no',
    ...[{ zone, servers: opts.servers }, ...(opts.stubs ?? [])].flatMap((stub) => [
      'stub-zone:',
      `  name: "${absolute(stub.zone)}"`,
      ...stub.servers.map((s) => `  stub-addr: ${s.host}@${s.port}`),
    ]),
    '',
  ].join('\n');
  const confPath = join(tempDir, 'unbound.conf');
  writeFileSync(confPath, conf);
  // Without trust-ad glibc clears the AD bit, and postfix then treats every answer as insecure.
  const resolvConfPath = join(tempDir, 'resolv.conf');
  writeFileSync(resolvConfPath, `nameserver ${endpoint.host}\noptions trust-ad\n`);

  const resolve = (name: string, type: string) => dig(endpoint, name, type, ['+rec', '+dnssec']);
  let daemon: Daemon | undefined;
  registerCleanup(t, tempDir, () => (daemon ? [daemon] : []));
  // -d: stay in the foreground (logs on stderr, captured); stopped by PID like every daemon here.
  daemon = await startDaemon({
    name: 'unbound',
    command: binaryPath('unbound'),
    args: ['-d', '-c', confPath],
    logPath: join(tempDir, 'unbound.log'),
    cwd: tempDir,
    ready: async () => {
      const r = await resolve(zone, 'SOA');
      return r.status === 'NOERROR' && (!opts.trustAnchorFile || r.flags.includes('ad'));
    },
  });
  return { endpoint, daemon, tempDir, resolvConfPath, resolve };
}
