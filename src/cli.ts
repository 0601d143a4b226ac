#!/usr/bin/env node
// danehook's command line: argv → command → exit code. The only place that calls process.exit;
// every error becomes one line on stderr and the sysexits code of DESIGN.md.
import { parseArgs } from 'node:util';
import { createLogger, type LogLevel } from './log.js';
import { DanehookError, ExitCode, toDanehookError, UsageError } from './errors.js';
import type { Command, CommandOptions } from './commands/context.js';

const USAGE = `usage: danehook <pre-deploy|deploy|post-deploy|status|plan|next-key|dkim|check> [options]
  -c, --config FILE    config (else $DANEHOOK_CONFIG, else /etc/danehook/config.{yaml,yml,json})
  --json               machine-readable result on stdout (logs stay on stderr)
  -v, --verbose | -q, --quiet
  --dry-run            deploy/post-deploy: print the plan and the steps, write nothing
  --id ID              which certificates[] entry
  --pem FILE | --cert FILE [--chain FILE] [--key FILE]    (none: the ACME client's environment)
  deploy: --wait (block until done) | --detach (finish in a detached background process) | --retry
          --live-cert FILE|none (what the service presents now, when danehook cannot probe it)
  plan:   --offline (no DNS queries: desired records only)
  next-key --id ID [--csr] [--print-path]: print the path of the key the next renewal should use
          (generated and announced if there is none), or with --csr write a CSR for it and print
          that path: lego --csr "$(danehook next-key --id mx --csr)" run ...
  dkim rotate --id ID: start a DKIM key rotation now; dkim show --id ID: the TXT records
  check [--id ID] [--json] [--prometheus FILE] [--warn-days N]: is every RRset served, signed and
          matched by every endpoint now? Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (plugin convention)
  --force              apply a plan that violates a safety check (use with care)
exit codes: 0 ok, 64 usage, 65 bad data, 69 unavailable, 70 internal, 74 I/O, 75 temporary,
            76 DNS protocol error, 77 refused, 78 configuration`;

// Commands load lazily so a no-op post-deploy does not pay for certificate parsing.
const COMMANDS: Record<string, () => Promise<Command>> = {
  plan: async () => (await import('./commands/plan.js')).planCommand,
  'pre-deploy': async () => (await import('./commands/pre-deploy.js')).preDeployCommand,
  deploy: async () => (await import('./commands/deploy.js')).deployCommand,
  'post-deploy': async () => (await import('./commands/post-deploy.js')).postDeployCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  'next-key': async () => (await import('./commands/next-key.js')).nextKeyCommand,
  dkim: async () => (await import('./commands/dkim.js')).dkimCommand,
  check: async () => (await import('./commands/check.js')).checkCommand,
};

function parseWarnDays(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--warn-days ${text}: give a number of days`);
  return n;
}

function parse(argv: string[]): { command: string | undefined; options: CommandOptions; level: LogLevel; help: boolean; version: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean', default: false },
        verbose: { type: 'boolean', short: 'v', default: false },
        quiet: { type: 'boolean', short: 'q', default: false },
        'dry-run': { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        retry: { type: 'boolean', default: false },
        id: { type: 'string' },
        pem: { type: 'string' },
        cert: { type: 'string' },
        chain: { type: 'string' },
        key: { type: 'string' },
        'live-cert': { type: 'string' },
        wait: { type: 'boolean', default: false },
        detach: { type: 'boolean', default: false },
        offline: { type: 'boolean', default: false },
        csr: { type: 'boolean', default: false },
        'warn-days': { type: 'string' },
        prometheus: { type: 'string' },
        'print-path': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see danehook --help`);
  }
  const v = parsed.values;
  const [command, ...args] = parsed.positionals;
  if (v.wait && v.detach) throw new UsageError('give --wait or --detach, not both');
  if (v.verbose && v.quiet) throw new UsageError('give --verbose or --quiet, not both');
  return {
    command,
    help: v.help,
    version: v.version,
    level: v.quiet ? 'quiet' : v.verbose ? 'verbose' : 'normal',
    options: {
      config: v.config, json: v.json, dryRun: v['dry-run'], force: v.force, retry: v.retry, id: v.id,
      pem: v.pem, cert: v.cert, chain: v.chain, key: v.key, liveCert: v['live-cert'], wait: v.wait, detach: v.detach, offline: v.offline, csr: v.csr, args,
      ...(v['warn-days'] !== undefined ? { warnDays: parseWarnDays(v['warn-days']) } : {}), ...(v.prometheus ? { prometheus: v.prometheus } : {}),
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  let log = createLogger('normal');
  try {
    const { command, options, level, help, version } = parse(argv);
    log = createLogger(level);
    if (version) {
      process.stdout.write('danehook 0.1.0\n');
      return ExitCode.ok;
    }
    if (help || !command) {
      (help ? process.stdout : process.stderr).write(USAGE + '\n');
      return help ? ExitCode.ok : ExitCode.usage;
    }
    // A timer-driven post-deploy with nothing due must be cheap: decide that before loading anything heavy.
    if (command === 'post-deploy' && !options.wait && !options.dryRun && !options.id && options.args.length === 0) {
      const { isNothingDue } = await import('./commands/noop-check.js');
      if (await isNothingDue({ config: options.config, env: process.env, now: new Date() })) {
        log.debug('nothing is due (fast path)');
        return ExitCode.ok;
      }
    }
    const load = COMMANDS[command];
    if (!load) throw new UsageError(`unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
    const run = await load();
    return await run({ options, env: process.env, log, out: (t) => process.stdout.write(t), now: () => new Date() });
  } catch (err) {
    const e: DanehookError = toDanehookError(err);
    log.error(e.message.replace(/\s*\n\s*/g, ' '));
    if (e.hint) log.info(`hint: ${e.hint}`);
    if (e.exitCode === ExitCode.internal && err instanceof Error && err.stack) log.debug(err.stack);
    return e.exitCode;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`danehook: fatal: ${String(err)}\n`);
    process.exit(ExitCode.internal);
  },
);
