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
  // lego --csr names a key file it never writes: the key is danehook's own next key (paired below).
  const keyAbsent = event.files.key !== undefined && !existsSync(event.files.key);
  let bundle = readCertificateBundle(keyAbsent ? { ...event, files: { ...event.files, key: undefined } } : event);
  const entry = identifyEntry(loaded.config.certificates, { id: ctx.options.id, clientName: event.name, dnsNames: bundle.leaf.dnsNames });
  const spkiHash = computeSpkiHash(bundle.leaf.spki);
  if (!bundle.key) {
    // A certificate from `danehook next-key --csr` arrives without a key: pair it with ours.
    const paired = findGeneratedKey(loaded.config.stateDir, entry.id, spkiHash);
    if (paired) {
      ctx.log.info(`"${entry.id}": the certificate carries the next key danehook generated (${paired}); using that key`);
      bundle = readCertificateBundle({ ...event, files: { ...event.files, key: paired }, sources: { ...event.sources, key: 'danehook next key' } });
    } else if (keyAbsent && opts.requireKey) {
      readCertificateBundle(event); // throws: the key file the client named does not exist
    }
  }
  checkBundle(bundle, { domains: entry.domains, now: ctx.now(), requireKey: opts.requireKey });
  return { loaded, event, bundle, entry, spkiHash };
}
