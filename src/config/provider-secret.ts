// The provider's credential, read when the config loads (so a missing or unreadable one is a
// config error, 78, before any DNS traffic): the TSIG key (rfc2136) or the HTTP API key (powerdns).
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Config } from './schema.js';
import { decodeSecret, parseBindKeyFile, TsigKey, type TsigAlgorithm } from './tsig-key.js';

/** Exactly one field is set, the one the chosen provider needs (exec has none: its adapter holds its own). */
export interface ProviderSecret {
  tsig?: TsigKey;
  apiKey?: string;
}

export function resolveProviderSecret(config: Config, raw: unknown, env: NodeJS.ProcessEnv, warnings: string[]): ProviderSecret {
  switch (config.dns.provider) {
    case 'rfc2136':
      return { tsig: resolveTsigKey(config, raw, env, warnings) };
    case 'powerdns':
      warnIfCleartext(config.dns.powerdns!.url, warnings);
      return { apiKey: resolveApiKey(config.dns.powerdns!.apiKeyFile, env, warnings) };
    case 'exec':
      return {};
  }
}

/** The PowerDNS API key from apiKeyFile, else $DANEHOOK_PDNS_API_KEY; never from argv (ps shows it). */
function resolveApiKey(file: string | undefined, env: NodeJS.ProcessEnv, warnings: string[]): string {
  let text: string;
  let source: string;
  if (file) {
    text = readSecretText(file, 'dns.powerdns.apiKeyFile');
    warnIfExposed(file, 'PowerDNS API key file', warnings);
    source = `dns.powerdns.apiKeyFile ${file}`;
  } else if (env.DANEHOOK_PDNS_API_KEY) {
    text = env.DANEHOOK_PDNS_API_KEY;
    source = '$DANEHOOK_PDNS_API_KEY';
  } else {
    throw new ConfigError('no PowerDNS API key: set dns.powerdns.apiKeyFile or export DANEHOOK_PDNS_API_KEY');
  }
  const key = text.trim();
  // An HTTP header value cannot hold control characters; say so instead of failing in fetch().
  if (key === '' || /[\x00-\x1f\x7f]/.test(key)) throw new ConfigError(`${source}: the API key is empty or spans several lines`);
  return key;
}

/** The API key travels in a header: over plain http it is readable on every network hop but loopback. */
function warnIfCleartext(url: string, warnings: string[]): void {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  if (u.protocol === 'http:' && !loopback) warnings.push(`dns.powerdns.url ${url} is plain http to another host: the API key crosses the network readable; put TLS (https://) in front of the PowerDNS webserver`);
}

function warnIfExposed(path: string, what: string, warnings: string[]): void {
  try {
    const mode = statSync(path).mode;
    if (mode & 0o004) warnings.push(`${what} ${path} is readable by every user (mode ${(mode & 0o777).toString(8)}); chmod o-r it`);
    if (mode & 0o002) warnings.push(`${what} ${path} is writable by every user (mode ${(mode & 0o777).toString(8)}); chmod o-w it`);
  } catch {
    /* reported by the reader */
  }
}

function readSecretText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code})`;
    throw new ConfigError(`${what} ${path} ${why}`);
  }
}

/** Resolve the TSIG key from keyFile, secretFile or $DANEHOOK_TSIG_SECRET (in that order). */
function resolveTsigKey(config: Config, raw: unknown, env: NodeJS.ProcessEnv, warnings: string[]): TsigKey {
  const tsig = config.dns.tsig!; // the schema requires it for rfc2136
  if (tsig.keyFile) {
    const text = readSecretText(tsig.keyFile, 'dns.tsig.keyFile');
    warnIfExposed(tsig.keyFile, 'TSIG key file', warnings);
    const keys = parseBindKeyFile(text);
    if (keys.length === 0) throw new ConfigError(`dns.tsig.keyFile ${tsig.keyFile} holds no key { algorithm ...; secret "..."; } block`);
    const found = keys.find((k) => k.name === tsig.name);
    if (!found) throw new ConfigError(`dns.tsig.keyFile ${tsig.keyFile} has no key named "${tsig.name}" (found: ${keys.map((k) => k.name).join(', ')})`);
    const algorithm = found.algorithm.replace(/\.$/, '');
    if (!['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha1'].includes(algorithm)) {
      throw new ConfigError(`dns.tsig.keyFile: key "${found.name}" uses algorithm ${algorithm}; use hmac-sha256, hmac-sha384, hmac-sha512 or hmac-sha1`);
    }
    const rawAlg = (raw as { dns?: { tsig?: { algorithm?: unknown } } })?.dns?.tsig?.algorithm;
    if (rawAlg !== undefined && rawAlg !== algorithm) {
      throw new ConfigError(`dns.tsig.algorithm is ${String(rawAlg)} but key "${found.name}" in ${tsig.keyFile} is ${algorithm}`);
    }
    const secret = decodeSecret(found.secret);
    if (!secret) throw new ConfigError(`dns.tsig.keyFile ${tsig.keyFile}: the secret of key "${found.name}" is not valid base64`);
    return new TsigKey(tsig.name, algorithm as TsigAlgorithm, secret);
  }
  let text: string;
  let source: string;
  if (tsig.secretFile) {
    text = readSecretText(tsig.secretFile, 'dns.tsig.secretFile');
    warnIfExposed(tsig.secretFile, 'TSIG secret file', warnings);
    source = `dns.tsig.secretFile ${tsig.secretFile}`;
  } else if (env.DANEHOOK_TSIG_SECRET) {
    text = env.DANEHOOK_TSIG_SECRET;
    source = '$DANEHOOK_TSIG_SECRET';
  } else {
    throw new ConfigError('no TSIG secret: set dns.tsig.secretFile or dns.tsig.keyFile, or export DANEHOOK_TSIG_SECRET');
  }
  const secret = decodeSecret(text);
  if (!secret) throw new ConfigError(`${source}: the TSIG secret is not valid base64`);
  return new TsigKey(tsig.name, tsig.algorithm, secret);
}
