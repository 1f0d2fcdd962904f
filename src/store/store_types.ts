/**
 * What the store is given and what it answers: its options, a push, an
 * import, the request a history row describes, a push's outcome
 * (docs/architecture.md). The store's own modules import these from here;
 * everyone else from store.ts, which re-exports them.
 * @module
 */

import type { MetricFamily } from "../exposition/model.ts";
import type { OwnFamily } from "../push/consistency.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import type { SyncMode } from "./open_database.ts";
import type { GaugeMode } from "../push/aggregate.ts";
import type { PreparedFamily } from "../push/prepare.ts";

export interface StoreOptions {
  /** Database file; "" or ":memory:" keeps everything in memory. */
  readonly path: string;
  /** `normal` survives a killed process; `full` survives power loss too. */
  readonly sync?: SyncMode;
  /** The gateway's own families, for the consistency rules (docs/compatibility.md). */
  readonly ownFamilies?: ReadonlyMap<string, OwnFamily>;
  /**
   * Run `PRAGMA quick_check` before anything else and refuse a damaged file
   * (docs/operations.md, "Faults"). Costs about one read of the file.
   */
  readonly integrityCheck?: boolean;
  /**
   * Caps the database at this many pages (`PRAGMA max_page_count`, per
   * connection): past it every write fails as on a full disk. For the fault
   * tests; see Store.setMaxPageCount.
   */
  readonly maxPageCount?: number;
  /**
   * false for `--history.retention=0`: a write removes what it replaces (the
   * group's superseded families, their samples, its earlier pushes) in its
   * own transaction, instead of leaving them for maintenance.
   */
  readonly keepHistory?: boolean;
  /**
   * Pushes prepared on the push worker with at least this many sample rows
   * are written on a second connection, a slice at a time (default
   * ASIDE_MIN_ROWS, group_commit.ts); for the tests.
   */
  readonly asideMinRows?: number;
  /** Hears a line now and then while a long migration runs at open. */
  readonly onMigrationProgress?: (message: string) => void;
  /**
   * Told when a write fails for lack of room (a full disk, or the fault
   * tests' page cap), so that history can be pruned to make room (README
   * "Disk full").
   */
  readonly onOutOfRoom?: () => void;
}

/** How much of the database file is in use (pages × page size). */
export interface DiskUsage {
  /** The file's size, the WAL not included. */
  readonly fileBytes: number;
  /** Free pages: reused by the next writes before the file grows. */
  readonly freeBytes: number;
}

/** What the request looked like, for the `pushes` history row. */
export interface RequestInfo {
  readonly path: string;
  readonly contentType: string | null;
  readonly bodyBytes: number;
  readonly remoteAddr: string | null;
  readonly userAgent: string | null;
}

export interface PushCommand {
  readonly method: "PUT" | "POST";
  readonly key: GroupingKey;
  /** Sanitized families (push/validate.ts). */
  readonly families: readonly MetricFamily[];
  /**
   * The series keys of each family, as `families` (the push pipeline's);
   * computed from `families` when absent. A refused push prepared on the
   * push worker names its series from these.
   */
  readonly keys?: readonly (readonly string[])[] | undefined;
  /** Per family: whether its keys are known all different. */
  readonly distinct?: readonly boolean[] | undefined;
  /** `families` prepared for writing, when done already (the push worker). */
  readonly prepared?: readonly PreparedFamily[];
  /**
   * `--storage.max-series`: series the store may hold, metadata series
   * included; 0 or absent, no limit. Checked in the transaction, against
   * the view as the pushes committed before this one left it.
   */
  readonly maxSeries?: number;
  /** Problems found by validation; any of them refuses the push. */
  readonly problems: readonly string[];
  readonly seriesCount: number;
  readonly checkConsistency: boolean;
  /** Unix seconds when the request arrived. */
  readonly time: number;
  readonly request: RequestInfo;
  /**
   * Seconds this group may stay without a successful push (Pushvault-TTL
   * header); null clears it (back to the --group.ttl default); undefined
   * leaves it as it is.
   */
  readonly ttl?: number | null;
  /**
   * Set for a push to an aggregating group (`/aggregate/metrics/job/…`,
   * README "Aggregating groups"): what it pushes is added to the group.
   */
  readonly aggregate?: { readonly gauge: GaugeMode };
}

/** One group for Store.importGroups, families already sanitized. */
export interface ImportCommand {
  readonly key: GroupingKey;
  readonly pushTime: number;
  readonly failureTime: number;
  readonly families: readonly MetricFamily[];
  readonly problems: readonly string[];
  /** Series the group carries, for its IMPORT row in `pushes`. */
  readonly seriesCount: number;
}

/** A family with its metrics, as the API and the UI show it. */
export interface LoadedFamily {
  readonly family: MetricFamily;
  /** Unix seconds of the push that wrote it. */
  readonly pushedAt: number;
}

export interface PushOutcome {
  /**
   * 200 accepted, 202 accepted unchecked (or silently refused), 400
   * refused, 409 a push of the other kind than its group's.
   */
  readonly status: 200 | 202 | 400 | 409;
  readonly error?: string;
}
