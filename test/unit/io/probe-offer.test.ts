// The probe's offer per key type: signature schemes a key of that type can sign with, and no other
// (RFC 8446 §4.2.3), TLS 1.2 suites of that authentication only; OpenSSL accepts both lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSecureContext, DEFAULT_CIPHERS } from 'node:tls';
import { computeHandshakeOffer } from '../../../src/io/probe-offer.js';
import { KEY_TYPES, type KeyType } from '../../../src/core/key-type.js';

// IANA TLS SignatureScheme names (RFC 8446 §4.2.3, RFC 8422) by the key that signs with them.
const SCHEME_KEY: Record<string, KeyType> = {
  rsa_pkcs1_sha256: 'rsa', rsa_pkcs1_sha384: 'rsa', rsa_pkcs1_sha512: 'rsa',
  rsa_pss_rsae_sha256: 'rsa', rsa_pss_rsae_sha384: 'rsa', rsa_pss_rsae_sha512: 'rsa',
  rsa_pss_pss_sha256: 'rsa-pss', rsa_pss_pss_sha384: 'rsa-pss', rsa_pss_pss_sha512: 'rsa-pss',
  ecdsa_secp256r1_sha256: 'ecdsa', ecdsa_secp384r1_sha384: 'ecdsa', ecdsa_secp521r1_sha512: 'ecdsa',
  ed25519: 'ed25519', ed448: 'ed448',
};

test('each key type offers only its own signature schemes, SHA-2 or better, every one of them', () => {
  for (const keyType of KEY_TYPES) {
    const schemes = computeHandshakeOffer(keyType).sigalgs.split(':');
    assert.ok(schemes.length > 0, keyType);
    for (const s of schemes) assert.equal(SCHEME_KEY[s], keyType, `${keyType} offers ${s}`);
    const all = Object.entries(SCHEME_KEY).filter(([, k]) => k === keyType).map(([s]) => s);
    assert.deepEqual([...schemes].sort(), all.sort(), `${keyType} offers every scheme of its key`);
  }
});

test('OpenSSL (the one node:tls uses) accepts every offer', () => {
  for (const keyType of KEY_TYPES) assert.doesNotThrow(() => createSecureContext(computeHandshakeOffer(keyType)), keyType);
});

/** TLS 1.2 suites a cipher string leaves, with their authentication ("RSA", "ECDSA"), per openssl. */
function tls12Suites(ciphers: string): { name: string; au: string }[] {
  // node:tls hands TLS_* names to TLS 1.3 (SSL_CTX_set_ciphersuites) and the rest to TLS 1.2.
  const tls12 = ciphers.split(':').filter((c) => c && !c.startsWith('TLS_')).join(':');
  return execFileSync('openssl', ['ciphers', '-v', '-tls1_2', tls12]).toString().trim().split('\n')
    .filter((l) => !/TLSv1\.3/.test(l))
    .map((l) => ({ name: l.split(/\s+/)[0]!, au: /Au=(\S+)/.exec(l)![1]! }));
}

test('TLS 1.2 suites: RSA offers only RSA-authenticated ones, ECDSA and EdDSA only ECDSA ones; TLS 1.3 suites stay', () => {
  const want: Record<KeyType, string> = { rsa: 'RSA', 'rsa-pss': 'RSA', ecdsa: 'ECDSA', ed25519: 'ECDSA', ed448: 'ECDSA' };
  const base = tls12Suites(DEFAULT_CIPHERS);
  for (const keyType of KEY_TYPES) {
    const offer = computeHandshakeOffer(keyType);
    const suites = tls12Suites(offer.ciphers);
    assert.ok(suites.length > 0, `${keyType}: some TLS 1.2 suite is left`);
    for (const s of suites) assert.equal(s.au, want[keyType], `${keyType} offers ${s.name} (Au=${s.au})`);
    // Narrowed, never widened: each suite was in Node's default list already.
    for (const s of suites) assert.ok(base.some((b) => b.name === s.name), `${s.name} is not in Node's default list`);
    assert.deepEqual(offer.ciphers.split(':').filter((c) => c.startsWith('TLS_')), DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_')));
  }
});

test('a custom base cipher list is narrowed the same way', () => {
  assert.equal(computeHandshakeOffer('rsa', 'HIGH').ciphers, 'HIGH:!aECDSA:!aDSS');
  assert.equal(computeHandshakeOffer('ed25519', 'HIGH').ciphers, 'HIGH:!aRSA:!aDSS');
});
