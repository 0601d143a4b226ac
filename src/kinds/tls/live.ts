// The certificate(s) the service presents now, positively known before anything is published
// (DESIGN.md invariant): stated by the operator, presented at the endpoints, or an installed file
// the existing RRset already covers. Anything less is exit 78 with what to configure, no DNS write.
import { readFileSync } from 'node:fs';
import type { CertificateEntry } from '../../config/schema.js';
import { assembleBundle, computeCertFingerprint, computeSpkiHash, type CertificateBundle } from '../../core/certificate.js';
import { computeDesiredRecords, computeOwners } from '../../core/desired.js';
import { parsePemBlocks } from '../../core/pem.js';
import type { Live } from '../../core/state.js';
import { containsAll, fromStateRecords, toStateRecord } from '../../core/state-records.js';
import { ConfigError } from '../../errors.js';
import { formatHostPort } from '../../io/host-port.js';
import type { ProbeOutcome } from '../../io/probe.js';
import { listInstalledCertificatePaths } from '../../io/material.js';
import { computeProbeTargets, computeSharesEndpoint } from './probe.js';
import { computeKeyType, computeKeyTypeField, type KeyType } from '../../core/key-type.js';
import type { Session } from '../../rollover/session.js';

type Chain = Pick<CertificateBundle, 'leaf' | 'chain'>;

/** The live state for one or more presented certificates (fleets and half-configured services may differ). */
export function computeLive(entry: CertificateEntry, chains: Chain[], ttl: number, source: Live['source']): Live {
  const leaf = chains[0]!.leaf;
  const others = chains.slice(1).map((c) => computeSpkiHash(c.leaf.spki));
  return {
    spki: computeSpkiHash(leaf.spki),
    fingerprint: computeCertFingerprint(leaf.der),
    notAfter: leaf.notAfter.toISOString(),
    notBefore: leaf.notBefore.toISOString(),
    ...computeKeyTypeField(leaf.spki),
    records: computeDesiredRecords(entry, chains, ttl, 'live').map(toStateRecord),
    source,
    ...(others.length > 0 ? { others } : {}),
  };
}

/** I/O: the certificate chain in a PEM file (leaf first), or why it cannot be read. */
function readChainFile(path: string): Chain {
  const blocks = parsePemBlocks(readFileSync(path, 'latin1'), path).filter((b) => b.label === 'CERTIFICATE');
  return assembleBundle(blocks, blocks[0]?.der);
}

/** I/O: the installed certificate file (fullchain, combined or certificate, in that order), if any. */
function readInstalledChain(entry: CertificateEntry): { chain: Chain; path: string } | undefined {
  for (const path of listInstalledCertificatePaths(entry.install)) {
    try {
      return { chain: readChainFile(path), path };
    } catch {
      /* absent or unreadable: not evidence of anything */
    }
  }
  return undefined;
}

/** Distinct presented chains (by leaf) of the successful probes. */
function presentedChains(outcomes: ProbeOutcome[]): { chains: Chain[]; where: string } {
  const byLeaf = new Map<string, Chain>();
  const where: string[] = [];
  for (const o of outcomes) {
    if (!o.ok) continue;
    const der = o.result.chain;
    const key = der[0]!.toString('base64');
    where.push(formatHostPort(o.target));
    if (!byLeaf.has(key)) byLeaf.set(key, assembleBundle(der.map((d) => ({ label: 'CERTIFICATE', der: d, source: `probe of ${formatHostPort(o.target)}` })), der[0]));
  }
  return { chains: [...byLeaf.values()], where: where.join(', ') };
}

type Discovery = { live: Live | null; from: string } | { unknown: string };

/**
 * I/O: find the live certificate(s) by the rules in the header; never writes. Where another entry
 * shares an endpoint (RSA and ECDSA certificates for one name), the probe offers only this entry's
 * key type — the installed file's, else `keyType` (the renewal's) — or it would see whichever
 * certificate the server prefers and take the other entry's for this one's.
 */
export async function discoverLive(s: Session, entry: CertificateEntry, ttl: number, keyType?: KeyType): Promise<Discovery> {
  const stated = s.ctx.options.liveCert ?? entry.live;
  if (stated === 'none') return { live: null, from: 'the operator stating that nothing is served yet' };
  if (stated) {
    try {
      return { live: computeLive(entry, [readChainFile(stated)], ttl, 'operator'), from: stated };
    } catch (err) {
      return { unknown: `the stated live certificate ${stated} cannot be read: ${(err as Error).message}` };
    }
  }
  const installed = readInstalledChain(entry);
  const shared = computeSharesEndpoint(s.loaded.config.certificates, entry);
  const restrict = shared ? ((installed && computeKeyType(installed.chain.leaf.spki)) ?? keyType) : undefined;
  const targets = (await computeProbeTargets(s, entry)).map((t) => (restrict ? { ...t, keyType: restrict } : t));
  const outcomes = targets.length > 0 ? await (await import('../../io/probe.js')).probeAll(targets) : [];
  const presented = presentedChains(outcomes);
  if (presented.chains.length > 0) {
    const live = computeLive(entry, presented.chains, ttl, 'probe');
    if (presented.chains.length > 1) s.ctx.log.warn(`"${entry.id}": the endpoints present ${presented.chains.length} different certificates; records for each are kept`);
    if (installed && !presented.chains.some((c) => c.leaf.der.equals(installed.chain.leaf.der))) {
      s.ctx.log.warn(`"${entry.id}": the service does not present ${installed.path} (it reads another file?); activation will fail its probe and roll back until the service reads the installed path`);
    }
    return { live, from: `a probe of ${presented.where}` };
  }
  // Nobody presented anything: only the DNS and the installed file can still tell.
  const owners = computeOwners(entry);
  const existing = [...(await (await s.provider()).listRecords(owners)).values()].filter((rs) => rs.records.length > 0);
  const allRefused = outcomes.length > 0 && outcomes.every((o) => !o.ok && /connection refused/.test(o.error.message));
  if (allRefused && existing.length === 0) {
    // The service is down and DANE is not in use yet. When it starts it will present the
    // installed file, so that file's records go beside the new ones (extra records break nothing).
    if (installed) return { live: computeLive(entry, [installed.chain], ttl, 'installed-files'), from: `${installed.path} (every endpoint refuses connections now)` };
    return { live: null, from: 'every endpoint refusing connections and no TLSA record at its names' };
  }
  if (installed) {
    const live = computeLive(entry, [installed.chain], ttl, 'installed-files');
    const served = existing.flatMap((rs) => rs.records.map((rdata) => ({ name: rs.name, ttl: 0, rdata })));
    if (existing.length > 0 && containsAll(served, fromStateRecords(live.records))) {
      return { live, from: `${installed.path}, which the TLSA records in DNS already cover` };
    }
  }
  const failures = outcomes.filter((o): o is Extract<ProbeOutcome, { ok: false }> => !o.ok).map((o) => `${formatHostPort(o.target)}: ${o.error.message}`);
  const probeSaid = targets.length === 0 ? 'probing is off (probe.protocol: none)' : `no endpoint could be probed (${failures.slice(0, 3).join('; ')})`;
  return {
    unknown:
      `the certificate the service of "${entry.id}" presents now is unknown: ${probeSaid}` +
      (existing.length > 0 ? ', and a TLSA RRset exists that danehook must keep valid' : '') +
      `. Publishing only the new certificate's records could break DANE for it. Configure probe.addresses (an address where the service answers), ` +
      `or state the live certificate: "live: /path/to/current/fullchain.pem" in the entry or "danehook deploy --live-cert FILE" ("none" when nothing is served yet)`,
  };
}

/**
 * Make sure the live certificate of `entry` is known (learned once, or re-learned by a later run
 * while it is unknown); throws ConfigError (78) saying what to configure. An operator's explicit
 * `--live-cert` replaces what was known. `keyType`: see discoverLive.
 */
export async function requireLiveKnown(s: Session, entry: CertificateEntry, keyType?: KeyType): Promise<void> {
  const es = s.entryState(entry.id);
  if (es.liveKnown && !s.ctx.options.liveCert) return;
  const found = await discoverLive(s, entry, s.loaded.config.dns.ttl, keyType);
  if ('unknown' in found) throw new ConfigError(found.unknown);
  es.live = found.live;
  es.liveKnown = true;
  s.event({ id: entry.id, event: 'live', spki: found.live?.spki ?? null, from: found.from });
  s.ctx.log.info(
    found.live
      ? `live certificate of "${entry.id}" (SPKI ${found.live.spki.slice(0, 16)}…) known from ${found.from}; its records are published beside the new ones`
      : `nothing is served for "${entry.id}" yet (${found.from})`,
  );
}
