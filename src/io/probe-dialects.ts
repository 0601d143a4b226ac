// The plaintext part of a STARTTLS probe: read replies line by line over a TCP socket and walk the
// SMTP (RFC 3207, RFC 5321), IMAP (RFC 2595 §3.1, RFC 3501) and POP3 (RFC 2595 §4, RFC 2449)
// dialogs up to the point where the server expects the TLS handshake.
import type { Socket } from 'node:net';

/** A dialog step failed: the server said something we cannot go on from (caller maps to 69). */
export class ProbeDialogError extends Error {}

const MAX_LINE = 8192; // RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; be lenient

/** Reads CRLF-terminated lines (a bare LF is tolerated) from a plaintext socket. I/O. */
export class LineReader {
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.deliver();
  };
  private readonly onEnd = () => this.fail(new ProbeDialogError('server closed the connection'));
  private readonly onError = (err: Error) => this.fail(err);

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** Next line without its line ending; rejects when the server closes or errs. */
  readLine(): Promise<string> {
    if (this.waiting) throw new Error('LineReader: concurrent readLine');
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  /** Bytes received but not yet consumed as lines. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Stop reading so the socket can be handed to TLS; the error listener stays until TLS owns it. */
  detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.pause();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.deliver();
  }

  private deliver(): void {
    if (!this.waiting) return;
    const nl = this.buffer.indexOf(0x0a);
    if (nl >= 0) {
      const end = nl > 0 && this.buffer[nl - 1] === 0x0d ? nl - 1 : nl;
      const line = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(nl + 1);
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve(line);
    } else if (this.buffer.length > MAX_LINE) {
      const w = this.waiting;
      this.waiting = undefined;
      w.reject(new ProbeDialogError(`reply line longer than ${MAX_LINE} bytes`));
    } else if (this.failure) {
      const w = this.waiting;
      this.waiting = undefined;
      w.reject(this.failure);
    }
  }
}

/** The dialog reports what it is waiting for, so a timeout can say where it stuck. */
export type StageReporter = (stage: string) => void;

function send(socket: Socket, line: string): void {
  socket.write(`${line}\r\n`); // CRLF: RFC 5321 §2.3.8, RFC 3501 §2.2, RFC 1939 §3
}

function shorten(text: string): string {
  const t = text.replace(/[^\x20-\x7e]/g, '?');
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

export interface SmtpReply {
  code: number;
  lines: string[];
}

/** One SMTP reply, possibly multi-line ("250-…" … "250 …", RFC 5321 §4.2.1). I/O. */
export async function readSmtpReply(reader: LineReader): Promise<SmtpReply> {
  const lines: string[] = [];
  let code: number | undefined;
  for (;;) {
    const line = await reader.readLine();
    const m = /^(\d{3})(?:([ -])(.*))?$/.exec(line);
    if (!m) throw new ProbeDialogError(`malformed SMTP reply line: ${shorten(line)}`);
    const c = Number(m[1]);
    if (code !== undefined && c !== code) throw new ProbeDialogError(`SMTP reply code changed within a multi-line reply: ${shorten(line)}`);
    code = c;
    lines.push(m[3] ?? '');
    if (m[2] !== '-') return { code, lines };
  }
}

function smtpText(r: SmtpReply): string {
  return shorten(`${r.code} ${r.lines.join(' / ')}`);
}

/**
 * SMTP up to the TLS handshake (RFC 3207): greeting 220, EHLO, STARTTLS must be advertised,
 * STARTTLS answered 220. `ehloName` is our address literal or name (RFC 5321 §4.1.4). I/O.
 */
export async function runSmtpStarttls(socket: Socket, reader: LineReader, ehloName: string, stage: StageReporter): Promise<void> {
  stage('waiting for the SMTP greeting');
  const greeting = await readSmtpReply(reader);
  if (greeting.code !== 220) throw new ProbeDialogError(`SMTP greeting is not 220: ${smtpText(greeting)}`);
  stage('waiting for the EHLO reply');
  send(socket, `EHLO ${ehloName}`);
  const ehlo = await readSmtpReply(reader);
  if (ehlo.code !== 250) throw new ProbeDialogError(`EHLO rejected: ${smtpText(ehlo)}`);
  // First line is the server's name; each further line is a keyword with parameters (RFC 5321 §4.1.1.1).
  const keywords = ehlo.lines.slice(1).map((l) => l.split(' ')[0]!.toUpperCase());
  if (!keywords.includes('STARTTLS')) {
    throw new ProbeDialogError(`STARTTLS not offered (EHLO keywords: ${keywords.join(' ') || 'none'})`);
  }
  stage('waiting for the STARTTLS reply');
  send(socket, 'STARTTLS');
  const go = await readSmtpReply(reader);
  if (go.code !== 220) throw new ProbeDialogError(`STARTTLS refused: ${smtpText(go)}`);
}

function imapCapabilities(text: string): string[] {
  return text.trim().split(/\s+/).map((c) => c.toUpperCase());
}

/** Read IMAP lines until the tagged response for `tag`; returns it and the untagged lines. I/O. */
async function readImapTagged(reader: LineReader, tag: string): Promise<{ status: string; text: string; untagged: string[] }> {
  const untagged: string[] = [];
  for (;;) {
    const line = await reader.readLine();
    if (line.startsWith(`${tag} `)) {
      const m = /^\S+ (\S+)\s*(.*)$/.exec(line);
      return { status: (m?.[1] ?? '').toUpperCase(), text: m?.[2] ?? '', untagged };
    }
    if (!line.startsWith('* ')) throw new ProbeDialogError(`unexpected IMAP line: ${shorten(line)}`);
    untagged.push(line.slice(2));
  }
}

/**
 * IMAP up to the TLS handshake (RFC 2595 §3.1, RFC 3501 §6.2.1): greeting "* OK", CAPABILITY
 * must list STARTTLS (from the greeting's response code or a CAPABILITY command), STARTTLS OK.
 * A PREAUTH greeting forbids STARTTLS (RFC 3501 §6.2.1). I/O.
 */
export async function runImapStarttls(socket: Socket, reader: LineReader, stage: StageReporter): Promise<void> {
  stage('waiting for the IMAP greeting');
  const greeting = await reader.readLine();
  const g = /^\* (OK|PREAUTH|BYE)\b\s*(.*)$/i.exec(greeting);
  if (!g) throw new ProbeDialogError(`malformed IMAP greeting: ${shorten(greeting)}`);
  const kind = g[1]!.toUpperCase();
  if (kind !== 'OK') throw new ProbeDialogError(`IMAP greeting is ${kind}, STARTTLS not possible: ${shorten(greeting)}`);
  let caps: string[] | undefined;
  const code = /^\[CAPABILITY ([^\]]*)\]/i.exec(g[2] ?? '');
  if (code) caps = imapCapabilities(code[1]!);
  if (!caps || !caps.includes('STARTTLS')) {
    stage('waiting for the CAPABILITY reply');
    send(socket, 'a001 CAPABILITY');
    const r = await readImapTagged(reader, 'a001');
    if (r.status !== 'OK') throw new ProbeDialogError(`CAPABILITY failed: ${shorten(`${r.status} ${r.text}`)}`);
    caps = r.untagged.flatMap((l) => (/^CAPABILITY /i.test(l) ? imapCapabilities(l.slice(11)) : []));
  }
  if (!caps.includes('STARTTLS')) throw new ProbeDialogError(`STARTTLS not offered (IMAP capabilities: ${caps.join(' ') || 'none'})`);
  stage('waiting for the STARTTLS reply');
  send(socket, 'a002 STARTTLS');
  const r = await readImapTagged(reader, 'a002');
  if (r.status !== 'OK') throw new ProbeDialogError(`STARTTLS refused: ${shorten(`${r.status} ${r.text}`)}`);
}

/**
 * POP3 up to the TLS handshake (RFC 2595 §4, RFC 2449 §5): greeting "+OK", CAPA must list STLS
 * (a server without CAPA gets STLS tried directly), STLS answered "+OK". I/O.
 */
export async function runPop3Stls(socket: Socket, reader: LineReader, stage: StageReporter): Promise<void> {
  stage('waiting for the POP3 greeting');
  const greeting = await reader.readLine();
  if (!greeting.startsWith('+OK')) throw new ProbeDialogError(`POP3 greeting is not +OK: ${shorten(greeting)}`);
  stage('waiting for the CAPA reply');
  send(socket, 'CAPA');
  const first = await reader.readLine();
  if (first.startsWith('+OK')) {
    const caps: string[] = [];
    for (;;) {
      const line = await reader.readLine();
      if (line === '.') break;
      caps.push(line.split(' ')[0]!.toUpperCase());
    }
    if (!caps.includes('STLS')) throw new ProbeDialogError(`STLS not offered (POP3 capabilities: ${caps.join(' ') || 'none'})`);
  } else if (!first.startsWith('-ERR')) {
    throw new ProbeDialogError(`malformed CAPA reply: ${shorten(first)}`);
  }
  stage('waiting for the STLS reply');
  send(socket, 'STLS');
  const go = await reader.readLine();
  if (!go.startsWith('+OK')) throw new ProbeDialogError(`STLS refused: ${shorten(go)}`);
}
