// What an adapter run means: its reply validated strictly against the request, or the exit code
// its failure maps onto (auth 77; unreachable, timeout, crash, not runnable 69; anything malformed
// 76; conflict 75 like an RFC 2136 prerequisite failure). Pure.
import type { z } from 'zod';
import { DanehookError, DnsProtocolError, formatExcerpt, DnsRefusedError, TemporaryError, UnavailableError } from '../../errors.js';
import type { AdapterOutcome } from './run-adapter.js';
import { errorReplySchema, PROTOCOL_VERSION, type ErrorKind } from './protocol.js';

export interface ReplyContext {
  /** "exec adapter /usr/local/bin/x (list TLSA, 3 names)". */
  what: string;
  timeoutMs: number;
}

/** The reply of `outcome`, validated by `schema`; throws the mapped error otherwise. */
export function parseAdapterReply<S extends z.ZodType>(outcome: AdapterOutcome, schema: S, ctx: ReplyContext): z.output<S> {
  const stderr = outcome.stderrTail.length ? `; stderr: ${outcome.stderrTail.join(' | ')}` : '';
  if (outcome.spawnError) {
    const e = outcome.spawnError;
    const why = e.code === 'ENOENT' ? 'does not exist' : e.code === 'EACCES' ? 'is not executable (permission denied)' : `could not be started (${e.code ?? e.message})`;
    throw new UnavailableError(`${ctx.what}: the adapter ${why}`, { hint: 'dns.exec.command[0] must be an executable file; a script\'s interpreter (#!) must exist too' });
  }
  if (outcome.timedOut) {
    throw new UnavailableError(`${ctx.what} timed out after ${ctx.timeoutMs} ms and was stopped (its process group got SIGTERM, then SIGKILL)${stderr}`, { hint: 'raise dns.exec.timeout if the backend is slow' });
  }
  if (outcome.overflow) throw new DnsProtocolError(`${ctx.what} wrote more output than a reply can be; it was stopped${stderr}`);
  if (outcome.signal) throw new UnavailableError(`${ctx.what} was killed by ${outcome.signal}${stderr}`);

  const text = outcome.stdout.toString('utf8').trim();
  let json: unknown;
  let jsonError: string | undefined;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch (err) {
    jsonError = (err as Error).message;
  }
  const failed = outcome.exitCode !== 0;
  if (json === undefined) {
    // No reply at all: a crash when it also failed, else an adapter that does not speak the protocol.
    if (failed) throw new UnavailableError(`${ctx.what} exited with ${outcome.exitCode} without a reply${stderr}`);
    throw new DnsProtocolError(`${ctx.what} replied ${jsonError ? `with invalid JSON (${jsonError}): ${formatExcerpt(text)}` : 'nothing'}${stderr}`);
  }
  const version = typeof json === 'object' && json !== null ? (json as { version?: unknown }).version : undefined;
  if (version !== PROTOCOL_VERSION) {
    throw new DnsProtocolError(`${ctx.what} replied with protocol version ${JSON.stringify(version)}; danehook speaks version ${PROTOCOL_VERSION}: ${formatExcerpt(text)}`);
  }
  // An error reply is honoured whatever the exit code: it is the adapter's own account.
  const error = errorReplySchema.safeParse(json);
  if (error.success) throw mapErrorKind(error.data.error.kind, `${ctx.what} failed: ${error.data.error.message}`);
  const ok = schema.safeParse(json);
  if (!ok.success) {
    const issue = ok.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : 'reply';
    if (failed) throw new UnavailableError(`${ctx.what} exited with ${outcome.exitCode} and a malformed reply (${where}: ${issue.message})${stderr}`);
    throw new DnsProtocolError(`${ctx.what} replied something protocol version ${PROTOCOL_VERSION} does not allow here (${where}: ${issue.message}): ${formatExcerpt(text)}`);
  }
  // A success reply with a failing exit contradicts itself; believing either half could be wrong.
  if (failed) throw new DnsProtocolError(`${ctx.what} replied success but exited with ${outcome.exitCode}${stderr}`);
  return ok.data;
}

export function mapErrorKind(kind: ErrorKind, message: string): DanehookError {
  switch (kind) {
    case 'auth':
      return new DnsRefusedError(message, { hint: 'the adapter\'s credentials were rejected or do not allow this change' });
    case 'unreachable':
      return new UnavailableError(message);
    case 'conflict':
      return new TemporaryError(message, { hint: 'the records changed concurrently; the next run re-reads DNS and retries' });
    case 'invalid':
      return new DnsProtocolError(message);
  }
}
