// Human log lines with timestamps on stderr (stdout is reserved for results, e.g. --json).
// One logger per run; levels follow -q/-v.

export type LogLevel = 'quiet' | 'normal' | 'verbose';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const line = (tag: string, message: string) => write(`${new Date().toISOString()} danehook ${tag}${message}\n`);
  return {
    info: (m) => { if (level !== 'quiet') line('', m); },
    warn: (m) => line('warning: ', m),
    error: (m) => line('error: ', m),
    debug: (m) => { if (level === 'verbose') line('debug: ', m); },
  };
}
