// The five forms services read a certificate in (leaf, issuers, leaf+issuers, key, key+leaf+issuers),
// formatted from one bundle (pure).
import { StateIoError } from '../errors.js';
import type { CertificateBundle } from '../core/certificate.js';
import { formatPem, KEY_LABELS } from '../core/pem-format.js';

export interface CertMaterial {
  certificate: string;
  chain: string;
  fullchain: string;
  key: string;
  combined: string;
}
export type MaterialKind = keyof CertMaterial;
export const MATERIAL_KINDS: MaterialKind[] = ['certificate', 'chain', 'fullchain', 'key', 'combined'];

export function formatMaterial(bundle: CertificateBundle): CertMaterial {
  if (!bundle.key) throw new StateIoError('internal: staging needs the private key');
  const certificate = formatPem(bundle.leaf.der, 'CERTIFICATE');
  const chain = bundle.chain.map((c) => formatPem(c.der, 'CERTIFICATE')).join('');
  const key = formatPem(bundle.key.der, KEY_LABELS[bundle.key.format]);
  return { certificate, chain, fullchain: certificate + chain, key, combined: key + certificate + chain };
}

/** Installed files that hold the leaf, most complete first (fullchain, combined, certificate). */
export function listInstalledCertificatePaths(install: Partial<Record<MaterialKind, string>> | undefined): string[] {
  return [install?.fullchain, install?.combined, install?.certificate].filter((p): p is string => Boolean(p));
}
