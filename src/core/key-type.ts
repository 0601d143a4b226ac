// The key type of a certificate, from its SubjectPublicKeyInfo algorithm: what decides which of a
// service's certificates (RSA + ECDSA side by side) a TLS client gets. Pure.
import { createPublicKey } from 'node:crypto';

export const KEY_TYPES = ['rsa', 'rsa-pss', 'ecdsa', 'ed25519', 'ed448'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

const LABELS: Record<KeyType, string> = { rsa: 'RSA', 'rsa-pss': 'RSA-PSS', ecdsa: 'ECDSA', ed25519: 'Ed25519', ed448: 'Ed448' };

/** The key type of a DER SPKI; null for one TLS cannot authenticate with (DSA, X25519, unreadable). */
export function computeKeyType(spki: Uint8Array): KeyType | null {
  let type: string | undefined;
  try {
    type = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).asymmetricKeyType;
  } catch {
    return null;
  }
  switch (type) {
    case 'rsa':
    case 'rsa-pss':
    case 'ed25519':
    case 'ed448':
      return type;
    case 'ec':
      return 'ecdsa';
    default:
      return null;
  }
}

/** "RSA", "ECDSA", ... for messages. */
export function formatKeyType(t: KeyType): string {
  return LABELS[t];
}

/** `{keyType}` for a state record, or nothing when the key type is not one TLS uses. */
export function computeKeyTypeField(spki: Uint8Array): { keyType?: KeyType } {
  const keyType = computeKeyType(spki);
  return keyType ? { keyType } : {};
}
