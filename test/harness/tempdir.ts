// Per-test temp directories and the cleanup contract shared by every start*() helper: stop our
// processes, print their logs if the test failed, then delete the directory.
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tail, type Daemon } from './process.js';

/** What the harness needs from a node:test TestContext or SuiteContext. */
export interface HarnessContext {
  after(fn: () => void | Promise<void>): void;
  /** TestContext has it (Node ≥ 20.12); a SuiteContext does not. */
  readonly passed?: boolean;
  readonly name?: string;
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `danehook-${prefix}-`));
}

/** DANEHOOK_KEEP_TMP=1 keeps temp dirs for debugging; DANEHOOK_TEST_LOGS=1 always prints logs. */
export function registerCleanup(t: HarnessContext, dir: string, daemons: () => Daemon[], extra?: () => Promise<void>): () => Promise<void> {
  let done = false;
  const cleanup = async () => {
    if (done) return;
    done = true;
    const list = daemons();
    const failed = t.passed === false || list.some((d) => d.crashed);
    if (failed || process.env.DANEHOOK_TEST_LOGS === '1') {
      for (const d of list) {
        process.stderr.write(`\n--- ${d.name} (pid ${d.pid}${d.crashed ? ', crashed' : ''}) log ${d.logPath} ---\n${tail(d.log(), 80)}\n`);
      }
    }
    await Promise.all(list.map((d) => d.stop()));
    if (extra) await extra();
    if (process.env.DANEHOOK_KEEP_TMP !== '1') rmSync(dir, { recursive: true, force: true });
  };
  t.after(cleanup);
  return cleanup;
}

/** A HarnessContext for scripts outside node:test (e.g. fixture capture): call close() at the end. */
export function scriptContext(): HarnessContext & { close(): Promise<void> } {
  const fns: (() => void | Promise<void>)[] = [];
  return {
    after: (fn) => void fns.push(fn),
    async close() {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

/** Every regular file under `dir` (recursively) with its permission bits; files that vanish
 * while walking (a run is writing the tree) are skipped; a missing dir is empty. */
export function listFilesUnder(dir: string): { path: string; mode: number }[] {
  const out: { path: string; mode: number }[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else out.push({ path: p, mode: st.mode & 0o777 });
    }
  };
  walk(dir);
  return out;
}
