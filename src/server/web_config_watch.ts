/**
 * `--web.config.file` at start-up and while running: read once before the
 * database opens (a bad file changes nothing), then watched, each reload
 * updating the TLS listeners and the reload metrics.
 * @module
 */

import type { SelfMetrics } from "../http/self_metrics.ts";
import type { NodeListener } from "../http/tls_server.ts";
import type { WebConfig } from "../http/web_config.ts";
import type { WebConfigWatcher } from "../http/web_config_watcher.ts";
import { OPEN_WEB_CONFIG } from "../http/web_config_defaults.ts";
import type { Logger } from "../log.ts";

/**
 * The parser of web configurations, with YAML: loaded by the first start
 * that names a file, so a server without one never loads it.
 */
let parser: typeof import("../http/web_config.ts") | undefined;
let watching: typeof import("../http/web_config_watcher.ts") | undefined;

/**
 * The web configuration to start with; open when there is no file. A file
 * that cannot be used is refused here, before anything listens.
 */
export async function readWebConfig(
  file: string,
  logger: Logger,
): Promise<WebConfig> {
  if (file === "") return OPEN_WEB_CONFIG;
  parser ??= await import("../http/web_config.ts");
  watching ??= await import("../http/web_config_watcher.ts");
  const config = parser.loadWebConfig(file);
  for (const warning of config.warnings) logger.warn(warning, { file });
  return config;
}

/** The watcher of `file`, not yet started; undefined without a file. */
export function watchWebConfig(
  file: string,
  initial: WebConfig,
  to: {
    readonly logger: Logger;
    readonly metrics: SelfMetrics;
    /** Filled once listening; each reload updates them. */
    readonly tlsListeners: readonly NodeListener[];
  },
): WebConfigWatcher | undefined {
  if (file === "") return undefined;
  if (watching === undefined) throw new Error("readWebConfig() comes first");
  const { logger, metrics, tlsListeners } = to;
  const watcher = new watching.WebConfigWatcher({
    file,
    initial,
    onReload: (next: WebConfig) => {
      for (const listener of tlsListeners) {
        if (next.tls) listener.update(next.tls);
      }
      for (const warning of next.warnings) logger.warn(warning, { file });
      metrics.webConfigReloadOk = true;
      metrics.countLabeled("pushvault_web_config_reloads_total", "success");
      logger.info("web configuration reloaded", {
        file,
        users: next.users.size,
        tls: next.tls !== undefined,
      });
    },
    onError: (error) => {
      metrics.webConfigReloadOk = false;
      metrics.countLabeled("pushvault_web_config_reloads_total", "failure");
      logger.error(
        "web configuration not reloaded, the previous one stays in force",
        { err: error.message },
      );
    },
  });
  metrics.webConfigReloadOk = true;
  return watcher;
}
