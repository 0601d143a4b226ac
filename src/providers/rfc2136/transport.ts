// Sending one TSIG-signed UPDATE over TCP (RFC 2136 §3.8 replies; RFC 1035 §4.2.2 framing) and
// accepting only a reply that matches the request and whose TSIG verifies (RFC 8945 §5.3).
import type { TsigKey } from '../../config/tsig-key.js';
import { DnsProtocolError } from '../../errors.js';
import { computeRcodeError } from '../../io/dns-errors.js';
import { checkReplyMatches, sendTcpMessage, sendWithRetry, type RetryOptions } from '../../io/dns-exchange.js';
import { formatHostPort, type HostPort } from '../../io/host-port.js';
import { parseHeader } from '../../io/dns-wire.js';
import { signTsigMessage, verifyTsigResponse } from './tsig.js';

export interface SignedSendOptions extends RetryOptions {
  /** Clock in milliseconds; TSIG time signed is its whole seconds. */
  now: () => number;
  /** For messages, e.g. "UPDATE of zone example.com.". */
  what: string;
}

/**
 * Sign `unsigned` with `key`, send it over TCP, and return the verified NOERROR reply.
 * Each retry is signed afresh (a new time signed), since servers reject replayed times.
 *
 * An unsigned or badly signed NOERROR is DnsProtocolError (76): we cannot know the change was
 * made. Error replies fail whether signed or not (failing is always safe); they say so when
 * unsigned, since anyone on the path could have sent them.
 */
export async function sendSignedUpdate(server: HostPort, key: TsigKey, unsigned: Buffer, opts: SignedSendOptions): Promise<Buffer> {
  const where = formatHostPort(server);
  const keyLabel = `${key.name} (${key.algorithm})`;
  return sendWithRetry(async () => {
    const { wire, mac } = signTsigMessage(unsigned, key, { timeSigned: Math.floor(opts.now() / 1000) });
    const reply = await sendTcpMessage(server, wire, opts.timeoutMs, opts.what);
    const mismatch = checkReplyMatches(wire, reply);
    if (mismatch) throw new DnsProtocolError(`${opts.what} at ${where}: ${mismatch}`);
    const rcode = parseHeader(reply).rcode;
    const verdict = verifyTsigResponse(reply, key, mac, Math.floor(opts.now() / 1000));
    const tsigError = verdict.tsig?.error ?? 0;
    if (rcode !== 0 || tsigError !== 0) {
      const other = verdict.tsig?.otherData;
      // A BADTIME reply carries the server's clock in Other Data (RFC 8945 §5.2.3).
      const skewSeconds = tsigError === 18 && other?.length === 6 ? other.readUIntBE(0, 6) - Math.floor(opts.now() / 1000) : undefined;
      const err = computeRcodeError(rcode, { what: opts.what, server: where, tsigError, keyLabel, skewSeconds, unsigned: !verdict.ok }, 'update');
      throw err ?? new DnsProtocolError(`${opts.what} at ${where}: unexpected reply`);
    }
    if (!verdict.ok) {
      throw new DnsProtocolError(`${opts.what} at ${where}: NOERROR reply rejected: ${verdict.reason}`, {
        hint: 'the reply could not be authenticated with the TSIG key; the change may or may not have been made — the next run re-reads DNS',
      });
    }
    return reply;
  }, opts);
}
