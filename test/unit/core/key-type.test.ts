// Key type from a certificate's SPKI, against openssl-made keys: RSA, RSA-PSS, ECDSA (P-256 and
// P-384), Ed25519, Ed448; DSA, X25519 and garbage have none TLS could authenticate with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { computeKeyType, computeKeyTypeField, formatKeyType } from '../../../src/core/key-type.js';

function spkiOf(genpkeyArgs: string[]): Buffer {
  const key = execFileSync('openssl', ['genpkey', ...genpkeyArgs]);
  return execFileSync('openssl', ['pkey', '-pubout', '-outform', 'DER'], { input: key });
}

test('computeKeyType on openssl-made public keys', () => {
  const cases: [string[], string | null][] = [
    [['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'], 'rsa'],
    [['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:1024'], 'rsa-pss'],
    [['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ecdsa'],
    [['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ecdsa'],
    [['-algorithm', 'ED25519'], 'ed25519'],
    [['-algorithm', 'ED448'], 'ed448'],
    [['-algorithm', 'X25519'], null],
  ];
  for (const [args, want] of cases) assert.equal(computeKeyType(spkiOf(args)), want, args.join(' '));
});

test('unreadable input has no key type; the state field is left out then', () => {
  assert.equal(computeKeyType(Buffer.from('not a key')), null);
  assert.deepEqual(computeKeyTypeField(Buffer.alloc(0)), {});
  assert.deepEqual(computeKeyTypeField(spkiOf(['-algorithm', 'ED25519'])), { keyType: 'ed25519' });
});

test('formatKeyType', () => {
  assert.deepEqual((['rsa', 'rsa-pss', 'ecdsa', 'ed25519', 'ed448'] as const).map(formatKeyType), ['RSA', 'RSA-PSS', 'ECDSA', 'Ed25519', 'Ed448']);
});
