// The live certificate on a first run: read from the entry's installed files, so its records are
// published beside the new ones and the RRset always matches what the service presents.
import { existsSync, readFileSync } from 'node:fs';
import type { CertificateEntry } from '../config/schema.js';
import { assembleBundle, computeCertFingerprint, computeSpkiHash, type CertificateBundle } from '../core/certificate.js';
import { computeCertificateRecords } from '../core/desired.js';
import { parsePemBlocks } from '../core/pem.js';
import type { Live } from '../core/state.js';
import { toStateRecord } from '../core/state-records.js';
import { computeProbeTargets } from './probe.js';
import type { Session } from './session.js';

export type LiveDiscovery = { known: true; live: Live | null; from?: string } | { known: false; why: string };

export function computeLive(entry: CertificateEntry, bundle: Pick<CertificateBundle, 'leaf' | 'chain'>, ttl: number, source: Live['source']): Live {
  return {
    spki: computeSpkiHash(bundle.leaf.spki),
    fingerprint: computeCertFingerprint(bundle.leaf.der),
    notAfter: bundle.leaf.notAfter.toISOString(),
    records: computeCertificateRecords(entry, bundle, ttl).map(toStateRecord),
    source,
  };
}

/** Read the installed certificate (fullchain, combined or certificate file, in that order). */
export function readInstalledLive(entry: CertificateEntry, ttl: number): LiveDiscovery {
  const install = entry.install;
  const candidates = [install?.fullchain, install?.combined, install?.certificate].filter((p): p is string => Boolean(p));
  if (candidates.length === 0) {
    return { known: false, why: `entry "${entry.id}" has no install paths, so danehook cannot see which certificate the service presents` };
  }
  const present = candidates.filter((p) => existsSync(p));
  if (present.length === 0) return { known: true, live: null }; // nothing installed yet: nothing served to protect
  const path = present[0]!;
  try {
    const blocks = parsePemBlocks(readFileSync(path, 'latin1'), path).filter((b) => b.label === 'CERTIFICATE');
    const bundle = assembleBundle(blocks, blocks[0]?.der);
    return { known: true, live: computeLive(entry, bundle, ttl, 'installed-files'), from: path };
  } catch (err) {
    return { known: false, why: `the installed certificate ${path} cannot be read: ${(err as Error).message}` };
  }
}

/** The certificate the service presents, by probing its endpoints (when no installed file tells). */
export async function probeLive(s: Session, entry: CertificateEntry, ttl: number): Promise<LiveDiscovery> {
  const targets = await computeProbeTargets(s, entry);
  if (targets.length === 0) return { known: false, why: `entry "${entry.id}" has no installed certificate file and probing is off` };
  const { probeAll } = await import('../io/probe.js');
  const outcomes = await probeAll(targets);
  const ok = outcomes.filter((o) => o.ok);
  if (ok.length === 0) {
    const first = outcomes[0];
    // Nothing answers: nothing is served that records could contradict.
    if (first && !first.ok && /refused/i.test(first.error.message)) return { known: true, live: null };
    return { known: false, why: `no endpoint of "${entry.id}" could be probed (${first && !first.ok ? first.error.message : 'no targets'})` };
  }
  const leaves = new Set(ok.map((o) => (o.ok ? o.result.chain[0]!.toString('base64') : '')));
  if (leaves.size > 1) s.ctx.log.warn(`"${entry.id}": endpoints present ${leaves.size} different certificates; the first one is taken as live`);
  const first = ok[0]!;
  const chain = first.ok ? first.result.chain : [];
  const bundle = assembleBundle(chain.map((der) => ({ label: 'CERTIFICATE', der, source: `probe of ${first.target.host}:${first.target.port}` })), chain[0]);
  return { known: true, live: computeLive(entry, bundle, ttl, 'probe'), from: `a probe of ${first.target.host}:${first.target.port}` };
}

/** First run for an id: learn the live certificate from the installed files, else by probing. */
export async function learnLive(s: Session, entry: CertificateEntry, ttl: number): Promise<void> {
  const es = s.entryState(entry.id);
  if (es.liveKnown) return;
  let found = readInstalledLive(entry, ttl);
  if (!found.known || found.live === null) {
    // No installed file: what the service presents is the truth (e.g. it reads another path).
    const probed = await probeLive(s, entry, ttl);
    if (probed.known || !found.known) found = probed;
  }
  if (!found.known) {
    s.ctx.log.warn(`${found.why}; its records cannot be published and activation will wait until it is known`);
    return;
  }
  es.live = found.live;
  es.liveKnown = true;
  s.ctx.log.info(found.live ? `live certificate of "${entry.id}" read from ${found.from} (SPKI ${found.live.spki.slice(0, 16)}…); its records are published too` : `no certificate is installed for "${entry.id}" yet`);
}
