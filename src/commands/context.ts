// What every command receives: parsed options, environment, logger, output and the clock.
// Commands never exit the process; they return an exit code or throw a DanehookError.
import type { Logger } from '../log.js';

export interface CommandOptions {
  config?: string;
  json: boolean;
  dryRun: boolean;
  force: boolean;
  retry: boolean;
  id?: string;
  pem?: string;
  cert?: string;
  chain?: string;
  key?: string;
  /** deploy: the certificate the service presents now, stated by the operator. */
  liveCert?: string;
  wait: boolean;
  detach: boolean;
  offline: boolean;
  /** next-key: write a CSR for the next key and print its path instead of the key's. */
  csr?: boolean;
  /** check: an RRSIG or certificate expiring within this many days is a WARNING. */
  warnDays?: number;
  /** check: write a node_exporter textfile here. */
  prometheus?: string;
  args: string[];
}

export interface CommandContext {
  options: CommandOptions;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Result output (stdout). */
  out: (text: string) => void;
  now: () => Date;
}

export type Command = (ctx: CommandContext) => Promise<number>;
