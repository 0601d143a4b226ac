// lego hooks (FACTS.md): v4 `--run-hook`/`--renew-hook` set LEGO_CERT_*; v5 `--deploy-hook` sets
// LEGO_HOOK_CERT_*. The .crt file holds leaf + issuer; the PEM path may be stale, so it is not used.
import { addFile, type CertEvent, type Env } from './event.js';
import { requireVars, splitList } from './require.js';

interface LegoScheme {
  client: 'lego-v4' | 'lego-v5';
  label: string;
  cert: string;
  key: string;
  name: string;
  issuer: string;
  /** Comma-separated list of every domain (v5 only). */
  domains?: string;
}

const V4: LegoScheme = { client: 'lego-v4', label: 'lego', cert: 'LEGO_CERT_PATH', key: 'LEGO_CERT_KEY_PATH', name: 'LEGO_CERT_DOMAIN', issuer: 'LEGO_ISSUER_CERT_PATH' };
const V5: LegoScheme = {
  client: 'lego-v5', label: 'lego v5', cert: 'LEGO_HOOK_CERT_PATH', key: 'LEGO_HOOK_CERT_KEY_PATH', name: 'LEGO_HOOK_CERT_NAME',
  issuer: 'LEGO_HOOK_ISSUER_CERT_PATH', domains: 'LEGO_HOOK_CERT_DOMAINS',
};

export const LEGO_V4_MARKERS = [V4.cert, V4.key, V4.name];
export const LEGO_V5_MARKERS = [V5.cert, V5.key, V5.name];

function readLego(env: Env, s: LegoScheme): CertEvent {
  const v = requireVars(env, s.label, [s.cert, s.key, s.name]);
  const name = v[s.name]!.toLowerCase();
  const domains = s.domains ? splitList(env[s.domains], /,/) : [];
  const event: CertEvent = {
    client: s.client,
    name,
    domains: domains.length > 0 ? domains : [name],
    files: { certificate: v[s.cert]!, key: v[s.key]! },
    sources: { certificate: s.cert, key: s.key },
  };
  addFile(event, 'chain', env[s.issuer], s.issuer);
  return event;
}

export const readLegoV4 = (env: Env): CertEvent => readLego(env, V4);
export const readLegoV5 = (env: Env): CertEvent => readLego(env, V5);
