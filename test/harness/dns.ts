// Shared DNS pieces for the BIND/Knot/PowerDNS harnesses: random TSIG keys, the test zone's
// contents, and small wrappers around dig/nsupdate (independent tools, so tests don't trust our code).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';

const run = promisify(execFile);

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512' | 'hmac-sha1';

export interface TsigKey {
  /** Absolute, lowercase, with the trailing dot (as it appears on the wire). */
  name: string;
  algorithm: TsigAlgorithm;
  /** base64 */
  secret: string;
}

export interface Endpoint {
  host: string;
  port: number;
}

/** Common shape every start*() DNS harness returns. */
export interface DnsServerHandle {
  /** Zone apex, absolute with trailing dot, e.g. "example.test.". */
  zone: string;
  primary: Endpoint;
  secondary?: Endpoint;
  key: TsigKey;
  /** BIND-style `key "name" { algorithm ..; secret ".."; };` file (danehook `keyFile:`). */
  keyFilePath: string;
  /** File holding just the base64 secret (danehook `secretFile:`). */
  secretFilePath: string;
  /** Default TTL of the zone ($TTL and SOA minimum). */
  ttl: number;
  tempDir: string;
  /** Current SOA serial served by that server. */
  serial(server?: Endpoint): Promise<number>;
  stop(): Promise<void>;
  /** Kill the secondary (it stops answering at all) / start it again on the same port. */
  stopSecondary(): Promise<void>;
  startSecondary(): Promise<void>;
  /** The secondary keeps answering, but with the zone as it is now (no more changes reach it). */
  holdSecondary(): Promise<void>;
  /** Let changes through again and resolve when the secondary serves the primary's serial. */
  releaseSecondary(): Promise<void>;
  /** Resolves true when the secondary serves the same SOA serial as the primary. */
  waitForSecondarySync(timeoutMs?: number): Promise<boolean>;
}

const SECRET_BYTES: Record<TsigAlgorithm, number> = {
  'hmac-sha1': 20,
  'hmac-sha256': 32,
  'hmac-sha384': 48,
  'hmac-sha512': 64,
};

export function absolute(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

export function relativeName(name: string): string {
  return absolute(name).slice(0, -1);
}

/** Fresh random key; the secret length equals the hash output, as tsig-keygen does. */
export function generateTsigKey(name = 'danehook-key', algorithm: TsigAlgorithm = 'hmac-sha256'): TsigKey {
  return { name: absolute(name), algorithm, secret: randomBytes(SECRET_BYTES[algorithm]).toString('base64') };
}

export function writeKeyFiles(dir: string, key: TsigKey): { keyFilePath: string; secretFilePath: string } {
  const keyFilePath = join(dir, 'tsig.key');
  const secretFilePath = join(dir, 'tsig.secret');
  writeFileSync(keyFilePath, `key "${relativeName(key.name)}" {\n\talgorithm ${key.algorithm};\n\tsecret "${key.secret}";\n};\n`, { mode: 0o600 });
  writeFileSync(secretFilePath, `${key.secret}\n`, { mode: 0o600 });
  return { keyFilePath, secretFilePath };
}

export interface ZoneOptions {
  zone?: string;
  ttl?: number;
  /** Extra zone-file lines (relative owners are relative to the zone). */
  records?: string[];
}

/**
 * Zone file: SOA, NS ns1/ns2 (A 127.0.0.1 each, so "auto" discovery finds real names), and A
 * records for mx/www. SOA refresh is long so a secondary only transfers on NOTIFY — that is
 * what lets a test hold a secondary back.
 */
export function zoneFileText(opts: ZoneOptions & { serial?: number }): string {
  const zone = absolute(opts.zone ?? 'example.test');
  const ttl = opts.ttl ?? 300;
  return [
    `$ORIGIN ${zone}`,
    `$TTL ${ttl}`,
    `@ IN SOA ns1.${zone} hostmaster.${zone} ${opts.serial ?? 1} 86400 3600 604800 ${ttl}`,
    `@ IN NS ns1.${zone}`,
    `@ IN NS ns2.${zone}`,
    'ns1 IN A 127.0.0.1',
    'ns2 IN A 127.0.0.1',
    'mx IN A 127.0.0.1',
    'www IN A 127.0.0.1',
    ...(opts.records ?? []),
    '',
  ].join('\n');
}

export interface DigResult {
  status: string;
  /** Answer-section lines as dig prints them (+noall +answer style, one RR per line). */
  answers: string[];
  flags: string[];
  raw: string;
}

/** One authoritative (non-recursive) query with dig; never throws for DNS-level errors. */
export async function dig(server: Endpoint, name: string, type: string, extra: string[] = []): Promise<DigResult> {
  // dig exits 9 when no server answered: that is a result (NO-REPLY) for tests, not an exception.
  const { stdout } = await run(binaryPath('dig'), [
    `@${server.host}`, '-p', String(server.port), '+norec', '+time=1', '+tries=2', '+nocookie', '+nosplit',
    '+noall', '+comments', '+answer', ...extra, name, type,
  ]).catch((err: { code?: unknown; stdout?: string }) => {
    if (err.code === 9) return { stdout: err.stdout ?? '' };
    throw err;
  });
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? 'NO-REPLY';
  const flags = (/;; flags: ([^;]*);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const answers = stdout.split('\n').filter((l) => l && !l.startsWith(';'));
  return { status, answers, flags, raw: stdout };
}

/** Serial from the SOA the server answers for the zone (throws when it does not answer). */
export async function querySerial(server: Endpoint, zone: string): Promise<number> {
  const r = await dig(server, zone, 'SOA');
  const soa = r.answers.find((l) => /\sSOA\s/.test(l));
  if (r.status !== 'NOERROR' || !soa) throw new Error(`no SOA for ${zone} from ${server.host}#${server.port}: ${r.status}`);
  const fields = soa.trim().split(/\s+/);
  return Number(fields[6]);
}

/** True when the server answers SOA for the zone authoritatively (aa flag). */
export async function servesZone(server: Endpoint, zone: string): Promise<boolean> {
  try {
    const r = await dig(server, zone, 'SOA');
    return r.status === 'NOERROR' && r.flags.includes('aa') && r.answers.some((l) => /\sSOA\s/.test(l));
  } catch {
    return false;
  }
}

/** The rdata (after the type) of every answer of that type, normalised to single spaces. */
export function rdataOf(r: DigResult, type: string): string[] {
  return r.answers
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === type)
    .map((f) => f.slice(4).join(' '));
}

/** TLSA answers as "u s m hex" with lowercase hex, the form danehook's plan output uses. */
export function tlsaOf(r: DigResult): string[] {
  return rdataOf(r, 'TLSA').map((x) => x.toLowerCase()).sort();
}

export interface NsupdateResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Sends an UPDATE with BIND's nsupdate, TSIG key from a key file (never on argv). `commands`
 * are nsupdate lines without server/zone/send, e.g. ["update add _25._tcp.mx.example.test. 300 TLSA 3 1 1 ab..."].
 */
export async function nsupdate(server: Endpoint, zone: string, keyFilePath: string | null, commands: string[]): Promise<NsupdateResult> {
  const script = [`server ${server.host} ${server.port}`, `zone ${absolute(zone)}`, ...commands, 'send', ''].join('\n');
  const args = keyFilePath ? ['-k', keyFilePath, '-v'] : ['-v'];
  return new Promise((resolve) => {
    const child = execFile(binaryPath('nsupdate'), args, { timeout: 15000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(script);
  });
}
