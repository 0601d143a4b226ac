// Rollovers done wrong, by hand (nsupdate + file swap + postfix reload), for control runs: the
// rig must see them fail, or its silence during danehook's rollovers would prove nothing.
import { readFileSync } from 'node:fs';
import { makeLeaf, opensslAssociation, type CertFiles } from './certs.js';
import { readTlsa } from './dane-check.js';
import { DOMAIN, tlsaOfLeaf, type DaneRig } from './dane-rig.js';
import type { MailFlow } from './mail-flow.js';
import { nsupdate } from './dns.js';
import { waitFor } from './process.js';

async function update(rig: DaneRig, lines: string[]): Promise<void> {
  const r = await nsupdate(rig.bind.primary, rig.bind.zone, rig.bind.keyFilePath, lines);
  if (r.code !== 0) throw new Error(`nsupdate: ${r.stderr}`);
}

async function swapCertificate(rig: DaneRig, leaf: CertFiles): Promise<void> {
  rig.receiver.installCert(readFileSync(leaf.combinedPath, 'utf8'));
  await rig.receiver.reload();
}

/** Until the flow's watcher has seen the receiver serve `leaf`'s key. */
async function waitForKey(flow: MailFlow, leaf: CertFiles): Promise<void> {
  const spki = opensslAssociation(leaf.certPath, 1, 1);
  if (!(await waitFor(() => flow.keyChanges.some((c) => c.spki === spki), 10_000, 20))) throw new Error('new key not served within 10 s');
}

/**
 * I/O: danehook's steps without its wait — publish the new record beside the old one, wait until
 * every authoritative server serves it, swap at once, and once the new key is served remove the
 * old record. Only caches (Unbound's, postfix's) can make this fail. Returns the new live leaf.
 */
export async function rollWithoutWaiting(rig: DaneRig, flow: MailFlow, live: CertFiles): Promise<CertFiles> {
  const leaf = makeLeaf(rig.issuer, [DOMAIN]);
  const record = tlsaOfLeaf(leaf);
  await update(rig, [`update add ${rig.owner} ${rig.tlsaTtl} TLSA ${record}`]);
  const servers = [rig.bind.primary, rig.bind.secondary!];
  const everywhere = async () => (await Promise.all(servers.map((s) => readTlsa(s, rig.owner)))).every((rrset) => rrset.includes(record));
  if (!(await waitFor(everywhere, 10_000))) throw new Error('new record not served by every server within 10 s');
  await swapCertificate(rig, leaf);
  await waitForKey(flow, leaf);
  await update(rig, [`update delete ${rig.owner} TLSA ${tlsaOfLeaf(live)}`]);
  return leaf;
}

/**
 * I/O: what a hand-rolled renewal script does — install and reload, then replace the record (here
 * once the new key is served, so the mismatch is certain rather than a race with postfix's reload).
 */
export async function swapThenPublish(rig: DaneRig, flow: MailFlow): Promise<CertFiles> {
  const leaf = makeLeaf(rig.issuer, [DOMAIN]);
  await swapCertificate(rig, leaf);
  await waitForKey(flow, leaf);
  await update(rig, [`update delete ${rig.owner} TLSA`, `update add ${rig.owner} ${rig.tlsaTtl} TLSA ${tlsaOfLeaf(leaf)}`]);
  return leaf;
}
