// Runs a daemon in the foreground under our control: log captured to a file, readiness polled,
// stopped by its own PID (SIGTERM, then SIGKILL), log printed when something went wrong.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** True once the process has exited (by itself or by stop()). */
  readonly exited: boolean;
  /** True when it exited without us asking: a crash the test should hear about. */
  readonly crashed: boolean;
  log(): string;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  name: string;
  command: string;
  args: string[];
  logPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves true once the daemon serves; polled until timeoutMs. */
  ready: () => Promise<boolean>;
  timeoutMs?: number;
}

export function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  // The log file is opened in append mode so a restarted daemon keeps its earlier history.
  const fd = openSync(opts.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  let exited = false;
  let stopping = false;
  let exitInfo = '';
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitInfo = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exited = true;
      exitInfo = String(err);
      resolve();
    });
  });
  const readLog = () => (existsSync(opts.logPath) ? readFileSync(opts.logPath, 'utf8') : '');
  const daemon: Daemon = {
    name: opts.name,
    pid: child.pid ?? -1,
    logPath: opts.logPath,
    get exited() {
      return exited;
    },
    get crashed() {
      return exited && !stopping;
    },
    log: readLog,
    async stop() {
      if (exited) return;
      stopping = true;
      child.kill('SIGTERM');
      const done = await Promise.race([exitPromise.then(() => true), sleep(5000, undefined, { ref: false }).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exitPromise;
      }
    },
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 15000);
  for (;;) {
    if (exited) {
      throw new Error(`${opts.name} exited (${exitInfo}) before it was ready; log ${opts.logPath}:\n${tail(readLog())}`);
    }
    if (await opts.ready().catch(() => false)) return daemon;
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`${opts.name} not ready after ${opts.timeoutMs ?? 15000} ms; log:\n${tail(readLog())}`);
    }
    await sleep(50);
  }
}

/** Polls `check` until it returns true or the time is up; returns whether it became true. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10000, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Is a process with this pid still there (EPERM: it exists but belongs to someone else)? */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Gone: no such process, or a zombie waiting for an init that may not reap it here (PID 1 is not always an init). */
export function isPidGone(pid: number): boolean {
  if (!isPidAlive(pid)) return true;
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
