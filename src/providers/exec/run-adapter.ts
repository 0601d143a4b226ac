// One adapter run: argv without a shell, request on stdin, reply from stdout, in a process group of
// its own so that a timeout stops the adapter AND whatever it started (SIGTERM, then SIGKILL).
// Reports what happened; reply.ts decides what it means. Bounded in time and memory.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunAdapterOptions {
  /** argv; the first element an absolute path (the config schema insists). */
  command: string[];
  input: string;
  /** The adapter's whole environment (nothing is inherited). */
  env: Record<string, string>;
  timeoutMs: number;
  /** After SIGTERM, how long the group gets before SIGKILL. */
  killGraceMs: number;
  /** stdout beyond this is a runaway adapter: it is killed and its output dropped. */
  maxStdoutBytes: number;
  /** At most this much of stderr goes to the log per run; the rest is counted. */
  maxStderrBytes: number;
  onStderrLine: (line: string) => void;
}

export interface AdapterOutcome {
  /** The adapter could not be started (ENOENT, EACCES, …). */
  spawnError?: NodeJS.ErrnoException;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  timedOut: boolean;
  /** stdout exceeded maxStdoutBytes (the adapter was killed). */
  overflow: boolean;
  /** The last stderr lines, for error messages. */
  stderrTail: string[];
  ms: number;
}

const TAIL_LINES = 5;
const MAX_LINE = 1000;

export function runAdapter(opts: RunAdapterOptions): Promise<AdapterOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const [file, ...args] = opts.command;
    const chunks: Buffer[] = [];
    let stdoutBytes = 0;
    let overflow = false;
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let stderrLogged = 0;
    let stderrDropped = 0;
    let partial = '';
    const tail: string[] = [];
    const timers: NodeJS.Timeout[] = [];
    let done = false;

    // detached: setsid(2), so the adapter leads a new process group whose id is its pid.
    let child: ChildProcess;
    try {
      child = spawn(file!, args, { env: opts.env, detached: true, shell: false, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ spawnError: err as NodeJS.ErrnoException, exitCode: null, signal: null, stdout: Buffer.alloc(0), timedOut: false, overflow: false, stderrTail: [], ms: 0 });
      return;
    }

    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* ESRCH: the group is gone already */
      }
    };
    // SIGTERM now; SIGKILL for whatever ignores it; and a hard stop for our side, so a process that
    // escaped the group (setsid) while holding our pipes cannot keep the run waiting.
    const stopGroup = () => {
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs));
      timers.push(setTimeout(() => finish(), opts.killGraceMs + 500));
    };

    const noteLine = (raw: string) => {
      const line = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}…` : raw;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (stderrLogged + line.length <= opts.maxStderrBytes) {
        stderrLogged += line.length;
        opts.onStderrLine(line);
      } else {
        stderrDropped += raw.length;
      }
    };

    function finish() {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      if (partial) noteLine(partial);
      if (stderrDropped > 0) opts.onStderrLine(`(${stderrDropped} more bytes of adapter stderr not logged)`);
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      resolve({
        spawnError,
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: Buffer.concat(chunks),
        timedOut,
        overflow,
        stderrTail: tail,
        ms: Date.now() - started,
      });
    }

    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Without a pid it never started; otherwise a later error (kill failed) changes nothing.
      if (child.pid === undefined) {
        spawnError = err;
        finish();
      }
    });

    child.stdout!.on('data', (d: Buffer) => {
      if (overflow) return;
      stdoutBytes += d.length;
      if (stdoutBytes > opts.maxStdoutBytes) {
        overflow = true;
        chunks.length = 0;
        stopGroup();
        return;
      }
      chunks.push(d);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      // A line without end must not grow without bound either.
      if (partial.length > MAX_LINE) { noteLine(partial); partial = ''; }
      for (const l of lines) noteLine(l.replace(/\r$/, ''));
    });
    // An adapter that exits without reading its input makes writing fail with EPIPE: not our error.
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input);

    timers.push(
      setTimeout(() => {
        timedOut = true;
        stopGroup();
      }, opts.timeoutMs),
    );

    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // One run per request: anything the adapter left running in its group is a stray. If it holds
      // our pipes, 'close' waits for it, so it is stopped like a timeout would stop it.
      if (!timedOut && !overflow) stopGroup();
    });
    child.on('close', () => finish());
  });
}
