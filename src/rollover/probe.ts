// What clients will actually see: probe every address of every endpoint of an entry and check
// the presented chain against TLSA records (RFC 7671/7672 matching in core/tlsa-match.ts).
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import type { CertificateEntry } from '../config/schema.js';
import { formatTlsaOwner, type TlsaRecord } from '../core/tlsa.js';
import { computeTlsaMatch } from '../core/tlsa-match.js';
import { parseHostPort, formatHostPort } from '../io/host-port.js';
import type { ProbeTarget } from '../io/probe.js';
import type { Session } from './session.js';

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
  const { defaultProbeProtocol } = await import('../io/probe.js');
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

export interface ProbeVerdict {
  target: string;
  ok: boolean;
  detail: string;
}

/**
 * Probe each target until its presented chain matches `records` for its owner (every parameter
 * combination on its own when `allParams`), allowing `graceMs` for a reload to settle.
 */
export async function probeEndpoints(targets: EndpointTarget[], records: TlsaRecord[], opts: { graceMs: number; allParams: boolean }): Promise<ProbeVerdict[]> {
  const { probeUntil } = await import('../io/probe.js');
  return Promise.all(
    targets.map(async (t) => {
      const rdatas = records.filter((r) => r.name === t.owner).map((r) => r.rdata);
      const label = `${t.servername} ${formatHostPort(t)} (${t.protocol})`;
      const accept = (chain: Buffer[]) => {
        const m = computeTlsaMatch(chain, rdatas);
        return opts.allParams ? m.allParamsMatched : m.matched;
      };
      try {
        const r = await probeUntil(t, (res) => accept(res.chain), { graceMs: opts.graceMs, intervalMs: 100 });
        return { target: label, ok: r.accepted, detail: r.accepted ? 'presents a matching certificate' : 'presents a certificate that matches none of the expected TLSA records' };
      } catch (err) {
        return { target: label, ok: false, detail: (err as Error).message };
      }
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
