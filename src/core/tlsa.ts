// TLSA records (RFC 6698 §2, RFC 7671): parameters, presentation form "3 1 1 <hex>", owner names
// "_<port>._<proto>.<domain>.", and computing association data from a certificate chain.
import { createHash } from 'node:crypto';

export interface TlsaParams {
  usage: number; // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE (RFC 7218 mnemonics)
  selector: number; // 0 full certificate, 1 SubjectPublicKeyInfo
  matchingType: number; // 0 full, 1 SHA-256, 2 SHA-512
}

/** One TLSA record's RDATA; `data` is lowercase hex. */
export interface TlsaRdata extends TlsaParams {
  data: string;
}

/** A TLSA record with owner and TTL, as published. */
export interface TlsaRecord {
  name: string; // absolute, lowercase, with trailing dot
  ttl: number;
  rdata: TlsaRdata;
}

/** Parse "3 1 1" into parameters; undefined when out of range. */
export function parseTlsaParams(text: string): TlsaParams | undefined {
  const m = /^\s*([0-3])\s+([01])\s+([0-2])\s*$/.exec(text);
  if (!m) return undefined;
  return { usage: Number(m[1]), selector: Number(m[2]), matchingType: Number(m[3]) };
}

export function formatTlsaParams(p: TlsaParams): string {
  return `${p.usage} ${p.selector} ${p.matchingType}`;
}

/** Presentation form "u s m hex" (RFC 6698 §2.2), hex lowercase. */
export function formatTlsaRdata(r: TlsaRdata): string {
  return `${r.usage} ${r.selector} ${r.matchingType} ${r.data}`;
}

const HASH_LENGTH: Record<number, number> = { 1: 32, 2: 64 };

/** Presentation form split into its three parameter fields and the hex (whitespace and zone-file parentheses removed, lowercase). */
function splitTlsaText(text: string): { fields: [string, string, string]; data: string } | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-fA-F\s()]+)$/.exec(text);
  if (!m) return undefined;
  const data = m[4]!.replace(/[\s()]/g, '').toLowerCase();
  if (data.length === 0 || data.length % 2 !== 0) return undefined;
  return { fields: [m[1]!, m[2]!, m[3]!], data };
}

/** Parse presentation form of a record danehook may write: known parameters, hash lengths that fit. */
export function parseTlsaRdata(text: string): TlsaRdata | undefined {
  const split = splitTlsaText(text);
  const params = split && parseTlsaParams(split.fields.join(' '));
  if (!params) return undefined;
  const want = HASH_LENGTH[params.matchingType];
  if (want !== undefined && split!.data.length !== want * 2) return undefined;
  return { ...params, data: split!.data };
}

/**
 * A TLSA record as a server or another writer holds it: any parameter values 0–255 and any even
 * hex length, as the wire allows (RFC 6698 §2.1). Reading must not fail on a record danehook
 * would never write — a stray record in the RRset would otherwise stop every rollover.
 */
export function parseServedTlsaRdata(text: string): TlsaRdata | undefined {
  const split = splitTlsaText(text);
  if (!split) return undefined;
  const [usage, selector, matchingType] = split.fields.map(Number) as [number, number, number];
  if (usage > 255 || selector > 255 || matchingType > 255) return undefined;
  return { usage, selector, matchingType, data: split.data };
}

/** "_25._tcp.mx.example.com." (RFC 6698 §3). */
export function formatTlsaOwner(port: number, protocol: string, domain: string): string {
  return `_${port}._${protocol}.${domain.toLowerCase().replace(/\.$/, '')}.`;
}

/** Association data for one certificate (DER) per selector and matching type (RFC 6698 §2.1.2–2.1.3). */
export function computeAssociation(certDer: Uint8Array, spkiDer: Uint8Array, selector: number, matchingType: number): string {
  const selected = selector === 0 ? certDer : spkiDer;
  switch (matchingType) {
    case 0:
      return Buffer.from(selected).toString('hex');
    case 1:
      return createHash('sha256').update(selected).digest('hex');
    case 2:
      return createHash('sha512').update(selected).digest('hex');
    default:
      throw new RangeError(`matching type ${matchingType} is not 0, 1 or 2`);
  }
}

export function sameTlsaRdata(a: TlsaRdata, b: TlsaRdata): boolean {
  return a.usage === b.usage && a.selector === b.selector && a.matchingType === b.matchingType && a.data === b.data;
}

/** The certificates a TLSA computation needs: the leaf and its issuers (issuer first). */
export interface ChainForTlsa {
  leaf: { der: Uint8Array; spki: Uint8Array };
  chain: { der: Uint8Array; spki: Uint8Array; subject: string }[];
}

/**
 * The certificate a usage-0/2 record names: the leaf's issuer by default, or the top of the chain.
 * It must be in the chain the service sends: a client can match a digest only against a
 * certificate it was given (RFC 7671 §5.2.2).
 */
export function selectTrustAnchor(certs: ChainForTlsa, trustAnchor: 'issuer' | 'root' = 'issuer'): ChainForTlsa['chain'][number] {
  const ta = trustAnchor === 'root' ? certs.chain.at(-1) : certs.chain[0];
  if (!ta) throw new TlsaChainError('a trust-anchor record (usage 2 or 0) names the issuer certificate, which the served chain must carry (RFC 7671 §5.2.2), but the input has no chain; give --chain or a full-chain file');
  return ta;
}

/**
 * RDATA for one parameter set. Usages 1/3 describe the leaf; 0/2 a trust anchor from the chain:
 * the leaf's issuer by default, or the top of the chain (RFC 7671 §5.2: the TA must be served).
 */
export function computeTlsaRdata(certs: ChainForTlsa, params: TlsaParams, trustAnchor: 'issuer' | 'root' = 'issuer'): TlsaRdata {
  const subject = params.usage === 0 || params.usage === 2 ? selectTrustAnchor(certs, trustAnchor) : certs.leaf;
  return { ...params, data: computeAssociation(subject.der, subject.spki, params.selector, params.matchingType) };
}

/** Raised when the chain cannot supply a trust-anchor certificate; mapped to CertificateError by callers. */
export class TlsaChainError extends Error {}
