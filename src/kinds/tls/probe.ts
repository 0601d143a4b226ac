// What clients will actually see: probe every address of every endpoint of an entry and check
// the presented chain against TLSA records (RFC 7671/7672 matching in core/tlsa-match.ts).
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import type { CertificateEntry } from '../../config/schema.js';
import { formatTlsaOwner, type TlsaRecord } from '../../core/tlsa.js';
import { X509Certificate } from 'node:crypto';
import { computeSpkiHash } from '../../core/certificate.js';
import { onlyTlsa, type DnsRecord } from '../../core/rdata.js';
import { computeTlsaMatch } from '../../core/tlsa-match.js';
import { computeOwners } from '../../core/desired.js';
import { formatKeyType, type KeyType } from '../../core/key-type.js';
import { parseHostPort, formatHostPort } from '../../io/host-port.js';
import type { ProbeTarget } from '../../io/probe.js';
import type { Session } from '../../rollover/session.js';

export interface EndpointTarget extends ProbeTarget {
  /** The TLSA owner whose records this endpoint must match. */
  owner: string;
  /** The address is one of this host's own: the service danehook just reloaded answers there. */
  local: boolean;
}

/** This host's own addresses (every interface, loopback included). */
function readLocalAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
}

/** Every (domain, port, address) to probe; [] when probing is off. */
export async function computeProbeTargets(s: Session, entry: CertificateEntry): Promise<EndpointTarget[]> {
  const probe = entry.probe;
  if (probe.protocol === 'none') return [];
  const { defaultProbeProtocol } = await import('../../io/probe.js');
  const targets: EndpointTarget[] = [];
  const localAddresses = readLocalAddresses();
  for (const domain of entry.domains) {
    let addresses: { host: string; port?: number }[];
    if (probe.addresses === 'auto') {
      addresses = (await resolveAddresses(s, domain)).map((host) => ({ host }));
    } else {
      // An explicit "host:port" connects there (a test or NAT setup); a bare host uses each configured port.
      addresses = probe.addresses.map((text) => {
        const hp = parseHostPort(text, 0)!;
        return hp.port === 0 ? { host: hp.host } : hp;
      });
    }
    for (const port of entry.ports) {
      for (const a of addresses) {
        targets.push({
          host: a.host, port: a.port ?? port, servername: domain, owner: formatTlsaOwner(port, entry.protocol, domain), local: localAddresses.has(a.host),
          protocol: probe.protocol ?? defaultProbeProtocol(port), timeoutMs: probe.timeout,
        });
      }
    }
  }
  return targets;
}

/** A and AAAA of a name: asked at the primary first (it is authoritative for our zones), else the system resolver. */
async function resolveAddresses(s: Session, domain: string): Promise<string[]> {
  try {
    const resolver = await s.resolver();
    const found = await resolver.queryAddresses(parseHostPort(s.loaded.config.dns.server, 53)!, domain);
    if (found.length > 0) return found;
  } catch {
    /* fall through to the system resolver */
  }
  const all = await lookup(domain, { all: true }).catch(() => []);
  return all.map((a) => a.address);
}

/** Does another entry publish at one of this entry's TLSA owners (same name and port: one endpoint)? */
export function computeSharesEndpoint(entries: readonly CertificateEntry[], entry: CertificateEntry): boolean {
  const mine = new Set(computeOwners(entry));
  return entries.some((e) => e.id !== entry.id && computeOwners(e).some((o) => mine.has(o)));
}

export interface ProbeVerdict {
  target: string;
  ok: boolean;
  detail: string;
  /** Key type of the certificate judged (null: unknown, or no handshake). */
  keyType: KeyType | null;
}

export interface ProbeEndpointsOptions {
  graceMs: number;
  /** Every parameter combination must match on its own (RFC 7671 §8.1), not just one record. */
  allParams: boolean;
  /**
   * Key types of the certificates expected: each is tried on its own (offering only its signature
   * algorithms), the endpoint passes when one matches. Empty or absent: one unrestricted probe.
   */
  keyTypes?: readonly KeyType[];
}

type ProbeModule = typeof import('../../io/probe.js');

/** "SPKI 3f2a9c…" of the leaf a service presented (what an operator looks for in the RRset). */
function describeLeaf(chain: Buffer[]): string {
  if (!chain[0]) return 'no certificate';
  try {
    return `SPKI ${computeSpkiHash(new X509Certificate(chain[0]).publicKey.export({ type: 'spki', format: 'der' })).slice(0, 16)}…`;
  } catch {
    return 'an unreadable certificate';
  }
}

/** One target, one key type (or none): probe until the chain matches, within the grace. */
async function judgeTarget(io: ProbeModule, t: EndpointTarget, rdatas: TlsaRecord['rdata'][], keyType: KeyType | undefined, opts: ProbeEndpointsOptions): Promise<Omit<ProbeVerdict, 'target'>> {
  const accept = (chain: Buffer[]) => {
    const m = computeTlsaMatch(chain, rdatas);
    return opts.allParams ? m.allParamsMatched : m.matched;
  };
  const kind = (k: KeyType | null) => (k ? `${formatKeyType(k)} ` : '');
  try {
    const r = await io.probeUntil({ ...t, keyType }, (res) => accept(res.chain), { graceMs: opts.graceMs, intervalMs: 100 });
    const seen = r.result.keyType;
    return r.accepted
      ? { ok: true, keyType: seen, detail: `presents a matching ${kind(seen)}certificate` }
      : { ok: false, keyType: seen, detail: `presents ${describeLeaf(r.result.chain)}, which matches none of the expected TLSA records (${kind(seen)}certificate${keyType ? `, ${formatKeyType(keyType)} offered` : ''})` };
  } catch (err) {
    let detail = (err as Error).message;
    if (keyType && /TLS handshake failed/.test(detail)) {
      // Say what the service does present when not restricted: it tells "no certificate of that
      // type installed" from a broken service. This never passes the endpoint.
      const any = await io.probeEndpoint({ ...t, keyType: undefined }).catch(() => undefined);
      if (any) detail += `; offered every key type, it presents ${any.keyType ? `an ${formatKeyType(any.keyType)}` : 'a'} certificate`;
    }
    return { ok: false, keyType: null, detail };
  }
}

/**
 * Probe each target until its presented chain matches `records` for its owner, allowing `graceMs`
 * for a reload to settle; with `keyTypes`, once per expected key type (see ProbeEndpointsOptions).
 */
/** Endpoints are judged against the TLSA records among `records` (other types do not describe TLS). */
export async function probeEndpoints(targets: EndpointTarget[], all: DnsRecord[], opts: ProbeEndpointsOptions): Promise<ProbeVerdict[]> {
  const records = onlyTlsa(all);
  const io = await import('../../io/probe.js');
  const keyTypes: (KeyType | undefined)[] = opts.keyTypes && opts.keyTypes.length > 0 ? [...opts.keyTypes] : [undefined];
  return Promise.all(
    targets.map(async (t) => {
      const rdatas = records.filter((r) => r.name === t.owner).map((r) => r.rdata);
      const target = `${t.servername} ${formatHostPort(t)} (${t.protocol})`;
      const failures: string[] = [];
      for (const k of keyTypes) {
        const v = await judgeTarget(io, t, rdatas, k, opts);
        if (v.ok) return { target, ...v };
        failures.push(v.detail);
        if (keyTypes.length === 1) return { target, ...v };
      }
      return { target, ok: false, keyType: null, detail: failures.join('; ') };
    }),
  );
}

/**
 * Which endpoints must present the new certificate right after activation. Several hosts behind
 * one name each run their own danehook: this host's addresses must show the new certificate, the
 * others only need to match the published RRset (cleanup waits for them). With no address of this
 * host among them (NAT, a load balancer, or a custom `activate` that installs elsewhere), every
 * endpoint must show the new certificate.
 */
export function splitActivationTargets(targets: EndpointTarget[], customActivate: boolean): { mustBeNew: EndpointTarget[]; others: EndpointTarget[] } {
  const local = targets.filter((t) => t.local);
  if (customActivate || local.length === 0) return { mustBeNew: targets, others: [] };
  return { mustBeNew: local, others: targets.filter((t) => !t.local) };
}
