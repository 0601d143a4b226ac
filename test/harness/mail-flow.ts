// A steady stream of test mail through a DANE sender, plus one message the instant the receiver
// is first seen serving a new key: the moment a rollover is most likely to fail.
import type { DaneSender } from './dane-sender.js';
import { fetchPresented } from './outage-monitor.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MailFlow {
  /** Messages submitted so far. */
  readonly submitted: number;
  /** Of those, sent the moment the receiver was first seen serving a new key. */
  readonly atKeyChange: number;
  /** Each new key the watched endpoint served (SPKI SHA-256) and when it was first seen (ms since epoch). */
  readonly keyChanges: readonly { spki: string; at: number }[];
  /** Stop submitting (after the one in flight); resolves to the number submitted. */
  stop(): Promise<number>;
}

export interface MailFlowOptions {
  everyMs?: number;
  label?: string;
  /** Also watch what this SMTP endpoint presents (every 100 ms) and send one message as soon as its key changes. */
  watch?: { host: string; port: number };
}

/**
 * I/O: submit one message every `everyMs` until stopped. With `watch`, one more message goes out
 * the moment a new key is served: the instant a rollover is most likely to fail (a cache may
 * still hold an RRset without the new key), which a fixed beat could step over.
 */
export function startMailFlow(sender: DaneSender, opts: MailFlowOptions = {}): MailFlow {
  const everyMs = opts.everyMs ?? 500;
  let submitted = 0;
  let atKeyChange = 0;
  const keyChanges: { spki: string; at: number }[] = [];
  let stopped = false;
  const submit = async (what: string) => {
    submitted++;
    await sender.submit(`${opts.label ?? 'flow'} message ${submitted} ${what}`);
  };
  const beat = (async () => {
    while (!stopped) {
      const began = Date.now();
      await submit('(beat)');
      await sleep(Math.max(0, everyMs - (Date.now() - began)));
    }
  })();
  const watcher = (async () => {
    if (!opts.watch) return;
    let last: string | undefined;
    while (!stopped) {
      const p = await fetchPresented({ ...opts.watch, mode: 'smtp' }).catch(() => undefined);
      if (p && last !== undefined && p.spkiSha256 !== last) {
        keyChanges.push({ spki: p.spkiSha256, at: Date.now() });
        atKeyChange++;
        await submit('(key change)');
      }
      if (p) last = p.spkiSha256;
      await sleep(100);
    }
  })();
  const loop = Promise.all([beat, watcher]);
  loop.catch(() => undefined); // reported by stop(), not as an unhandled rejection meanwhile
  return {
    get submitted() {
      return submitted;
    },
    get atKeyChange() {
      return atKeyChange;
    },
    keyChanges,
    async stop() {
      stopped = true;
      await loop;
      return submitted;
    },
  };
}
