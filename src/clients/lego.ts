// lego hooks (FACTS.md): v4 `--run-hook`/`--renew-hook` set LEGO_CERT_*; v5 `--deploy-hook` sets
// LEGO_HOOK_CERT_*. The .crt file holds leaf + issuer; the PEM path may be stale, so it is only a fallback.
import type { CertEvent, Env } from './event.js';
import { requireVars, splitList } from './require.js';

export const LEGO_V4_MARKERS = ['LEGO_CERT_PATH', 'LEGO_CERT_KEY_PATH', 'LEGO_CERT_DOMAIN'];
export const LEGO_V5_MARKERS = ['LEGO_HOOK_CERT_PATH', 'LEGO_HOOK_CERT_KEY_PATH', 'LEGO_HOOK_CERT_NAME'];

export function readLegoV4(env: Env): CertEvent {
  const v = requireVars(env, 'lego', ['LEGO_CERT_PATH', 'LEGO_CERT_KEY_PATH', 'LEGO_CERT_DOMAIN']);
  const event: CertEvent = {
    client: 'lego-v4',
    name: v.LEGO_CERT_DOMAIN!.toLowerCase(),
    domains: [v.LEGO_CERT_DOMAIN!.toLowerCase()],
    files: { certificate: v.LEGO_CERT_PATH!, key: v.LEGO_CERT_KEY_PATH! },
    sources: { certificate: 'LEGO_CERT_PATH', key: 'LEGO_CERT_KEY_PATH' },
  };
  if (env.LEGO_ISSUER_CERT_PATH) {
    event.files.chain = env.LEGO_ISSUER_CERT_PATH;
    event.sources.chain = 'LEGO_ISSUER_CERT_PATH';
  }
  return event;
}

export function readLegoV5(env: Env): CertEvent {
  const v = requireVars(env, 'lego v5', ['LEGO_HOOK_CERT_PATH', 'LEGO_HOOK_CERT_KEY_PATH', 'LEGO_HOOK_CERT_NAME']);
  const domains = splitList(env.LEGO_HOOK_CERT_DOMAINS, /,/);
  const event: CertEvent = {
    client: 'lego-v5',
    name: v.LEGO_HOOK_CERT_NAME!.toLowerCase(),
    domains: domains.length > 0 ? domains : [v.LEGO_HOOK_CERT_NAME!.toLowerCase()],
    files: { certificate: v.LEGO_HOOK_CERT_PATH!, key: v.LEGO_HOOK_CERT_KEY_PATH! },
    sources: { certificate: 'LEGO_HOOK_CERT_PATH', key: 'LEGO_HOOK_CERT_KEY_PATH' },
  };
  if (env.LEGO_HOOK_ISSUER_CERT_PATH) {
    event.files.chain = env.LEGO_HOOK_ISSUER_CERT_PATH;
    event.sources.chain = 'LEGO_HOOK_ISSUER_CERT_PATH';
  }
  return event;
}
