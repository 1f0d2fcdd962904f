/**
 * What the server needs of the web configuration when none is given: kept
 * apart from web_config.ts, which loads the YAML parser (about 5 MB idle)
 * and is imported only with --web.config.file.
 * @module
 */

import type { WebConfig } from "./web_config.ts";

/** The configuration when there is no --web.config.file. */
export const OPEN_WEB_CONFIG: WebConfig = {
  tls: undefined,
  http2: true,
  headers: [],
  users: new Map(),
  rateLimit: undefined,
  warnings: [],
  files: [],
};

/**
 * The toolkit's fixed hash of "fakepassword": compared against when the user
 * is unknown, so that timing does not tell which users exist.
 */
export const FAKE_HASH =
  "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
