// Run an operator's command (reload, activate) as argv — never through a shell — with a timeout.
// Failure or timeout is an UnavailableError carrying the command's last output lines.
import { UnavailableError } from '../errors.js';

export async function runServiceCommand(argv: string[], opts: { timeoutMs: number; env?: Record<string, string>; what: string }): Promise<void> {
  const { execa } = await import('execa');
  const [file, ...args] = argv;
  const result = await execa(file!, args, { timeout: opts.timeoutMs, env: opts.env, reject: false, all: true, stdin: 'ignore', forceKillAfterDelay: 2000 });
  if (result.failed) {
    const tail = String(result.all ?? '').trim().split('\n').slice(-3).join(' | ');
    const why = result.timedOut ? `timed out after ${opts.timeoutMs} ms` : result.exitCode !== undefined ? `exited with ${result.exitCode}` : result.originalMessage ?? 'failed';
    throw new UnavailableError(`${opts.what} (${argv.join(' ')}) ${why}${tail ? `: ${tail}` : ''}`);
  }
}
