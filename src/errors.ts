// The DanehookError family: every failure danehook reports carries a stable code and the
// sysexits exit code of DESIGN.md. cli.ts is the one place that turns them into process exits.

export const ExitCode = {
  ok: 0,
  usage: 64,
  data: 65,
  unavailable: 69,
  internal: 70,
  io: 74,
  temporary: 75,
  protocol: 76,
  refused: 77,
  config: 78,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class DanehookError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly code: string;
  /** One line a person can act on; printed after the message when present. */
  readonly hint: string | undefined;
  constructor(code: string, exitCode: ExitCodeValue, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = options?.hint;
  }
}

type Opts = { cause?: unknown; hint?: string };

/** Bad command line or ambiguous/missing hook input (64). */
export class UsageError extends DanehookError {
  constructor(message: string, o?: Opts) { super('USAGE', ExitCode.usage, message, o); }
}
/** Certificate, key or bundle unusable (65). */
export class CertificateError extends DanehookError {
  constructor(message: string, o?: Opts) { super('CERTIFICATE', ExitCode.data, message, o); }
}
/** A plan that would break a safety invariant (65). */
export class UnsafePlanError extends DanehookError {
  constructor(message: string, o?: Opts) { super('UNSAFE_PLAN', ExitCode.data, message, o); }
}
/** DNS server unreachable, reload/probe failed after rollback (69). */
export class UnavailableError extends DanehookError {
  constructor(message: string, o?: Opts) { super('UNAVAILABLE', ExitCode.unavailable, message, o); }
}
/** A bug in danehook (70). */
export class InternalError extends DanehookError {
  constructor(message: string, o?: Opts) { super('INTERNAL', ExitCode.internal, message, o); }
}
/** State or staged files unreadable/unwritable (74). */
export class StateIoError extends DanehookError {
  constructor(message: string, o?: Opts) { super('IO', ExitCode.io, message, o); }
}
/** Try again later: lock held, propagation not complete (75). */
export class TemporaryError extends DanehookError {
  constructor(message: string, o?: Opts) { super('TEMPORARY', ExitCode.temporary, message, o); }
}
/** Another run holds the state lock (75); `holder` is its pid when known. */
export class LockBusyError extends TemporaryError {
  readonly holder: number | undefined;
  constructor(message: string, holder?: number, o?: Opts) {
    super(message, o);
    this.holder = holder;
  }
}
/** Not every authoritative server served the new records within propagationTimeout (75). */
export class PropagationTimeoutError extends TemporaryError {}
/** SERVFAIL, FORMERR, malformed or unverifiable reply (76). */
export class DnsProtocolError extends DanehookError {
  constructor(message: string, o?: Opts) { super('DNS_PROTOCOL', ExitCode.protocol, message, o); }
}
/** REFUSED, NOTAUTH, TSIG BADSIG/BADKEY/BADTIME (77). */
export class DnsRefusedError extends DanehookError {
  constructor(message: string, o?: Opts) { super('DNS_REFUSED', ExitCode.refused, message, o); }
}
/** Configuration invalid or unreadable (78). */
export class ConfigError extends DanehookError {
  constructor(message: string, o?: Opts) { super('CONFIG', ExitCode.config, message, o); }
}

/** What an error message quotes of a foreign reply (an HTTP body, an adapter's stdout): one line, at most 200 characters. */
export function formatExcerpt(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

/** Map anything thrown to a DanehookError; unknown errors are bugs (70). */
export function toDanehookError(err: unknown): DanehookError {
  if (err instanceof DanehookError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`internal error: ${message}`, { cause: err });
}

// When several problems are reported at once, the exit code is the worst: bugs first, then
// what an operator must fix, then what may fix itself (temporary).
const SEVERITY: ExitCodeValue[] = [70, 74, 65, 77, 76, 78, 69, 64, 75];

export function worstExitCode(errors: DanehookError[]): ExitCodeValue {
  if (errors.length === 0) return ExitCode.ok;
  return errors.map((e) => e.exitCode).sort((a, b) => SEVERITY.indexOf(a) - SEVERITY.indexOf(b))[0]!;
}
