// The whole mail path of a DANE rollover, all real: receiving postfix (danehook's target) serving
// certificate A, BIND primary + secondary with an inline-signed zone already publishing A's TLSA
// record (TTL 1 s), a validating caching Unbound over both servers, and a DANE-enforcing sender.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBind, type BindHandle } from './bind.js';
import { makeCa, makeIntermediate, makeLeaf, opensslAssociation, removeCertDir, type Ca, type CertFiles } from './certs.js';
import { bindConfig, makeWorkspace, postfixEntry, runCli, type Workspace } from './cli.js';
import { SINK_MAIN, startDaneSender, type DaneSender } from './dane-sender.js';
import { startPostfix, type PostfixInstance } from './postfix.js';
import type { HarnessContext } from './tempdir.js';
import { startUnbound, type UnboundHandle } from './unbound.js';

export const DOMAIN = 'mx.example.test';
/** Default TTL of the TLSA RRset: short, so a whole rollover takes seconds; caches count it in whole seconds. */
export const TLSA_TTL = 1;

export const tlsaOfLeaf = (leaf: CertFiles) => `3 1 1 ${opensslAssociation(leaf.certPath, 1, 1)}`;

/** One rollover as `danehook status --json` reports it (times are ISO strings). */
export interface RolloverStatus {
  phase: string;
  spki: string;
  propagatedAt: string | null;
  activateAfter: string | null;
  activatedAt: string | null;
}

export interface DaneRig {
  bind: BindHandle;
  receiver: PostfixInstance;
  unbound: UnboundHandle;
  sender: DaneSender;
  ws: Workspace;
  /** TTL of the TLSA RRset, seconds (zone file and danehook's dns.ttl). */
  tlsaTtl: number;
  /** The TLSA owner the sender looks up: _PORT._tcp.mx.example.test. (PORT = the receiver's). */
  owner: string;
  /** A danehook config that installs into the receiver's chain file and reloads it. */
  config: string;
  /** Issuer for further leaves (makeLeaf(rig.issuer, [DOMAIN])). */
  issuer: Ca;
  /** The certificate the receiver serves at the start. */
  first: CertFiles;
  /** I/O: the newest rollover of entry "mx" as `danehook status --json` reports it. */
  latestRollover(): Promise<RolloverStatus | undefined>;
  /**
   * I/O: the last phase danehook logged in events.jsonl for the rollover to `spki` — a file read,
   * so a fast timer is not slowed by a `status` process per tick.
   */
  phaseOf(spki: string): string | undefined;
}

/** I/O: start everything; proves the DANE path works (Unbound validates, posttls-finger verifies) before returning. */
export async function startDaneRig(t: HarnessContext, opts: { tlsaTtl?: number } = {}): Promise<DaneRig> {
  const tlsaTtl = opts.tlsaTtl ?? TLSA_TTL;
  const ca = makeCa('DANE Sender Root');
  const ws = makeWorkspace();
  t.after(() => { ws.remove(); removeCertDir(ca); });
  const issuer = makeIntermediate(ca, 'DANE Sender Intermediate');
  const first = makeLeaf(issuer, [DOMAIN]);
  const receiver = await startPostfix(t, { name: 'postfix-receiver', combinedPem: readFileSync(first.combinedPath, 'utf8'), ipv6: false, main: SINK_MAIN });
  const owner = `_${receiver.smtpPort}._tcp.${DOMAIN}.`;
  // The zone already protects the first certificate, as a running DANE site does; the zone's own
  // TTL (and negative TTL) stays longer, as in real zones.
  const bind = await startBind(t, {
    zone: 'example.test', ttl: 30, secondary: true, inlineSigned: true,
    records: [`${owner} ${tlsaTtl} IN TLSA ${tlsaOfLeaf(first)}`],
  });
  assert.ok(await bind.waitForSecondarySync(), 'secondary has the signed zone');
  const unbound = await startUnbound(t, { zone: bind.zone, servers: [bind.primary, bind.secondary!], trustAnchorFile: await bind.trustAnchorFile() });
  const sender = await startDaneSender(t, { resolvConf: unbound.resolvConfPath, relayHost: DOMAIN, relayPort: receiver.smtpPort });

  // Each piece proven by a tool that is not the one under test: Unbound's answer validates (AD) and
  // holds A's record; posttls-finger, through the same resolver, authenticates the receiver by DANE.
  const answer = await unbound.resolve(owner, 'TLSA');
  assert.ok(answer.flags.includes('ad'), `Unbound does not validate ${owner}:\n${answer.raw}`);
  const finger = await sender.finger();
  assert.ok(finger.verified, `posttls-finger does not verify the receiver by DANE:\n${finger.output}`);

  const config = ws.writeConfig(bindConfig(ws, bind, { domains: [DOMAIN], ports: [receiver.smtpPort], ...postfixEntry(receiver) },
    { ttl: tlsaTtl, rollover: { delayFactor: 2, propagationTimeout: '60s' } }));
  return {
    bind, receiver, unbound, sender, ws, tlsaTtl, owner, config, issuer, first,
    phaseOf(spki) {
      const path = join(ws.stateDir, 'events.jsonl');
      if (!existsSync(path)) return undefined;
      const events = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { rollover?: string; event?: string; phase?: string; spki?: string });
      const id = events.find((e) => e.event === 'phase' && e.phase === 'staged' && e.spki === spki)?.rollover;
      return id === undefined ? undefined : events.filter((e) => e.rollover === id && e.event === 'phase').at(-1)?.phase;
    },
    async latestRollover() {
      const r = await runCli(['status', '--json', '--offline', '-c', config]);
      assert.equal(r.code, 0, `status: ${r.stderr}`);
      return JSON.parse(r.stdout).certificates[0]?.rollovers.at(-1);
    },
  };
}
