// The explicit provider registry: config `dns.provider` → factory. New providers are added here
// by hand (no dynamic loading: a root hook must not load code named by a config file). Each
// provider is one folder of the same shape: config.ts (its config section) and index.ts (factory).
import type { DnsConfig } from '../config/schema.js';
import type { ProviderSecret } from '../config/provider-secret.js';
import { ConfigError } from '../errors.js';
import { parseHostPort, type HostPort } from '../io/host-port.js';
import type { Logger } from '../log.js';
import type { DnsProvider } from './types.js';

export interface ProviderInputs {
  dns: DnsConfig;
  secret: ProviderSecret;
  /** The zones the config names (listConfiguredZones): names inside them need no zone lookup. */
  zones: string[];
  /** The process environment (exec passes on only the variables its config names). */
  env: NodeJS.ProcessEnv;
  /** The run's logger (exec logs its adapter's stderr there). */
  log?: Logger;
}

type Factory = (inputs: ProviderInputs) => Promise<DnsProvider>;

// Loaded on demand: a run that never writes DNS (status, the cron no-op) pays for none of them.
const PROVIDERS: Record<DnsConfig['provider'], Factory> = {
  rfc2136: async ({ dns, secret, zones }) =>
    (await import('./rfc2136/index.js')).createRfc2136Provider({ server: parseServer(dns.server), key: secret.tsig!, timeoutMs: dns.timeout, zones }),
  powerdns: async ({ dns, secret, zones }) =>
    (await import('./powerdns/index.js')).createPowerDnsProvider({ ...dns.powerdns!, apiKey: secret.apiKey!, server: parseServer(dns.server), timeoutMs: dns.timeout, zones }),
  exec: async ({ dns, zones, env, log }) =>
    (await import('./exec/index.js')).createExecProvider({ command: dns.exec!.command, timeoutMs: dns.exec!.timeout, passEnv: dns.exec!.env, env, server: parseServer(dns.server), zones, dnsTimeoutMs: dns.timeout, log }),
};

/** `dns.server` as host and port; port 53 when absent. */
export function parseServer(text: string): HostPort {
  const hp = parseHostPort(text, 53);
  if (!hp) throw new ConfigError(`dns.server: ${JSON.stringify(text)} is not "host:port", "[ipv6]:port" or a host`);
  return hp;
}

export function createProvider(inputs: ProviderInputs): Promise<DnsProvider> {
  const factory = PROVIDERS[inputs.dns.provider];
  if (!factory) throw new ConfigError(`dns.provider: unknown provider ${JSON.stringify(inputs.dns.provider)} (known: ${Object.keys(PROVIDERS).join(', ')})`);
  return factory(inputs);
}
