// What a probe offers in its ClientHello so that a service holding certificates of several key
// types (RSA + ECDSA side by side, e.g. postfix smtpd_tls_chain_files) must present the expected one.
// TLS 1.3 and 1.2: signature_algorithms (RFC 8446 §4.2.3, RFC 5246 §7.4.1.4.1); TLS 1.2: cipher suites.
import { DEFAULT_CIPHERS } from 'node:tls';
import type { KeyType } from '../core/key-type.js';

/** `sigalgs` and `ciphers` for node:tls connect(), in OpenSSL's syntax. */
export interface HandshakeOffer {
  sigalgs: string;
  ciphers: string;
}

// Only schemes a key of that type can sign with: a server then has exactly one certificate it may
// present. SHA-1 schemes are left out (OpenSSL 3 refuses them at its default security level anyway).
const SIGALGS: Record<KeyType, string[]> = {
  rsa: ['rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512', 'rsa_pkcs1_sha256', 'rsa_pkcs1_sha384', 'rsa_pkcs1_sha512'],
  'rsa-pss': ['rsa_pss_pss_sha256', 'rsa_pss_pss_sha384', 'rsa_pss_pss_sha512'],
  // In TLS 1.2 these names mean ECDSA with that hash on any curve; in 1.3 they fix the curve too.
  ecdsa: ['ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512'],
  ed25519: ['ed25519'],
  ed448: ['ed448'],
};

// TLS 1.2 picks the certificate with the cipher suite: ECDHE-RSA-* needs the RSA one, ECDHE-ECDSA-*
// an ECDSA or EdDSA one (RFC 8422 §5.1.1). A server that ignores signature_algorithms in 1.2 still
// cannot choose the other certificate. DSS suites (Node's default "HIGH" has DHE-DSS) go too.
// TLS 1.3 suites (TLS_*) carry no authentication and stay.
const EXCLUDE: Record<KeyType, string> = {
  rsa: '!aECDSA:!aDSS',
  'rsa-pss': '!aECDSA:!aDSS',
  ecdsa: '!aRSA:!aDSS',
  ed25519: '!aRSA:!aDSS',
  ed448: '!aRSA:!aDSS',
};

/**
 * Pure: the offer that leaves a server only a certificate of `keyType`. The cipher list is Node's
 * default (or `baseCiphers`) narrowed, so the probe is no weaker than an unrestricted one.
 */
export function computeHandshakeOffer(keyType: KeyType, baseCiphers: string = DEFAULT_CIPHERS): HandshakeOffer {
  return { sigalgs: SIGALGS[keyType].join(':'), ciphers: `${baseCiphers}:${EXCLUDE[keyType]}` };
}
