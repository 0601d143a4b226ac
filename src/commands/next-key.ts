// `danehook next-key --id ID [--csr]`: the key the next renewal should use — for clients that take
// a key from outside (lego --csr). Prints its path, or writes a CSR for the entry's domains and
// prints that; with no next key yet, generates one like the current certificate's key and announces it.
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { loadConfig } from '../config/load.js';
import { ConfigError, UsageError } from '../errors.js';
import { canAnnounceNextKey } from '../core/next-key.js';
import { readPemFile } from '../io/cert-files.js';
import { listInstalledCertificatePaths } from '../io/material.js';
import { stagedPath } from '../io/files.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { createCsr, NEXT_DIR } from '../io/next-key-files.js';
import { advanceNextKey, chooseNextKey } from '../kinds/tls/next-key.js';
import { closeSession, openSession, type Session } from '../rollover/session.js';
import type { CommandContext } from './context.js';

/** The public key (DER SPKI) of the newest certificate known for the id: installed, else staged. */
function readTemplateSpki(s: Session, id: string): Uint8Array | undefined {
  const entry = s.entry(id);
  const staged = [...s.entryState(id).rollovers].reverse().map((r) => stagedPath(s.loaded.config.stateDir, r.stagedDir, 'certificate'));
  for (const path of [...listInstalledCertificatePaths(entry.install), ...staged]) {
    try {
      return new X509Certificate(readPemFile(path, 'certificate')).publicKey.export({ type: 'spki', format: 'der' });
    } catch {
      /* absent or unreadable: try the next one */
    }
  }
  return undefined;
}

export async function nextKeyCommand(ctx: CommandContext): Promise<number> {
  const id = ctx.options.id;
  if (!id) throw new UsageError('next-key needs --id ID');
  const loaded = await loadConfig({ file: ctx.options.config, env: ctx.env });
  for (const w of loaded.warnings) ctx.log.warn(w);
  const s = await openSession(ctx, loaded, { lock: true });
  try {
    const entry = s.entry(id);
    if (entry.nextKey.mode !== 'auto') throw new ConfigError(`"${id}": nextKey.mode is "${entry.nextKey.mode}"; danehook generates next keys only in mode "auto"`);
    if (!canAnnounceNextKey(entry)) throw new ConfigError(`"${id}": tlsa ${JSON.stringify(entry.tlsa)} has no parameter set that describes a key alone (selector 1 with usage 3 or 1, e.g. "3 1 1"): a next key cannot be announced`);
    if (!s.entryState(id).next) {
      const templateSpki = readTemplateSpki(s, id);
      if (!templateSpki) throw new ConfigError(`"${id}": no certificate is known yet whose key type a next key should have; deploy the first certificate (its deploy announces a next key)`);
      chooseNextKey(s, id, { client: 'explicit', templateSpki });
      const res = await advanceNextKey(s, id);
      if (res.error) ctx.log.warn(`"${id}": announcing the next key failed (${res.error.message}); "danehook post-deploy" retries`);
    }
    const next = s.entryState(id).next;
    if (!next) throw new ConfigError(`"${id}": no next key could be chosen`);
    const keyPath = next.source === 'generated' ? join(loaded.config.stateDir, next.keyPath) : next.keyPath;
    if (next.phase !== 'propagated' || !next.activateAfter || Date.parse(next.activateAfter) > s.now().getTime()) {
      ctx.log.warn(`"${id}": the next key is not aged yet (${next.activateAfter ? `from ${next.activateAfter}` : next.phase}); a renewal with it now takes the delayed path`);
    }
    if (!ctx.options.csr) {
      ctx.out(keyPath + '\n');
      return 0;
    }
    const csrPath = join(loaded.config.stateDir, NEXT_DIR, id, `${next.spki}.csr`);
    // A CSR holds only public data; 0644 so a client running as another user can read it.
    writeFileAtomic(csrPath, await createCsr(keyPath, entry.domains), { mode: 0o644, what: 'writing CSR' });
    ctx.out(csrPath + '\n');
    return 0;
  } finally {
    closeSession(s);
  }
}
