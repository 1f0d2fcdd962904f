/**
 * `--web.config.file` watched while Pushvault runs: the file (and the
 * certificate files it names) re-read when it changes, the new
 * configuration used only once it is whole and valid (docs/security.md).
 * @module
 */

import {
  loadWebConfig,
  tlsListenerShape,
  type WebConfig,
  WebConfigError,
} from "./web_config.ts";

export interface WebConfigWatcherOptions {
  readonly file: string;
  /** The configuration loaded at start. */
  readonly initial: WebConfig;
  /** Called with the new configuration once it is in force. */
  readonly onReload: (config: WebConfig) => void;
  /** Called with the reason when a changed file cannot be used. */
  readonly onError: (error: WebConfigError) => void;
  readonly readTextFile?: (path: string) => string;
}

/**
 * Keeps the configuration in force and re-reads the file (and the
 * certificate files it names) when their size, mtime or inode change. A
 * file that cannot be used leaves the last good configuration in force.
 *
 * A changed file is read once it has stayed the same from one check to the
 * next, and used only if it did not change while being read: a file caught
 * half written (a writer truncates, then writes) is never used, which for
 * a file caught empty would mean no authentication at all.
 */
export class WebConfigWatcher implements Disposable {
  #current: WebConfig;
  #stamps: string;
  /** A change seen at the last check, read if the next finds it the same. */
  #settling: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #options: WebConfigWatcherOptions;

  constructor(options: WebConfigWatcherOptions) {
    this.#options = options;
    this.#current = options.initial;
    this.#stamps = stamps(options.initial.files);
  }

  get current(): WebConfig {
    return this.#current;
  }

  /** Polls every `intervalMs` (the toolkit re-reads on every request). */
  start(intervalMs: number): void {
    this.stop();
    this.#timer = setInterval(() => this.check(), intervalMs);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Reloads if a watched file changed and has stayed the same since the
   * previous check. Returns whether it reloaded.
   */
  check(): boolean {
    const now = stamps(this.#current.files);
    if (now === this.#stamps) {
      this.#settling = undefined;
      return false;
    }
    if (now !== this.#settling) {
      this.#settling = now;
      return false;
    }
    this.#settling = undefined;
    return this.reload();
  }

  /**
   * Re-reads the file now. False if it cannot be used (and onError), or if
   * it changed while being read (then the next checks read it again).
   */
  reload(): boolean {
    const { file } = this.#options;
    // Stamped before reading: what was read is compared with it, and a
    // file that changes after it differs at the next check. Stamped after,
    // a write that ended during the read would go unseen.
    const stamped = new Map(
      [file, ...this.#current.files].map((f) => [f, stampOf(f)]),
    );
    const stampsBefore = (files: readonly string[]) =>
      files.map((f) => stamped.get(f) ?? stampOf(f)).join("|");
    const changedWhileRead = () => stampOf(file) !== stamped.get(file);
    // Kept unless the new version is used: a next check that finds the files
    // otherwise reads them again.
    this.#stamps = stampsBefore(this.#current.files);
    let next: WebConfig;
    try {
      next = loadWebConfig(file, {
        ...(this.#options.readTextFile
          ? { readTextFile: this.#options.readTextFile }
          : {}),
      });
      const before = tlsListenerShape(this.#current);
      const after = tlsListenerShape(next);
      if (before !== after) {
        throw new WebConfigError(
          file,
          "tls_server_config",
          `the listener runs with ${before} and would need ${after}: TLS on/off, client_auth_type and min/max_version change only at a restart; the previous configuration stays in force`,
        );
      }
    } catch (error) {
      // Torn, not broken: read again once it settles, nothing reported.
      if (changedWhileRead()) return false;
      if (error instanceof WebConfigError) {
        this.#options.onError(error);
        return false;
      }
      throw error;
    }
    if (changedWhileRead()) return false;
    this.#current = next;
    this.#stamps = stampsBefore(next.files);
    this.#options.onReload(next);
    return true;
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

function stamps(files: readonly string[]): string {
  return files.map(stampOf).join("|");
}

/** What tells one version of a file from the next: inode, size, mtime. */
function stampOf(file: string): string {
  try {
    const s = Deno.statSync(file);
    return `${s.ino}:${s.size}:${s.mtime?.getTime()}`;
  } catch {
    return "missing";
  }
}
