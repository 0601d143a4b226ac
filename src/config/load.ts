// Find, read and validate the configuration (cosmiconfig restricted to YAML/JSON: a root hook must
// never execute config code), then resolve the provider's secret. Every failure is a ConfigError (78).
import { statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { cosmiconfig, defaultLoaders } from 'cosmiconfig';
import { ConfigError } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { formatZodIssues } from './issues.js';
import { resolveProviderSecret, type ProviderSecret } from './provider-secret.js';

export const SYSTEM_CONFIG_DIR = '/etc/danehook';
const SEARCH_PLACES = ['config.yaml', 'config.yml', 'config.json'];
const ALLOWED_EXTENSIONS = new Set(['.yaml', '.yml', '.json', '']);

export interface LoadedConfig {
  config: Config;
  path: string;
  /** The chosen provider's credential (TSIG key or API key), resolved at load: a missing one is 78 before anything runs. */
  secret: ProviderSecret;
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
      return { config, path, secret: resolveProviderSecret(config, raw, opts.env, warnings), warnings };
    } catch (err) {
      return {
        config, path, warnings,
        get secret(): ProviderSecret {
          throw err;
        },
      };
    }
  }
  const secret = resolveProviderSecret(config, raw, opts.env, warnings);
  return { config, path, secret, warnings };
}
