// An issuer set for DANE-TA(2) records (RFC 7671 §5.2): every intermediate a CA may sign the next
// certificate with, published ahead of time so a renewal from any of them needs no wait. Pure.
import { createHash } from 'node:crypto';
import type { CertInfo } from './certificate.js';
import { computeAssociation, formatTlsaRdata, parseTlsaParams, type TlsaParams, type TlsaRdata } from './tlsa.js';

/** One certificate of a configured set; `source` is the file or named set it came from. */
export interface IssuerCert {
  der: Buffer;
  spki: Buffer;
  subject: string;
  notAfter: Date;
  source: string;
}

/** Usages whose record describes a trust anchor rather than the leaf (RFC 6698 §2.1.1). */
export function isTrustAnchorUsage(p: TlsaParams): boolean {
  return p.usage === 0 || p.usage === 2;
}

export function toIssuerCert(c: Pick<CertInfo, 'der' | 'spki' | 'subject' | 'notAfter'>, source: string): IssuerCert {
  return { der: c.der, spki: c.spki, subject: c.subject, notAfter: c.notAfter, source };
}

/**
 * One CA = one name and one key: a cross-signed copy (same subject and SPKI, other issuer) is the
 * same CA, and its `2 1 1` record is the same. Matching by SPKI alone would accept a look-alike
 * with a reused key; by DER alone it would miss the cross-signed copy.
 */
export function isSameCa(a: { subject: string; spki: Uint8Array }, b: { subject: string; spki: Uint8Array }): boolean {
  return a.subject === b.subject && Buffer.from(a.spki).equals(Buffer.from(b.spki));
}

/** The set without repeated certificates (by DER), first occurrence kept (a file listed twice, overlapping sets). */
export function dedupeIssuers(certs: readonly IssuerCert[]): IssuerCert[] {
  const seen = new Set<string>();
  return certs.filter((c) => {
    const k = c.der.toString('base64');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** SHA-256 of a SPKI, hex: the data of a "2 1 1" record (the same as core/certificate's computeSpkiHash, without loading the X.509 parser). */
export function computeSpkiSha256(spki: Uint8Array): string {
  return createHash('sha256').update(spki).digest('hex');
}

export function findIssuer(set: readonly IssuerCert[], ta: { subject: string; spki: Uint8Array }): IssuerCert | undefined {
  return set.find((c) => isSameCa(c, ta));
}

/** The trust-anchor record of every certificate in the set for one parameter set (usage 0 or 2). */
export function computeIssuerRdatas(set: readonly IssuerCert[], params: TlsaParams): TlsaRdata[] {
  return set.map((c) => ({ ...params, data: computeAssociation(c.der, c.spki, params.selector, params.matchingType) }));
}

/** What `plan --json` and `status --json` show per certificate of an entry's set. */
export interface IssuerSummary {
  subject: string;
  /** SHA-256 of the SPKI, hex (= the data of its `2 1 1` record). */
  spki: string;
  notAfter: string;
  source: string;
  /** Its records for the entry's usage-0/2 parameter sets (config `tlsa`), presentation form. */
  records: string[];
  /** plan: whether this CA is the trust anchor of the certificate planned for. */
  signedThis?: boolean;
}

export function computeIssuerSummaries(set: readonly IssuerCert[], tlsa: readonly string[], trustAnchor?: { subject: string; spki: Uint8Array }): IssuerSummary[] {
  const taParams = tlsa.map(parseTlsaParams).filter((p): p is TlsaParams => p !== undefined && isTrustAnchorUsage(p));
  return set.map((c) => ({
    subject: c.subject,
    spki: computeSpkiSha256(c.spki),
    notAfter: c.notAfter.toISOString(),
    source: c.source,
    records: taParams.flatMap((p) => computeIssuerRdatas([c], p)).map(formatTlsaRdata),
    ...(trustAnchor ? { signedThis: isSameCa(c, trustAnchor) } : {}),
  }));
}
