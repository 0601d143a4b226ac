// Which zone a name is in, read from an authoritative server's reply to "name SOA?": the SOA owner
// in the answer (name is the apex) or in the authority section of NODATA/NXDOMAIN (RFC 2308 §3).
import { DnsProtocolError } from '../errors.js';
import type { ReplySummary } from './dns-reply-summary.js';
import { TYPE } from './dns-wire.js';

/** `name` is `zone` or below it (both absolute, lowercase). */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || zone === '.' || name.endsWith(`.${zone}`);
}

/**
 * The apex of the zone holding `qname` (absolute, lowercase), as `where` answered. Only an
 * authoritative reply (AA, RFC 1035 §4.1.1) proves it: a referral or a non-AA answer is not the
 * server's own zone. A CNAME at qname rules TLSA out (RFC 2181 §10.1).
 */
export function readZoneApex(message: ReplySummary, qname: string, where: string): string {
  if (message.answers.some((r) => r.type === TYPE.CNAME && r.name === qname)) {
    throw new DnsProtocolError(`${qname} is a CNAME at ${where}: TLSA records cannot be added beside it (RFC 2181 §10.1)`);
  }
  const soa = message.answers.find((r) => r.type === TYPE.SOA) ?? message.authorities.find((r) => r.type === TYPE.SOA);
  if (!message.header.aa || !soa || !isInZone(qname, soa.name)) {
    const referral = message.authorities.find((r) => r.type === TYPE.NS);
    throw new DnsProtocolError(
      `${where} is not authoritative for ${qname}${referral ? ` (it refers to zone ${referral.name})` : ''}`,
      { hint: 'dns.server must be the primary of the zone holding the TLSA names' },
    );
  }
  return soa.name;
}
