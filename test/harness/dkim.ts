// DKIM pieces for tests, each done by an independent tool: key pairs from opendkim-genkey, the
// selector's TXT record published/removed with nsupdate, keys checked with opendkim-testkey, and
// verdicts read from the Authentication-Results a real verifier wrote into delivered messages.
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import { absolute, dig, nsupdate, type DnsServerHandle, type Endpoint } from './dns.js';
import { waitFor } from './process.js';

const run = promisify(execFile);

export interface DkimKey {
  selector: string;
  domain: string;
  /** PEM private key as opendkim-genkey wrote it (`<selector>.private`). */
  privateKeyPath: string;
  /** The TXT rdata strings in opendkim-genkey's order (each ≤ 255 bytes, as they go on the wire). */
  txtStrings: string[];
  /** The joined record value ("v=DKIM1; h=sha256; k=rsa; p=…"), what a verifier reads. */
  txtValue: string;
  /** Owner name: `<selector>._domainkey.<domain>.` */
  owner: string;
}

/**
 * A directory outside any world-writable tree (OpenDKIM refuses keys below /tmp: FACTS.md),
 * created under /run (root, 0755). Removed by the caller.
 */
export function makePrivateDir(prefix: string): string {
  return mkdtempSync(join('/run', `danehook-${prefix}-`));
}

/** Pure: the quoted strings of a zone-file TXT record (opendkim-genkey's `.txt`), in order. */
export function txtStringsOf(zoneText: string): string[] {
  return [...zoneText.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
}

/** Pure: split a TXT value into strings of at most 255 bytes (RFC 1035 character-strings). */
export function splitTxt(value: string, max = 255): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += max) out.push(value.slice(i, i + max));
  return out.length > 0 ? out : [''];
}

export const dkimOwner = (selector: string, domain: string) => `${selector}._domainkey.${absolute(domain)}`;

/**
 * I/O: a new key pair with `opendkim-genkey -b BITS -d DOMAIN -s SELECTOR -D DIR` (RSA), the private
 * key 0600, moved to `privateKeyPath` (default DIR/SELECTOR.private) and owned by `owner` when
 * given (the signer's user must read it).
 */
export async function generateDkimKey(dir: string, selector: string, domain: string, opts: { bits?: number; owner?: { uid: number; gid: number }; privateKeyPath?: string } = {}): Promise<DkimKey> {
  await run(binaryPath('opendkim-genkey'), ['-b', String(opts.bits ?? 2048), '-d', domain, '-s', selector, '-D', dir]);
  const privateKeyPath = opts.privateKeyPath ?? join(dir, `${selector}.private`);
  if (privateKeyPath !== join(dir, `${selector}.private`)) renameSync(join(dir, `${selector}.private`), privateKeyPath);
  if (opts.owner) chownSync(privateKeyPath, opts.owner.uid, opts.owner.gid);
  const txtStrings = txtStringsOf(readFileSync(join(dir, `${selector}.txt`), 'utf8'));
  return { selector, domain, privateKeyPath, txtStrings, txtValue: txtStrings.join(''), owner: dkimOwner(selector, domain) };
}

/** Pure: nsupdate rdata for a TXT record made of these strings ("a" "b" …). */
export function txtRdata(strings: string[]): string {
  return strings.map((s) => `"${s.replace(/(["\\])/g, '\\$1')}"`).join(' ');
}

/** I/O: the TXT records `server` answers for `owner`: each as its strings and joined; [] when none. */
export async function txtValues(server: Endpoint, owner: string, extra: string[] = []): Promise<{ status: string; values: string[]; strings: string[][] }> {
  const r = await dig(server, owner, 'TXT', extra);
  const strings = r.answers
    .filter((l) => /\sTXT\s/.test(l))
    .map((l) => txtStringsOf(l.slice(l.search(/\sTXT\s/) + 5)));
  return { status: r.status, values: strings.map((s) => s.join('')), strings };
}

/** Pure: the record that revokes a selector (RFC 6376 §3.6.1: an empty p=). */
export const REVOKED_TXT = 'v=DKIM1; k=rsa; p=';

/** Every authoritative server of the zone (primary, then secondary). */
export const serversOf = (dns: DnsServerHandle): Endpoint[] => [dns.primary, ...(dns.secondary ? [dns.secondary] : [])];

/**
 * I/O: publish the selector's TXT (nsupdate, TSIG) with `ttl` and wait until every authoritative
 * server serves exactly that value (throws after 10 s). A record longer than 255 bytes goes as
 * several strings, as opendkim-genkey wrote them.
 */
export async function publishDkimKey(dns: DnsServerHandle, key: Pick<DkimKey, 'owner' | 'txtStrings' | 'txtValue'>, ttl: number): Promise<void> {
  const r = await nsupdate(dns.primary, dns.zone, dns.keyFilePath, [`update delete ${key.owner} TXT`, `update add ${key.owner} ${ttl} TXT ${txtRdata(key.txtStrings)}`]);
  if (r.code !== 0) throw new Error(`nsupdate publish ${key.owner}: ${r.stderr}${r.stdout}`);
  const ok = await waitFor(async () => {
    for (const s of serversOf(dns)) {
      const v = await txtValues(s, key.owner);
      if (v.values.length !== 1 || v.values[0] !== key.txtValue) return false;
    }
    return true;
  }, 10_000, 50);
  if (!ok) throw new Error(`${key.owner} not served by every authoritative server within 10 s`);
}

/** I/O: delete the selector's TXT RRset (nsupdate) and wait until no authoritative server serves it. */
export async function unpublishDkimKey(dns: DnsServerHandle, owner: string): Promise<void> {
  const r = await nsupdate(dns.primary, dns.zone, dns.keyFilePath, [`update delete ${owner} TXT`]);
  if (r.code !== 0) throw new Error(`nsupdate delete ${owner}: ${r.stderr}${r.stdout}`);
  const ok = await waitFor(async () => {
    for (const s of serversOf(dns)) if ((await txtValues(s, owner)).values.length > 0) return false;
    return true;
  }, 10_000, 50);
  if (!ok) throw new Error(`${owner} still served somewhere after 10 s`);
}

/** One delivered message as the receiver stored it. */
export interface DeliveredMessage {
  file: string;
  subject: string;
  /** `s=` of the (first) DKIM-Signature, undefined when unsigned. */
  selector: string | undefined;
  /** `dkim=` result in the verifier's Authentication-Results (undefined: no such header). */
  dkim: string | undefined;
  /** The verifier's reason="…" for that result (OpenDKIM: "key not found in DNS", "key revoked", …). */
  reason: string | undefined;
  /** The verifier's whole Authentication-Results value, for reports. */
  authenticationResults: string | undefined;
}

/** Pure: header fields of a message (unfolded), name lowercased, in order. */
export function headerFields(message: string): { name: string; value: string }[] {
  const head = message.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const out: { name: string; value: string }[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1]!.value += ` ${line.trim()}`;
    else {
      const i = line.indexOf(':');
      if (i > 0) out.push({ name: line.slice(0, i).toLowerCase(), value: line.slice(i + 1).trim() });
    }
  }
  return out;
}

/** Pure: what a delivered message says about DKIM; only the AR header of `authservId` counts. */
export function parseDelivered(file: string, message: string, authservId: string): DeliveredMessage {
  const fields = headerFields(message);
  const sig = fields.find((f) => f.name === 'dkim-signature')?.value;
  const ar = fields.find((f) => f.name === 'authentication-results' && f.value.split(';')[0]!.trim().toLowerCase() === authservId.toLowerCase())?.value;
  return {
    file,
    subject: fields.find((f) => f.name === 'subject')?.value ?? '',
    selector: sig ? /(?:^|;)\s*s\s*=\s*([^;\s]+)/.exec(sig)?.[1] : undefined,
    dkim: ar ? /\bdkim=([a-z]+)/i.exec(ar)?.[1]?.toLowerCase() : undefined,
    reason: ar ? /\bdkim=[a-z]+\s+reason="([^"]*)"/i.exec(ar)?.[1] : undefined,
    authenticationResults: ar,
  };
}

/**
 * I/O: `opendkim-testkey -d DOMAIN -s SELECTOR -k KEY -vvv -x CONF` — OpenDKIM's own check that the
 * published key (looked up through the resolver CONF names) matches the private key.
 */
export async function opendkimTestkey(key: DkimKey, confPath: string): Promise<{ ok: boolean; output: string }> {
  const r = await run(binaryPath('opendkim-testkey'), ['-d', key.domain, '-s', key.selector, '-k', key.privateKeyPath, '-vvv', '-x', confPath], { timeout: 30_000 })
    .then((o) => ({ code: 0, out: o.stdout + o.stderr }))
    .catch((e: { code?: number; stdout?: string; stderr?: string; message: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? e.message}` }));
  return { ok: r.code === 0 && /key OK/.test(r.out), output: r.out };
}
