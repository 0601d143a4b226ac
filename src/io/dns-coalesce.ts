// Lookups started in the same turn of the event loop are handed over as one batch: apply() asks
// for the zones of a thousand names at once, and one pipelined connection can answer them all.

/**
 * `lookup(key)` resolves with the batch's result for key. Keys asked for while a turn is open are
 * collected (each once) and given to `flush` together at setImmediate; `flush` returns one result
 * or error per key, in order.
 */
export function createCoalescer<T>(flush: (keys: string[]) => Promise<(T | Error)[]>): (key: string) => Promise<T> {
  type Waiter = { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };
  let open: Map<string, Waiter> | undefined;

  const run = (batch: Map<string, Waiter>): void => {
    const keys = [...batch.keys()];
    flush(keys).then(
      (results) => keys.forEach((k, i) => {
        const r = results[i];
        if (r instanceof Error) batch.get(k)!.reject(r);
        else batch.get(k)!.resolve(r as T);
      }),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
  };

  return (key: string): Promise<T> => {
    if (!open) {
      const batch = (open = new Map());
      setImmediate(() => {
        open = undefined;
        run(batch);
      });
    }
    let w = open.get(key);
    if (!w) {
      let resolve!: (v: T) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
      w = { promise, resolve, reject };
      open.set(key, w);
    }
    return w.promise;
  };
}
