// certbot `--deploy-hook` (FACTS.md): RENEWED_LINEAGE is <config>/live/<name> with cert.pem,
// chain.pem, fullchain.pem, privkey.pem; RENEWED_DOMAINS is space-separated.
import { basename, join } from 'node:path';
import type { CertEvent, Env } from './event.js';
import { requireVars, splitList } from './require.js';

export const CERTBOT_MARKERS = ['RENEWED_LINEAGE', 'RENEWED_DOMAINS'];

export function readCertbot(env: Env): CertEvent {
  const v = requireVars(env, 'certbot', ['RENEWED_LINEAGE']);
  const dir = v.RENEWED_LINEAGE!.replace(/\/+$/, '');
  return {
    client: 'certbot',
    name: basename(dir).toLowerCase(),
    domains: splitList(env.RENEWED_DOMAINS, /\s+/),
    files: { certificate: join(dir, 'cert.pem'), chain: join(dir, 'chain.pem'), key: join(dir, 'privkey.pem') },
    sources: { certificate: 'RENEWED_LINEAGE/cert.pem', chain: 'RENEWED_LINEAGE/chain.pem', key: 'RENEWED_LINEAGE/privkey.pem' },
  };
}
