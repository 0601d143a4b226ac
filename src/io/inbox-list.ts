// The inbox's listing alone: one readdir, nothing else loaded, because the no-op post-deploy asks
// it on every timer tick. Raw errors: io/inbox.ts words them for the other callers.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { INBOX_NAME } from '../core/inbox-item.js';

export const INBOX_DIR = 'inbox';

/** Queued items in arrival order; an absent inbox is empty. Temp files of writers are skipped. */
export function readInboxNames(stateDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(stateDir, INBOX_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => INBOX_NAME.test(n)).sort();
}
