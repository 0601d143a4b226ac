// DKIM key records (RFC 6376 §3.6.1): "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>" at
// <selector>._domainkey.<domain>; Ed25519 publishes the raw 32-byte key (RFC 8463 §4.2). Selectors
// come from a pattern with a date and are never reused. Pure.
import type { DnsRecord } from '../../core/rdata.js';

/** An empty p= tells verifiers the key is revoked (RFC 6376 §3.6.1). */
export const REVOKED_TXT = 'v=DKIM1; p=';

export type DkimKeyType = 'rsa-2048' | 'rsa-3072' | 'ed25519';

export function formatDkimOwner(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain.toLowerCase().replace(/\.$/, '')}.`;
}

/** The selector of a `<selector>._domainkey.<domain>.` owner name. */
export function parseSelector(owner: string): string {
  return owner.split('._domainkey.')[0]!;
}

/**
 * The TXT value for a public key. RSA: p= is the DER SubjectPublicKeyInfo, base64 (what
 * opendkim-genkey prints). Ed25519: p= is the bare 32-byte key, the last 32 bytes of its SPKI.
 */
export function formatDkimTxt(keyType: DkimKeyType, spkiDer: Uint8Array): string {
  if (keyType === 'ed25519') return `v=DKIM1; k=ed25519; p=${Buffer.from(spkiDer.subarray(spkiDer.length - 32)).toString('base64')}`;
  return `v=DKIM1; k=rsa; p=${Buffer.from(spkiDer).toString('base64')}`;
}

/** Tag=value pairs of a key record (RFC 6376 §3.2); whitespace inside values (split strings) removed from p=. */
export function parseDkimTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of text.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    tags.set(k, k === 'p' ? v.replace(/\s+/g, '') : v);
  }
  return tags;
}

export function computeDkimRecord(selector: string, domain: string, ttl: number, keyType: DkimKeyType, spkiDer: Uint8Array): DnsRecord {
  return { name: formatDkimOwner(selector, domain), ttl, rdata: { type: 'TXT', text: formatDkimTxt(keyType, spkiDer) } };
}

/**
 * The selector for a rotation started at `now`: the pattern with {id} {yyyy} {mm} {dd} filled in;
 * when that was used before (two rotations in one period), "-2", "-3", ... is appended.
 */
export function computeSelector(pattern: string, id: string, now: Date, used: Set<string>): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const base = pattern
    .replace(/\{id\}/g, id)
    .replace(/\{yyyy\}/g, String(now.getUTCFullYear()))
    .replace(/\{mm\}/g, p2(now.getUTCMonth() + 1))
    .replace(/\{dd\}/g, p2(now.getUTCDate()))
    .toLowerCase();
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}
