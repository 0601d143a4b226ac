// Probe a live TLS endpoint (implicit TLS or STARTTLS for SMTP/IMAP/POP3) and return the certificate
// chain it presents, for the post-activation DANE check (DESIGN.md step 5). Certificates are not
// verified here (rejectUnauthorized: false): DANE matching is core/tlsa-match.ts's job.
import { X509Certificate } from 'node:crypto';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { DanehookError, UnavailableError, toDanehookError } from '../errors.js';
import { computeKeyType, formatKeyType, type KeyType } from '../core/key-type.js';
import { formatHostPort } from './host-port.js';
import { computeHandshakeOffer } from './probe-offer.js';
import { LineReader, ProbeDialogError, runImapStarttls, runPop3Stls, runSmtpStarttls } from './probe-dialects.js';

export type ProbeProtocol = 'smtp' | 'imap' | 'pop3' | 'tls';

export interface ProbeTarget {
  /** Address or name to connect to (an IPv6 literal without brackets). */
  host: string;
  port: number;
  /** SNI name (RFC 6066 §3); default: `host` when it is a name, none for an address. */
  servername?: string;
  /** Default: `defaultProbeProtocol(port)`. */
  protocol?: ProbeProtocol;
  /** Whole probe, connect to handshake; default 10 s. */
  timeoutMs?: number;
  /**
   * Offer only this key type's signature algorithms (and TLS 1.2 suites), so a service with an RSA
   * and an ECDSA certificate must present the one of this type; default: offer every type.
   */
  keyType?: KeyType;
}

export interface ProbeResult {
  /** DER certificates as presented, leaf first, in issuer order (see `readPresentedChain`). */
  chain: Buffer[];
  protocol: ProbeProtocol;
  host: string;
  /** The address actually connected to. */
  address: string;
  port: number;
  servername: string | undefined;
  /** e.g. "TLSv1.3" */
  tlsVersion: string | null;
  /** The presented leaf's key type (null: one TLS cannot authenticate with). */
  keyType: KeyType | null;
  /** The key type the probe restricted itself to, if any. */
  offered: KeyType | null;
  elapsedMs: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Pure: the dialect a port usually speaks (25/587 SMTP STARTTLS, 143 IMAP, 110 POP3, else implicit TLS such as 465/993/995/443). */
export function defaultProbeProtocol(port: number): ProbeProtocol {
  switch (port) {
    case 25:
    case 587:
      return 'smtp';
    case 143:
      return 'imap';
    case 110:
      return 'pop3';
    default:
      return 'tls';
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Pure: an SMTP EHLO argument for our side of the connection (RFC 5321 §4.1.3 address literal). */
function formatEhloName(localAddress: string | undefined): string {
  if (!localAddress) return '[127.0.0.1]';
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(localAddress);
  if (v4mapped) return `[${v4mapped[1]}]`;
  return isIP(localAddress) === 6 ? `[IPv6:${localAddress}]` : `[${localAddress}]`;
}

/**
 * The chain a TLS socket's peer presented, leaf first, as DER. Node exposes the presented chain
 * only through getPeerCertificate(true), which links each certificate to its issuer among the
 * presented ones (so unrelated extra certificates are left out and the order is issuer order)
 * and, when the last one is not self-signed, appends an issuer from the connection's trust store.
 * The probe connects with an empty trust store (`ca: []`), so nothing the server did not send is
 * appended; the walk stops at a self-signed certificate (it is its own issuer).
 */
export function readPresentedChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(Buffer.from(cert.raw));
    const next: DetailedPeerCertificate | undefined = cert.issuerCertificate;
    if (!next || next === cert) break;
    cert = next;
  }
  return chain;
}

const NET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed temporarily',
};

function describeFailure(err: unknown, stage: string, offered: KeyType | undefined): string {
  if (err instanceof ProbeDialogError) return err.message;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NET_ERRORS[code]) return `${NET_ERRORS[code]} (${stage})`;
  const message = err instanceof Error ? err.message.trim() : String(err);
  if (typeof code === 'string' && code.startsWith('ERR_SSL')) {
    // A server with no certificate of the offered type ends the handshake (OpenSSL: alert 40,
    // handshake_failure) instead of presenting another: say so, it is the likely cause.
    const restricted = offered ? ` offering only ${formatKeyType(offered)} signature algorithms (does the service have an ${formatKeyType(offered)} certificate?)` : '';
    return `TLS handshake failed${restricted}: ${message}`;
  }
  return `${message} (${stage})`;
}

function quitCommand(protocol: ProbeProtocol): string | undefined {
  switch (protocol) {
    case 'smtp':
    case 'pop3':
      return 'QUIT\r\n';
    case 'imap':
      return 'a003 LOGOUT\r\n';
    default:
      return undefined;
  }
}

/**
 * I/O: connect to `target`, speak its dialect up to TLS (RFC 3207 for SMTP, RFC 2595 for IMAP and
 * POP3, or TLS at once), complete the handshake and return the presented chain. Any failure —
 * refused, timeout, a server that does not offer STARTTLS, a failed handshake — is an
 * UnavailableError (exit 69) naming host:port and what went wrong. Sockets are always closed.
 */
export async function probeEndpoint(target: ProbeTarget): Promise<ProbeResult> {
  const started = Date.now();
  const host = stripBrackets(target.host);
  const port = target.port;
  const protocol = target.protocol ?? defaultProbeProtocol(port);
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const servername = target.servername ?? (isIP(host) ? undefined : host);
  const where = `${formatHostPort({ host, port })} (${protocol})`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UnavailableError(`probe ${where}: invalid port`);

  let stage = 'connecting';
  let plain: Socket | undefined;
  let secure: TLSSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeDialogError(`timed out after ${timeoutMs} ms ${stage}`)), timeoutMs);
  });
  // Every awaited step races the one overall deadline; a losing step's later rejection is
  // already handled by Promise.race's subscription, so nothing leaks as unhandled.
  const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, deadline]);

  const handshake = (options: ConnectionOptions): Promise<TLSSocket> =>
    new Promise((resolve, reject) => {
      stage = 'during the TLS handshake';
      const s = tlsConnect({
        ...options,
        ...(servername !== undefined ? { servername } : {}),
        ...(target.keyType ? computeHandshakeOffer(target.keyType) : {}),
        rejectUnauthorized: false, // DANE decides, not PKIX (RFC 7672 §3.1)
        ca: [], // empty trust store: the chain walk must not pick up anchors the server did not send
      });
      secure = s;
      s.once('secureConnect', () => resolve(s));
      s.on('error', reject); // stays: a late error (reset during close) must not go unhandled
      s.once('close', () => reject(new ProbeDialogError(`connection closed ${stage}`)));
    });

  let succeeded = false;
  try {
    let tlsSocket: TLSSocket;
    if (protocol === 'tls') {
      tlsSocket = await step(handshake({ host, port }));
    } else {
      const socket = netConnect({ host, port });
      plain = socket;
      const reader = new LineReader(socket);
      await step(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        }),
      );
      const setStage = (s: string) => {
        stage = s;
      };
      if (protocol === 'smtp') await step(runSmtpStarttls(socket, reader, formatEhloName(socket.localAddress), setStage));
      else if (protocol === 'imap') await step(runImapStarttls(socket, reader, setStage));
      else await step(runPop3Stls(socket, reader, setStage));
      // RFC 3207 §4.2 / RFC 2595 §3.1: nothing may follow the go-ahead in plaintext; data that
      // did would be injected into the TLS session's view (CVE-2011-0411 class), so refuse it.
      if (reader.pending > 0) throw new ProbeDialogError('server sent unexpected data after the STARTTLS go-ahead');
      reader.detach();
      tlsSocket = await step(handshake({ socket, host }));
    }
    const chain = readPresentedChain(tlsSocket);
    if (chain.length === 0) throw new ProbeDialogError('server presented no certificate');
    const keyType = computeKeyType(new X509Certificate(chain[0]!).publicKey.export({ type: 'spki', format: 'der' }));
    // OpenSSL refuses a signature scheme it did not offer, so this should not happen; if a stack
    // let it through, the certificate is still not the one asked for.
    if (target.keyType && keyType !== target.keyType) {
      throw new ProbeDialogError(`server presented ${keyType ? `an ${formatKeyType(keyType)}` : 'a'} certificate although only ${formatKeyType(target.keyType)} signature algorithms were offered`);
    }
    const result: ProbeResult = {
      chain,
      protocol,
      host,
      address: tlsSocket.remoteAddress ?? plain?.remoteAddress ?? host,
      port,
      servername,
      tlsVersion: tlsSocket.getProtocol(),
      keyType,
      offered: target.keyType ?? null,
      elapsedMs: Date.now() - started,
    };
    // Polite close: the dialect's goodbye and TLS close_notify; destroyed shortly after regardless.
    const quit = quitCommand(protocol);
    if (quit !== undefined) tlsSocket.end(quit);
    else tlsSocket.end();
    const s = tlsSocket;
    setTimeout(() => s.destroy(), 500).unref();
    succeeded = true;
    return result;
  } catch (err) {
    if (err instanceof DanehookError) throw err;
    throw new UnavailableError(`probe ${where}: ${describeFailure(err, stage, target.keyType)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    if (!succeeded) {
      secure?.destroy();
      plain?.destroy();
    }
  }
}

export interface ProbeUntilOptions {
  /** Keep probing until this long after the first attempt started (e.g. the service's reload settling, ~0.13 s for postfix). */
  graceMs: number;
  /** Pause between attempts; default 50 ms. */
  intervalMs?: number;
}

export interface ProbeUntilResult {
  /** The last successful probe (the accepted one when `accepted`). */
  result: ProbeResult;
  accepted: boolean;
  attempts: number;
  elapsedMs: number;
}

/**
 * I/O: probe repeatedly until `accept(result)` holds or `graceMs` has passed — a reloaded service
 * keeps serving the old certificate for a moment. Failed connections within the grace are retried;
 * if no attempt succeeded, the last error is thrown (UnavailableError, 69).
 */
export async function probeUntil(target: ProbeTarget, accept: (r: ProbeResult) => boolean, opts: ProbeUntilOptions): Promise<ProbeUntilResult> {
  const started = Date.now();
  const interval = opts.intervalMs ?? 50;
  let attempts = 0;
  let last: ProbeResult | undefined;
  let lastError: unknown;
  for (;;) {
    attempts++;
    try {
      last = await probeEndpoint(target);
      lastError = undefined;
      if (accept(last)) return { result: last, accepted: true, attempts, elapsedMs: Date.now() - started };
    } catch (err) {
      lastError = err;
    }
    if (Date.now() - started + interval > opts.graceMs) break;
    await sleep(interval);
  }
  // The last attempt failed: report that, not an earlier (stale) success.
  if (lastError !== undefined) throw lastError;
  return { result: last!, accepted: false, attempts, elapsedMs: Date.now() - started };
}

export type ProbeOutcome =
  | { target: ProbeTarget; ok: true; result: ProbeResult }
  | { target: ProbeTarget; ok: false; error: DanehookError };

export interface ProbeAllOptions {
  /** Probes in flight at once; default 8. */
  concurrency?: number;
}

/** I/O: probe every target with bounded concurrency; outcomes in input order, never rejects. */
export async function probeAll(targets: readonly ProbeTarget[], opts: ProbeAllOptions = {}): Promise<ProbeOutcome[]> {
  const limit = Math.max(1, Math.floor(opts.concurrency ?? 8));
  const outcomes: ProbeOutcome[] = new Array(targets.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < targets.length) {
      const i = next++;
      const target = targets[i]!;
      try {
        outcomes[i] = { target, ok: true, result: await probeEndpoint(target) };
      } catch (err) {
        outcomes[i] = { target, ok: false, error: toDanehookError(err) };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, targets.length) }, worker));
  return outcomes;
}
