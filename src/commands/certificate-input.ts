// Shared first steps of plan and deploy: load config, read the client's certificate, pick the
// entry, and check the certificate against it. Nothing is written.
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { detectCertEvent } from '../clients/detect.js';
import type { CertEvent } from '../clients/event.js';
import { existsSync } from 'node:fs';
import { readCertificateBundle } from '../io/cert-files.js';
import { findGeneratedKey } from '../io/next-key-files.js';
import { checkBundle, computeSpkiHash, type CertificateBundle } from '../core/certificate.js';
import { identifyEntry } from '../core/identify.js';
import { computeCertificateRecords } from '../core/desired.js';
import type { CertificateEntry } from '../config/schema.js';
import type { CommandContext } from './context.js';

export interface CertificateInput {
  loaded: LoadedConfig;
  event: CertEvent;
  bundle: CertificateBundle;
  entry: CertificateEntry;
  spkiHash: string;
}

export async function readCertificateInput(ctx: CommandContext, opts: { requireKey: boolean }): Promise<CertificateInput> {
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env, offline: ctx.options.offline });
  for (const w of loaded.warnings) ctx.log.warn(w);
  const { pem, cert, chain, key } = ctx.options;
  const event = detectCertEvent({ env: ctx.env, explicit: { pem, cert, chain, key }, args: ctx.options.args });
  ctx.log.debug(`certificate from ${event.client}: ${Object.values(event.files).join(', ')}`);
  // lego --csr names a key file it never writes, or one left from an earlier run without --csr that
  // belongs to another certificate (NEXT-KEY-FACTS.md): read the certificate without the client's
  // key first, and pair it with danehook's own next key when the certificate carries that one.
  const clientKey = event.files.key;
  let bundle = readCertificateBundle(clientKey ? { ...event, files: { ...event.files, key: undefined } } : event);
  const entry = identifyEntry(loaded.config.certificates, { id: ctx.options.id, clientName: event.name, dnsNames: bundle.leaf.dnsNames });
  const spkiHash = computeSpkiHash(bundle.leaf.spki);
  const paired = bundle.key ? undefined : findGeneratedKey(loaded.config.stateDir, entry.id, spkiHash);
  if (paired) {
    ctx.log.info(`"${entry.id}": the certificate carries the next key danehook generated (${paired}); using that key${clientKey ? ` rather than ${clientKey}` : ''}`);
    bundle = readCertificateBundle({ ...event, files: { ...event.files, key: paired }, sources: { ...event.sources, key: 'danehook next key' } });
  } else if (clientKey && (existsSync(clientKey) || opts.requireKey)) {
    bundle = readCertificateBundle(event); // the client's key, checked against the certificate (absent: throws)
  }
  checkBundle(bundle, { domains: entry.domains, now: ctx.now(), requireKey: opts.requireKey });
  // Records computable, trust anchor served and in the issuer set: refused (65) before anything is queued.
  computeCertificateRecords(entry, bundle, loaded.config.dns.ttl);
  for (const c of entry.issuers ?? []) {
    if (c.notAfter < ctx.now()) ctx.log.warn(`"${entry.id}": issuer "${c.subject}" from ${c.source} expired on ${c.notAfter.toISOString()}; its record is still published until you remove it from "issuers"`);
  }
  return { loaded, event, bundle, entry, spkiHash };
}
