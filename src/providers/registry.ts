// The explicit provider registry: config `dns.provider` → factory. New providers are added here
// by hand (no dynamic loading: a root hook must not load code named by a config file).
import type { DnsConfig } from '../config/schema.js';
import type { TsigKey } from '../config/tsig-key.js';
import { ConfigError } from '../errors.js';
import { parseHostPort, type HostPort } from '../io/host-port.js';
import { createRfc2136Provider } from './rfc2136/index.js';
import type { DnsProvider } from './types.js';

type Factory = (config: DnsConfig, key: TsigKey, zones: string[]) => DnsProvider;

const PROVIDERS: Record<DnsConfig['provider'], Factory> = {
  rfc2136: (config, key, zones) => createRfc2136Provider({ server: parseServer(config.server), key, timeoutMs: config.timeout, zones }),
};

/** `dns.server` as host and port; port 53 when absent. */
export function parseServer(text: string): HostPort {
  const hp = parseHostPort(text, 53);
  if (!hp) throw new ConfigError(`dns.server: ${JSON.stringify(text)} is not "host:port", "[ipv6]:port" or a host`);
  return hp;
}

/** `zones`: the zones the config names (listConfiguredZones): names inside them need no zone lookup. */
export function createProvider(config: DnsConfig, key: TsigKey, zones: string[] = []): DnsProvider {
  const factory = PROVIDERS[config.provider];
  if (!factory) throw new ConfigError(`dns.provider: unknown provider ${JSON.stringify(config.provider)} (known: ${Object.keys(PROVIDERS).join(', ')})`);
  return factory(config, key, zones);
}
