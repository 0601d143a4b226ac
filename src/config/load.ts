// Find, read and validate the configuration (cosmiconfig restricted to YAML/JSON: a root hook must
// never execute config code), then resolve the TSIG secret. Every failure is a ConfigError (78).
import { readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { cosmiconfig, defaultLoaders } from 'cosmiconfig';
import { ConfigError } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { formatZodIssues } from './issues.js';
import { decodeSecret, parseBindKeyFile, TsigKey, type TsigAlgorithm } from './tsig-key.js';

export const SYSTEM_CONFIG_DIR = '/etc/danehook';
const SEARCH_PLACES = ['config.yaml', 'config.yml', 'config.json'];
const ALLOWED_EXTENSIONS = new Set(['.yaml', '.yml', '.json', '']);

export interface LoadedConfig {
  config: Config;
  path: string;
  key: TsigKey;
  warnings: string[];
}

async function readRaw(file: string | undefined, systemDir: string): Promise<{ raw: unknown; path: string }> {
  const loaders = { '.yaml': defaultLoaders['.yaml'], '.yml': defaultLoaders['.yml'], '.json': defaultLoaders['.json'], noExt: defaultLoaders['.yaml'] };
  const explorer = cosmiconfig('danehook', { searchPlaces: SEARCH_PLACES, loaders, stopDir: systemDir, cache: false });
  try {
    if (file) {
      const path = resolve(file);
      if (!ALLOWED_EXTENSIONS.has(extname(path).toLowerCase())) {
        throw new ConfigError(`config ${path}: only YAML (.yaml, .yml) or JSON (.json) files are read; code is never executed`);
      }
      statSync(path); // a clear "not found" before cosmiconfig's own wording
      const result = await explorer.load(path);
      if (!result || result.isEmpty) throw new ConfigError(`config ${path} is empty`);
      return { raw: result.config, path };
    }
    const result = await explorer.search(systemDir);
    if (!result) {
      throw new ConfigError(`no configuration found: give --config FILE, set $DANEHOOK_CONFIG, or create ${systemDir}/config.yaml`);
    }
    if (result.isEmpty) throw new ConfigError(`config ${result.filepath} is empty`);
    return { raw: result.config, path: result.filepath };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const e = err as NodeJS.ErrnoException;
    const where = file ? resolve(file) : systemDir;
    if (e.code === 'ENOENT') throw new ConfigError(`config file ${where} does not exist`);
    if (e.code === 'EACCES') throw new ConfigError(`config file ${where} is not readable (permission denied)`);
    if (e.code === 'EISDIR') throw new ConfigError(`config ${where} is a directory, not a file`);
    const firstLine = String(e.message ?? e).split('\n')[0];
    throw new ConfigError(`config ${where} cannot be parsed: ${firstLine}`);
  }
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
export function resolveTsigKey(config: Config, raw: unknown, env: NodeJS.ProcessEnv, warnings: string[]): TsigKey {
  const tsig = config.dns.tsig;
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

/** Load and validate: --config FILE, else $DANEHOOK_CONFIG, else /etc/danehook/config.{yaml,yml,json}. */
export async function loadConfig(opts: { file?: string; env: NodeJS.ProcessEnv; systemDir?: string; offline?: boolean }): Promise<LoadedConfig> {
  const file = opts.file ?? (opts.env.DANEHOOK_CONFIG || undefined);
  const { raw, path } = await readRaw(file, opts.systemDir ?? SYSTEM_CONFIG_DIR);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`config ${path} is invalid: ${formatZodIssues(parsed.error.issues)}`);
  const config = parsed.data;
  if (config.certificates.some((e) => e.issuerSources)) {
    const problems = (await import('./issuer-sets.js')).resolveIssuerSets(config.certificates);
    if (problems.length > 0) throw new ConfigError(`config ${path} is invalid: ${problems.join('; ')}`);
  }
  if (opts.env.DANEHOOK_STATE_DIR) config.stateDir = opts.env.DANEHOOK_STATE_DIR;
  const warnings: string[] = [];
  // A readable config is fine (secrets live elsewhere); a world-writable one lets anyone steer root.
  try {
    if (statSync(path).mode & 0o002) warnings.push(`config file ${path} is writable by every user; chmod o-w it`);
  } catch {
    /* already read above */
  }
  try {
    // Staged private keys live in stateDir: nobody but its owner should list or plant files there.
    const mode = statSync(config.stateDir).mode & 0o777;
    if (mode & 0o077) warnings.push(`state directory ${config.stateDir} is accessible by other users (mode ${mode.toString(8)}); chmod 700 it`);
  } catch {
    /* created 0700 on first use */
  }
  if (opts.offline) {
    // Nothing will be sent (plan --offline): a missing secret is only an error if something asks for it.
    try {
      return { config, path, key: resolveTsigKey(config, raw, opts.env, warnings), warnings };
    } catch (err) {
      return {
        config, path, warnings,
        get key(): TsigKey {
          throw err;
        },
      };
    }
  }
  const key = resolveTsigKey(config, raw, opts.env, warnings);
  return { config, path, key, warnings };
}
