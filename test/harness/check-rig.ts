// What `danehook check` looks at, all real and healthy to begin with: the DNSSEC rig (signed parent
// `test.` with the child's DS, `example.test` inline-signed on a BIND primary + secondary, a
// validating Unbound), a TLS service (openssl s_server) on two addresses presenting certificate A,
// and danehook's state saying A is live with its TLSA record published on both servers by
// `danehook deploy` itself. A test then breaks exactly one thing and runs `danehook check`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type Ca, type CertFiles } from './certs.js';
import { bindConfig, makeWorkspace, runCli, type CliResult, type Workspace } from './cli.js';
import { dig, nsupdate, tlsaOf, type Endpoint } from './dns.js';
import { startDnssecRig, type DnssecRig, type DnssecRigOptions } from './dnssec-rig.js';
import { waitFor } from './process.js';
import { postDeployUntil } from './steps.js';
import type { HarnessContext } from './tempdir.js';
import { startOpensslServer, type SServer } from './tls-service-sserver.js';

export const DOMAIN = 'mx.example.test';
export const PORT = 25;
export const OWNER = `_${PORT}._tcp.${DOMAIN}.`;
/** The TLSA TTL danehook publishes with (its dns.ttl). */
export const TLSA_TTL = 60;

/** Binaries every check-rig test needs. */
export const CHECK_RIG_BINARIES = ['named', 'dig', 'delv', 'nsupdate', 'dnssec-dsfromkey', 'unbound', 'openssl'];

export const tlsaOfLeaf = (leaf: CertFiles) => `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`;
export const spkiOf = (leaf: CertFiles) => opensslAssociation(leaf.certPath, 1, 1);

export interface CheckRigOptions extends DnssecRigOptions {
  /** How many endpoint addresses (s_server instances) present A. Default 2. */
  addresses?: number;
}

export interface CheckRig {
  dnssec: DnssecRig;
  ws: Workspace;
  issuer: Ca;
  /** The live certificate: every address presents it, its record is published everywhere. */
  a: CertFiles;
  /** A certificate of the same name that no record matches. */
  b: CertFiles;
  services: SServer[];
  /** "127.0.0.1:PORT" of each service, as the config's probe.addresses list them. */
  addresses: string[];
  /** The child's servers as danehook names them ("127.0.0.1:PORT"): primary, secondary. */
  servers: string[];
  /** The danehook config (entry "mx", both servers, dnssec.resolver = the rig's Unbound). */
  config: string;
  /** The same config without `dnssec` (the entry's state is made with it). */
  configWithoutResolver: string;
  /** I/O: `danehook check -c config ...args`. */
  check(args?: string[], opts?: { config?: string }): Promise<CliResult>;
  /** I/O: restart a service presenting `leaf` instead (on the same port). */
  present(index: number, leaf: CertFiles): Promise<void>;
  /**
   * I/O: leave the secondary with a stale copy of the zone, by nsupdate (not danehook): OWNER is
   * set to an old certificate's record, the secondary takes that version, is held (no NOTIFY
   * reaches it), and the primary gets A's record back. The primary then serves {A} as danehook's
   * state expects; the secondary serves {old} and nothing that matches what the service presents.
   * Returns the old record.
   */
  makeSecondaryStale(): Promise<string>;
}

/** The danehook config object for the rig (exported for tests that add entries). */
export function checkConfigObject(ws: Workspace, rig: DnssecRig, addresses: string[], opts: { resolver?: boolean } = {}): Record<string, any> {
  const base = bindConfig(ws, rig.child, {
    id: 'mx', domains: [DOMAIN], ports: [PORT], live: 'none',
    probe: { protocol: 'tls', addresses, timeout: '3s', grace: '1s' },
  }, { ttl: TLSA_TTL, rollover: { propagationTimeout: '30s', cleanupDelay: '0s' } });
  return opts.resolver === false ? base : { ...base, dnssec: { resolver: `${rig.resolver.host}:${rig.resolver.port}` } };
}

/** I/O: everything healthy; proves it (A's record on both servers, validated through the DS when signed) before returning. */
export async function startCheckRig(t: HarnessContext, opts: CheckRigOptions = {}): Promise<CheckRig> {
  const dnssec = await startDnssecRig(t, opts);
  const ws = makeWorkspace();
  const ca = makeCa('Check Root', { days: 365 });
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const issuer = makeIntermediate(ca, 'Check Intermediate', { days: 365 });
  const a = makeLeaf(issuer, [DOMAIN], { days: 90 });
  const b = makeLeaf(issuer, [DOMAIN], { days: 90 });
  const services: SServer[] = [];
  for (let i = 0; i < (opts.addresses ?? 2); i++) services.push(await startOpensslServer(t, { certs: [a] }));
  const addresses = services.map((s) => `${s.host}:${s.port}`);
  const servers = dnssec.servers.map((s) => `${s.host}:${s.port}`);

  // The state is made by danehook itself: nothing was served before, so A goes live as soon as
  // both servers serve its record (the probe sees A at every address).
  const configWithoutResolver = join(ws.dir, 'config-no-resolver.json');
  writeFileSync(configWithoutResolver, JSON.stringify(checkConfigObject(ws, dnssec, addresses, { resolver: false }), null, 2));
  const config = ws.writeConfig(checkConfigObject(ws, dnssec, addresses));
  const d = await runCli(['deploy', '-c', configWithoutResolver, '--pem', a.combinedPath]);
  assert.equal(d.code, 0, `deploy A: ${d.stderr}`);
  await postDeployUntil(configWithoutResolver, 'cleaned', { maxRuns: 20, everyMs: 200 });
  await assertServedEverywhere(dnssec.servers, [tlsaOfLeaf(a)]);
  if (dnssec.signed && dnssec.ds.length > 0 && opts.ds !== 'bogus') {
    const v = await dnssec.delv(OWNER, 'TLSA');
    assert.equal(v.verdict, 'validated', `delv does not validate ${OWNER} from the parent's anchor:\n${v.output}`);
  }

  const rig: CheckRig = {
    dnssec, ws, issuer, a, b, services, addresses, servers, config, configWithoutResolver,
    check: (args = [], o = {}) => runCli(['check', '-c', o.config ?? config, ...args], { timeoutMs: 60_000 }),
    async makeSecondaryStale() {
      const old = tlsaOfLeaf(makeLeaf(issuer, [DOMAIN], { days: 90 }));
      const { child } = dnssec;
      const replace = async (record: string) => {
        const r = await nsupdate(child.primary, child.zone, child.keyFilePath, [`update delete ${OWNER} TLSA`, `update add ${OWNER} ${TLSA_TTL} TLSA ${record}`]);
        assert.equal(r.code, 0, `nsupdate: ${r.stderr}`);
      };
      await replace(old);
      await assertServedEverywhere(dnssec.servers, [old]);
      await child.holdSecondary();
      await replace(tlsaOfLeaf(a));
      await assertServedEverywhere([child.primary], [tlsaOfLeaf(a)]);
      return old;
    },
    async present(index, leaf) {
      const old = services[index]!;
      await old.stop();
      const next = await startOpensslServerOnPort(t, leaf, old.port);
      services[index] = next;
    },
  };
  return rig;
}

/** I/O: both (all) servers serve exactly `records` at OWNER (polled: inline signing lags). */
export async function assertServedEverywhere(servers: Endpoint[], records: string[], owner = OWNER): Promise<void> {
  const want = [...records].map((r) => r.toLowerCase()).sort();
  for (const s of servers) {
    const ok = await waitFor(async () => JSON.stringify(tlsaOf(await dig(s, owner, 'TLSA'))) === JSON.stringify(want), 10_000, 100);
    assert.ok(ok, `${s.host}:${s.port} serves ${JSON.stringify(tlsaOf(await dig(s, owner, 'TLSA')))} at ${owner}, want ${JSON.stringify(want)}`);
  }
}

async function startOpensslServerOnPort(t: HarnessContext, leaf: CertFiles, port: number): Promise<SServer> {
  return startOpensslServer(t, { certs: [leaf], port });
}

/** Pure: the finding lines of `danehook check` (every line that starts with a severity word). */
export function findingLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => /^(OK|WARNING|CRITICAL|UNKNOWN) /.test(l));
}

/** Pure: the summary line. */
export function summaryLine(stdout: string): string | undefined {
  return stdout.split('\n').find((l) => l.startsWith('danehook check:'));
}

/** I/O: the whole file as text (prometheus textfile). */
export const readText = (path: string) => readFileSync(path, 'utf8');
