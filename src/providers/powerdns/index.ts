// The PowerDNS Authoritative HTTP API provider (issue 14). Placeholder until built: same shape as
// rfc2136/index.ts.
import { UnavailableError } from '../../errors.js';
import type { HostPort } from '../../io/host-port.js';
import type { DnsProvider } from '../types.js';
import type { PowerDnsConfig } from './config.js';

export interface PowerDnsOptions extends PowerDnsConfig {
  apiKey: string;
  /** The primary's DNS address (dns.server). */
  server: HostPort;
  timeoutMs: number;
  zones: string[];
}

export function createPowerDnsProvider(_opts: PowerDnsOptions): DnsProvider {
  throw new UnavailableError('dns.provider powerdns is not built yet');
}
