// Does a presented certificate chain match a TLSA RRset? DANE-EE(3) and DANE-TA(2) matching per
// RFC 6698 §2.1, RFC 7671 §5.1–5.2 and RFC 7672 §3.1; PKIX-TA(0)/PKIX-EE(1) are reported unusable.
// Pure: no I/O, no clock (node:crypto only parses certificates and checks signatures).
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { computeAssociation, formatTlsaParams, type TlsaRdata } from './tlsa.js';

export interface TlsaMatchOptions {
  /**
   * Reference identifiers (host names) the leaf must carry for a DANE-TA(2) match (RFC 7672
   * §3.2.3; RFC 7671 §5.2). DANE-EE(3) ignores names (RFC 7671 §5.1). Omitted: names are not
   * checked and DANE-TA matches say `nameChecked: false`.
   */
  referenceNames?: readonly string[];
}

export type TlsaMatchKind =
  /** DANE-EE(3): the leaf's certificate or key matches. */
  | 'end-entity'
  /** DANE-TA(2): a presented certificate on the leaf's issuer path (depth ≥ 1). */
  | 'presented-trust-anchor'
  /** DANE-TA(2) "2 0 0" / "2 1 0": the record itself carries the trust anchor, which signed the top of the path (RFC 7671 §5.2.2–5.2.3). */
  | 'record-trust-anchor';

export interface TlsaRecordMatch {
  record: TlsaRdata;
  kind: TlsaMatchKind;
  /** Index in the presented chain of the certificate that matched; for record-trust-anchor, the index of the certificate it signed. */
  depth: number;
  /** For DANE-TA: whether `referenceNames` were checked against the leaf (they matched, or this would not be a match). */
  nameChecked: boolean;
}

export interface TlsaUnusableRecord {
  record: TlsaRdata;
  reason: string;
}

export interface TlsaParamsResult {
  /** "3 1 1" */
  params: string;
  records: TlsaRdata[];
  matches: TlsaRecordMatch[];
}

export interface TlsaMatchResult {
  /** At least one usable record matched: what a DANE client needs to accept the peer (RFC 6698 §4.1). */
  matched: boolean;
  /** Every usable parameter combination has a matching record on its own (RFC 7671 §8.1). */
  allParamsMatched: boolean;
  matches: TlsaRecordMatch[];
  /** Usable records grouped by parameters, in the order first seen. */
  byParams: TlsaParamsResult[];
  unusable: TlsaUnusableRecord[];
  /** Why a DANE-TA record that matched a certificate still did not count (unlinked chain, name). */
  problems: string[];
}

interface ParsedCert {
  der: Uint8Array;
  x509: X509Certificate;
  spki: Buffer;
}

const HASH_HEX_LENGTH: Record<number, number> = { 1: 64, 2: 128 };

function parseCertDer(der: Uint8Array, index: number): ParsedCert {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (err) {
    throw new TypeError(`presented certificate #${index} is not a DER X.509 certificate`, { cause: err });
  }
  return { der, x509, spki: x509.publicKey.export({ type: 'spki', format: 'der' }) };
}

/** `child` was issued by `issuer`: names chain and the issuer's key verifies the signature. */
function isIssuedBy(child: ParsedCert, issuer: ParsedCert): boolean {
  return child.x509.checkIssued(issuer.x509) && child.x509.verify(issuer.x509.publicKey);
}

/**
 * The issuer path through the presented certificates, as indices starting at the leaf (0). Each
 * next element issued the previous one (signature verified); unrelated certificates a server
 * sends are not on the path (RFC 8446 §4.4.2 lets them appear in any order after the leaf).
 */
function computeIssuerPath(chain: readonly ParsedCert[]): number[] {
  const path = [0];
  const used = new Set([0]);
  for (;;) {
    const current = chain[path[path.length - 1]!]!;
    const next = chain.findIndex((c, i) => !used.has(i) && isIssuedBy(current, c));
    if (next < 0) return path;
    path.push(next);
    used.add(next);
  }
}

function usabilityProblem(r: TlsaRdata): string | undefined {
  if (r.usage === 0 || r.usage === 1) {
    // RFC 7672 §3.1.3: SMTP clients treat PKIX-TA(0)/PKIX-EE(1) as unusable; checking them needs
    // PKIX validation against a client trust store, which a DANE probe does not have.
    return `usage ${r.usage} (${r.usage === 0 ? 'PKIX-TA' : 'PKIX-EE'}) needs PKIX validation; not verifiable by a DANE-only check (RFC 7672 §3.1.3)`;
  }
  if (r.usage !== 2 && r.usage !== 3) return `unknown certificate usage ${r.usage}`;
  if (r.selector !== 0 && r.selector !== 1) return `unknown selector ${r.selector}`;
  if (r.matchingType !== 0 && r.matchingType !== 1 && r.matchingType !== 2) return `unknown matching type ${r.matchingType}`;
  const want = HASH_HEX_LENGTH[r.matchingType];
  if (want !== undefined && r.data.length !== want) return `digest length ${r.data.length / 2} does not fit matching type ${r.matchingType}`;
  if (!/^[0-9a-f]+$/.test(r.data)) return 'association data is not lowercase hex';
  return undefined;
}

function associationOf(c: ParsedCert, r: TlsaRdata): string {
  return computeAssociation(c.der, c.spki, r.selector, r.matchingType);
}

/** For "2 0 0" / "2 1 0": the trust-anchor key carried in the record itself, if it parses. */
function keyFromRecord(r: TlsaRdata): KeyObject | undefined {
  if (r.matchingType !== 0) return undefined;
  const bytes = Buffer.from(r.data, 'hex');
  try {
    return r.selector === 0
      ? new X509Certificate(bytes).publicKey
      : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function namesMatch(leaf: X509Certificate, names: readonly string[]): boolean {
  // RFC 7672 §3.2.3 / RFC 6125: subjectAltName dNSName, wildcard only as the whole left label.
  return names.some((n) => leaf.checkHost(n.replace(/\.$/, ''), { wildcards: true, partialWildcards: false }) !== undefined);
}

/**
 * Pure: match `chainDer` (DER, leaf first, as presented) against `records`. A DANE-EE(3) record
 * matches the leaf only (RFC 7671 §5.1). A DANE-TA(2) record matches a presented certificate on
 * the leaf's issuer path at depth ≥ 1, or, for "2 0 0"/"2 1 0", a key in the record that signed
 * the top of the path (RFC 7671 §5.2; "2 1 0" also anchors a self-signed leaf, "2 0 0" does not); the
 * path below the anchor must verify, and with `referenceNames` the leaf must carry one of them.
 * Validity dates are not checked (no clock in core; DANE-EE ignores them, RFC 7671 §5.1).
 */
export function computeTlsaMatch(
  chainDer: readonly Uint8Array[],
  records: readonly TlsaRdata[],
  options: TlsaMatchOptions = {},
): TlsaMatchResult {
  if (chainDer.length === 0) throw new TypeError('computeTlsaMatch: empty certificate chain');
  const chain = chainDer.map(parseCertDer);
  const leaf = chain[0]!;
  const path = computeIssuerPath(chain);
  const names = options.referenceNames;
  const nameOk = names === undefined || names.length === 0 ? undefined : namesMatch(leaf.x509, names);

  const matches: TlsaRecordMatch[] = [];
  const unusable: TlsaUnusableRecord[] = [];
  const problems: string[] = [];
  const groups = new Map<string, TlsaParamsResult>();

  for (const record of records) {
    const reason = usabilityProblem(record);
    if (reason !== undefined) {
      unusable.push({ record, reason });
      continue;
    }
    const params = formatTlsaParams(record);
    let group = groups.get(params);
    if (!group) {
      group = { params, records: [], matches: [] };
      groups.set(params, group);
    }
    group.records.push(record);

    const found = record.usage === 3 ? matchEndEntity(record) : matchTrustAnchor(record);
    if (found) {
      matches.push(found);
      group.matches.push(found);
    }
  }

  function matchEndEntity(record: TlsaRdata): TlsaRecordMatch | undefined {
    // RFC 7671 §5.1: DANE-EE matches the leaf's key or certificate; names and dates are ignored.
    return associationOf(leaf, record) === record.data ? { record, kind: 'end-entity', depth: 0, nameChecked: false } : undefined;
  }

  function matchTrustAnchor(record: TlsaRdata): TlsaRecordMatch | undefined {
    const label = formatTlsaParams(record);
    let hit: TlsaRecordMatch | undefined;
    // A presented trust anchor: a certificate on the issuer path above the leaf. The leaf itself
    // is never matched by a DANE-TA digest, not even when self-signed (that is what DANE-EE is
    // for); OpenSSL's DANE verifier, by RFC 7671's author, decides the same. A self-signed leaf
    // can still be anchored by a "2 1 0" record of its own key, below.
    for (const index of path.slice(1)) {
      if (associationOf(chain[index]!, record) === record.data) {
        hit = { record, kind: 'presented-trust-anchor', depth: index, nameChecked: nameOk !== undefined };
        break;
      }
    }
    if (!hit && record.usage === 2 && record.matchingType === 0) {
      // RFC 7671 §5.2.2–5.2.3: with the anchor's full certificate or key in the record, the
      // server may omit it; the anchor must then have signed the top of the presented path.
      // A full certificate ("2 0 0") serves as the missing issuer of the top of the path, which a
      // self-signed top does not need; a bare key ("2 1 0") is checked as the top's signer, even
      // of a self-signed leaf. OpenSSL's DANE verifier (used by postfix's SMTP client) decides
      // both cases this way.
      const key = keyFromRecord(record);
      const top = chain[path[path.length - 1]!]!;
      const needsIssuer = !isIssuedBy(top, top);
      if (key && (record.selector === 1 || needsIssuer) && top.x509.verify(key)) hit = { record, kind: 'record-trust-anchor', depth: path[path.length - 1]!, nameChecked: nameOk !== undefined };
    }
    if (!hit) {
      const off = chain.findIndex((c, i) => !path.includes(i) && associationOf(c, record) === record.data);
      if (off >= 0) problems.push(`${label} record matches presented certificate #${off}, which is not an issuer of the leaf`);
      else if (associationOf(leaf, record) === record.data) {
        problems.push(`${label} record matches the leaf; DANE-TA(2) designates an issuer of the leaf, DANE-EE(3) the leaf itself (RFC 7671 §5.1–5.2)`);
      }
      return undefined;
    }
    if (nameOk === false) {
      problems.push(`${label} record matches a trust anchor but the leaf names none of ${names!.join(', ')} (RFC 7672 §3.2.3)`);
      return undefined;
    }
    return hit;
  }

  const byParams = [...groups.values()];
  return {
    matched: matches.length > 0,
    allParamsMatched: byParams.length > 0 && byParams.every((g) => g.matches.length > 0),
    matches,
    byParams,
    unusable,
    problems,
  };
}
