// The exec provider (issue 14): an adapter program speaking JSON on stdin/stdout. Placeholder until
// built: same shape as rfc2136/index.ts.
import { UnavailableError } from '../../errors.js';
import type { HostPort } from '../../io/host-port.js';
import type { DnsProvider } from '../types.js';
import type { ExecConfig } from './config.js';

export interface ExecOptions {
  command: ExecConfig['command'];
  /** Per adapter run (dns.exec.timeout). */
  timeoutMs: number;
  /** Names of the variables passed on (dns.exec.env). */
  passEnv: string[];
  /** danehook's environment: only `passEnv` names are taken from it. */
  env: NodeJS.ProcessEnv;
  /** The primary's DNS address (dns.server). */
  server: HostPort;
  zones: string[];
}

export function createExecProvider(_opts: ExecOptions): DnsProvider {
  throw new UnavailableError('dns.provider exec is not built yet');
}
