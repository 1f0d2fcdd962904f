/**
 * Module workers run from source embedded in the program (compile-safe:
 * nothing is read from disk), through one Blob URL per source. The store's
 * background work uses them: WAL checkpoints (checkpointer.ts) and the
 * start-up integrity check (integrity.ts).
 * @module
 */

const urls = new Map<string, string>();

/** Starts a module worker running `source` and posts it `message`. */
export function startEmbeddedWorker(source: string, message: unknown): Worker {
  let url = urls.get(source);
  if (url === undefined) {
    url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    urls.set(source, url);
  }
  const worker = new Worker(url, { type: "module" });
  worker.postMessage(message);
  return worker;
}
