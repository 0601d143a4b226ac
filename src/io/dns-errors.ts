// Pure mapping of DNS response codes (RFC 1035 §4.1.1, RFC 2136 §2.2) and TSIG errors
// (RFC 8945 §3) to danehook's error classes and exit codes (DESIGN.md "Exit codes").
import { DnsProtocolError, DnsRefusedError, TemporaryError, type DanehookError } from '../errors.js';

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED',
  6: 'YXDOMAIN', 7: 'YXRRSET', 8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE',
};
export const TSIG_ERROR_NAMES: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };

export function formatRcode(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export function formatTsigError(error: number): string {
  return TSIG_ERROR_NAMES[error] ?? `TSIG error ${error}`;
}

export interface RcodeContext {
  /** What was asked, e.g. "UPDATE of zone example.com." or "TLSA query for _25._tcp.mx.example.com.". */
  what: string;
  /** "host:port" of the server. */
  server: string;
  /** TSIG error from the reply's TSIG record, 0 when none. */
  tsigError?: number;
  /** The key used, for messages: "name (algorithm)". Never the secret. */
  keyLabel?: string;
  /** Seconds the server's clock is ahead of ours, when a BADTIME reply told us. */
  skewSeconds?: number;
  /** True when the error reply carried no verifiable TSIG: anyone on the path could have sent it. */
  unsigned?: boolean;
}

const TSIG_HINTS: Record<number, (c: RcodeContext) => string> = {
  16: (c) => `the server does not accept the signature of key ${c.keyLabel ?? '?'}: check that the secret matches the server's copy`,
  17: (c) => `the server does not know key ${c.keyLabel ?? '?'} with that algorithm, or its policy does not let that key make this change (Knot answers BADKEY for a denied record type)`,
  18: (c) =>
    `the clocks of this host and the server differ by more than the 300 s TSIG fudge${c.skewSeconds === undefined ? '' : ` (server is ${c.skewSeconds > 0 ? 'ahead' : 'behind'} by ${Math.abs(c.skewSeconds)} s)`}: check NTP on both`,
  22: () => 'the server rejected a truncated MAC',
};

/**
 * The error for a reply's rcode, or undefined when the rcode means success for this kind of
 * message. NXDOMAIN is success for queries (the name has no records); for an UPDATE every
 * non-zero rcode is a failure. NXDOMAIN/YXDOMAIN/YXRRSET/NXRRSET on an UPDATE mean a prerequisite failed
 * (RFC 2136 §3.2): someone changed the RRset since we read it, so the next run re-reads and
 * converges — a temporary condition (75), not a protocol error.
 */
export function computeRcodeError(rcode: number, ctx: RcodeContext, kind: 'query' | 'update'): DanehookError | undefined {
  const tsigError = ctx.tsigError ?? 0;
  if (rcode === 0 && tsigError === 0) return undefined;
  if (rcode === 3 && kind === 'query' && tsigError === 0) return undefined;
  const name = formatRcode(rcode);
  const unsigned = ctx.unsigned ? ' (reply not signed)' : '';
  if (tsigError !== 0) {
    const hint = TSIG_HINTS[tsigError]?.(ctx);
    return new DnsRefusedError(
      `${ctx.what} at ${ctx.server} refused: ${name}, TSIG ${formatTsigError(tsigError)} for key ${ctx.keyLabel ?? '?'}${unsigned}`,
      hint === undefined ? undefined : { hint },
    );
  }
  switch (rcode) {
    case 5:
      return new DnsRefusedError(`${ctx.what} at ${ctx.server} refused: REFUSED${unsigned}`, {
        hint: kind === 'update'
          ? `the server's update policy does not allow this change with key ${ctx.keyLabel ?? '?'} (BIND update-policy, Knot acl, PowerDNS TSIG-ALLOW-DNSUPDATE / allow-dnsupdate-from)`
          : 'the server does not answer for this name: is it authoritative for the zone?',
      });
    case 9:
      return new DnsRefusedError(`${ctx.what} at ${ctx.server} refused: NOTAUTH${unsigned}`, {
        hint: 'the server is not authoritative for the zone, or did not accept the TSIG key',
      });
    case 3: // only reached for an UPDATE: "name is in use" prerequisite failed (§2.4.4)
    case 6:
    case 7:
    case 8:
      return new TemporaryError(`${ctx.what} at ${ctx.server} not applied: prerequisite failed (${name}); the records changed since they were read${unsigned}`, {
        hint: 'another editor changed the RRset concurrently; the next run re-reads DNS and retries',
      });
    case 4:
      return new DnsProtocolError(`${ctx.what} at ${ctx.server} failed: NOTIMP${unsigned}`, {
        hint: kind === 'update' ? 'the server does not support dynamic updates (RFC 2136) for this zone' : undefined,
      });
    default:
      return new DnsProtocolError(`${ctx.what} at ${ctx.server} failed: ${name}${unsigned}`);
  }
}
