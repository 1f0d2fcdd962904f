/**
 * What a row is: how it wants its server started and probed, what it
 * runs, and what it reports.
 * @module
 */

import type { Check } from "../abuse_report.ts";
import type { Server } from "../gateway_bench.ts";
import type { Kind } from "./common.ts";
import type { Sizes } from "./sizes.ts";

/** How a row wants its server started and probed. */
export interface ServerSetup {
  readonly flags?: readonly string[];
  /** Sent with every probe and request (credentials). */
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM of the CA for HTTPS; absent: plain HTTP. */
  readonly caCert?: string;
  /** The Pushgateway's persistence file, restored at start. */
  readonly pushgatewayFile?: string;
  readonly note?: string;
}

export interface RowEnv {
  readonly kind: Kind;
  readonly dir: string;
  readonly sizes: Sizes;
}

export interface RowContext extends RowEnv {
  readonly server: Server;
  /** `http(s)://127.0.0.1:port` */
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly client: Deno.HttpClient | undefined;
  /** Aborted when the row's cap passes. */
  readonly signal: AbortSignal;
  /** Pushvault's database file. */
  readonly dbPath: string;
  /** The abuse starts now: probes before this are setup, not counted. */
  startAbuse(): void;
}

export interface RowOutcome {
  readonly request: string;
  readonly detail: string;
  readonly figures: Readonly<Record<string, unknown>>;
  /** Pushvault's memory target for this row, if it has one. */
  readonly memoryLimitMiB?: number;
  /** Pushvault's other targets. */
  readonly checks?: readonly Check[];
}

export interface Row {
  readonly id: string;
  readonly title: (sizes: Sizes) => string;
  /** Why the Pushgateway does not run this row, if it does not. */
  readonly pushgatewayNa?: string;
  /** The cap of the whole abuse, setup inside run() included. */
  readonly capMs: (sizes: Sizes) => number;
  readonly setup?: (env: RowEnv) => Promise<ServerSetup>;
  readonly run: (ctx: RowContext) => Promise<RowOutcome>;
}
