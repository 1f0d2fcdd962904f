/**
 * The store: owns the one `DatabaseSync` connection, its prepared statements
 * and the in-memory view. Every change is one SQLite transaction, committed
 * before the caller answers; the view changes only after COMMIT
 * (docs/architecture.md).
 *
 * Everything here is synchronous on purpose: no `await` may fall
 * inside a transaction, or another request would run inside ours.
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { MetricFamily } from "../exposition/model.ts";
import type { OwnFamily } from "../push/consistency.ts";
import type { GroupingKey } from "../push/grouping_key.ts";
import { PushError } from "../push/push_error.ts";
import { Checkpointer } from "./checkpointer.ts";
import { hasLitestreamTables } from "./litestream.ts";
import type {
  CheckpointerEvent,
  CheckpointerOptions,
  CheckpointerStats,
} from "./checkpointer.ts";
import type { SyncMode } from "./open_database.ts";
import { errorMessage } from "../error_message.ts";
import type { WriterLock } from "./writer_lock.ts";
import {
  type FamilySampleArray,
  type FamilySampleRow,
  familySampleRow,
  type PagedSampleRow,
} from "./family_pages.ts";
import { type ReadView, View } from "./view.ts";
import { SeriesBound } from "./capacity.ts";
export {
  backupPathBeforeMigration,
  StoreOpenError,
  type SyncMode,
} from "./open_database.ts";
import {
  type SampleDbRow,
  sampleRow,
  type Statements,
  type Writer,
} from "./statements.ts";
import { isOutOfRoom, unavailable } from "./errors.ts";
import {
  ASIDE_MIN_ROWS,
  GroupCommit,
  rollbackQuietly,
} from "./group_commit.ts";
import { pushInTransaction } from "./push_writes.ts";
import {
  type GroupToDelete,
  type InvalidRequest,
  pruneRows,
  writeDelete,
  writeDeletes,
  writeImport,
  writeInvalid,
} from "./commands.ts";
import {
  ASSEMBLE_SLICE,
  assembleFamilies,
  loadGroups,
  type MissingRendered,
  type PendingFamilies,
} from "./loading.ts";
import { capacityRefusal } from "./push_rules.ts";
import { readFamily, type SeriesMemory } from "./row_writers.ts";
import { queryHistory } from "./history_query.ts";
import type { HistoryEntry, HistoryQuery } from "./history_query.ts";
export type { HistoryEntry, HistoryQuery } from "./history_query.ts";
import { encodeRendered } from "../push/rendered_blob.ts";
import { settleWal } from "./litestream_settle.ts";
export { describeCheckpointerEvent } from "./checkpoint_log.ts";
import { describeCheckpointerEvent } from "./checkpoint_log.ts";
import { openStore } from "./store_setup.ts";
import { WriteRetries } from "./read_only.ts";

export type {
  DiskUsage,
  ImportCommand,
  LoadedFamily,
  PushCommand,
  PushOutcome,
  RequestInfo,
  StoreOptions,
} from "./store_types.ts";
import type {
  DiskUsage,
  ImportCommand,
  LoadedFamily,
  PushCommand,
  PushOutcome,
  RequestInfo,
  StoreOptions,
} from "./store_types.ts";

const CHECKPOINT_INTERVAL_MS = 100;

export class Store implements Disposable {
  readonly #db: DatabaseSync;
  readonly #stmt: Statements;
  #view: View;
  readonly #ownFamilies: ReadonlyMap<string, OwnFamily>;
  /** The estimate the series limit is checked with (capacity.ts). */
  readonly #seriesBound = new SeriesBound();
  #viewStale = false;
  /** The queue of pushes waiting for a shared COMMIT (group_commit.ts). */
  readonly #commit: GroupCommit;
  /** The store's connection as the write helpers take it. */
  readonly #main: Writer;
  /** What the row writers remember across writes (see SeriesMemory). */
  readonly #series: SeriesMemory;
  readonly #onOutOfRoom: (() => void) | undefined;
  /** Set when a write failed for lack of room; see {@link takeOutOfRoom}. */
  #outOfRoom = false;
  /** The max_page_count set on the store's connection, for the other one. */
  #maxPageCount: number | undefined;
  readonly path: string;
  readonly #sync: SyncMode;
  readonly #keepHistory: boolean;
  #checkpointer: Checkpointer | undefined;
  /** Litestream replicates the file (see {@link Store.watchLitestream}). */
  #litestream = false;
  #litestreamTimer: ReturnType<typeof setInterval> | undefined;
  #indexTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Set while current families are still to be read into the view (see
   * {@link Store.#assemble}): those after `afterId`, of the groups in `groups`.
   */
  #pending: PendingFamilies | undefined;
  /** Held from before the file is opened until close() (writer_lock.ts). */
  readonly #lock: WriterLock | undefined;
  /**
   * Whether the file can be written: not while it could not be since start
   * (a full disk); reads are served meanwhile (read_only.ts).
   */
  readonly #writes: WriteRetries;

  constructor(options: StoreOptions) {
    const opened = openStore(options);
    this.path = opened.path;
    this.#sync = opened.sync;
    this.#lock = opened.lock;
    this.#db = opened.db;
    this.#stmt = opened.stmt;
    this.#main = opened.main;
    this.#ownFamilies = opened.ownFamilies;
    this.#view = opened.view;
    this.#pending = opened.pending;
    this.#writes = new WriteRetries(opened.db, opened.readOnly);
    this.#maxPageCount = opened.maxPageCount;
    this.#keepHistory = options.keepHistory ?? true;
    this.#series = { keepHistory: this.#keepHistory, cache: new Map() };
    this.#onOutOfRoom = options.onOutOfRoom;
    this.#commit = new GroupCommit({
      path: this.path,
      sync: this.#sync,
      asideMinRows: options.asideMinRows ?? ASIDE_MIN_ROWS,
      db: this.#db,
      stmt: this.#stmt,
      main: this.#main,
      series: this.#series,
      seriesBound: this.#seriesBound,
      liveView: () => this.#liveView,
      settle: () => this.#settle(),
      viewStale: () => this.#viewStale,
      reloadView: () => this.#reloadView(),
      refuseWhileReadOnly: () => this.#writes.refuse(),
      noteOutOfRoom: (error: unknown) => this.#noteOutOfRoom(error),
      maxPageCount: () => this.#maxPageCount,
      backgroundCheckpoints: () => this.#checkpointer !== undefined,
    });
  }

  /**
   * Sets `PRAGMA max_page_count` on the store's own connection (it is per
   * connection) and returns the limit now in force; SQLite never sets it
   * below the current size. For the fault tests: lower it to fill the
   * database, raise it to end the fault.
   */
  setMaxPageCount(pages: number): number {
    const row = this.#db.prepare(`PRAGMA max_page_count = ${Math.floor(pages)}`)
      .get() as { max_page_count: number };
    this.#maxPageCount = row.max_page_count;
    return row.max_page_count;
  }

  /**
   * false while the file could not be written since start (a full disk):
   * scrapes and reads are served, writes throw PushError "unavailable"
   * (docs/operations.md, "Disk full").
   */
  get writable(): boolean {
    return this.#writes.writable;
  }

  /** Why the file cannot be written, while {@link writable} is false. */
  get readOnlyReason(): string | undefined {
    return this.#writes.reason;
  }

  /**
   * While the file cannot be written, tries a write every `intervalMs` (a
   * write request tries too, at most once a second) and tells `onWritable`
   * once one works. No-op when it can be written.
   */
  startWriteRetries(intervalMs: number, onWritable: () => void): void {
    this.#writes.start(intervalMs, onWritable);
  }

  /**
   * The current state, read-only; replaced as a whole only after a failed
   * COMMIT.
   */
  get view(): ReadView {
    return this.#liveView;
  }

  /** The current state, for the store's own changes after a COMMIT. */
  get #liveView(): View {
    this.#settle();
    return this.#view;
  }

  /**
   * PUT or POST, committed alone: checks, commits, then applies to the view.
   * Throws PushError "unavailable" when the database cannot be written.
   */
  push(command: PushCommand): PushOutcome {
    this.#settle();
    this.#commit.flush();
    this.#commit.refuseWhileAside();
    const full = capacityRefusal(this.#liveView, command, this.#seriesBound);
    if (full) throw full;
    const { outcome, apply } = this.#transaction(() =>
      pushInTransaction(this.#main, this.#liveView, this.#series, command)
    );
    apply();
    return outcome;
  }

  /**
   * PUT or POST with group commit (docs/performance.md): pushes that
   * arrive while others wait share one transaction, each in its own
   * SAVEPOINT, each answered only after the shared COMMIT. A push whose own
   * writes fail is rolled back alone; if the COMMIT fails, every push of the
   * batch gets 503 and the view is rebuilt from the database.
   */
  enqueuePush(command: PushCommand): Promise<PushOutcome> {
    return this.#commit.enqueue(command);
  }

  /**
   * DELETE of one group in arrival order (docs/compatibility.md): at once, as
   * {@link deleteGroup}, or, while a large push is written aside, after it
   * and after the pushes queued before it.
   */
  enqueueDelete(
    key: GroupingKey,
    time: number,
    request: RequestInfo,
  ): Promise<void> {
    this.#commit.flush();
    if (!this.#commit.writingAside) {
      try {
        this.deleteGroup(key, time, request);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#commit.enqueueTask({
      task: () => {
        try {
          this.deleteGroup(key, time, request);
          resolve();
        } catch (error) {
          reject(error);
        }
      },
      cancel: reject,
    });
    return promise;
  }

  /**
   * The database is the truth: after a failed COMMIT the view is read anew.
   * If even reading fails (the disk is gone), the view is marked stale and
   * read again before the next write.
   */
  #reloadView(): void {
    this.#series.cache.clear();
    const previous = { view: this.#view, pending: this.#pending };
    try {
      this.#view = new View(this.#ownFamilies);
      this.#pending = loadGroups(this.#stmt, this.#view);
      // At once, unlike at start-up: a read that fails here marks the view
      // stale instead of failing a later request.
      this.#assemble(Infinity);
      this.#viewStale = false;
    } catch {
      this.#view = previous.view;
      this.#pending = previous.pending;
      this.#viewStale = true;
    }
  }

  /** DELETE of one group: 202 whether or not it existed (docs/compatibility.md). */
  deleteGroup(key: GroupingKey, time: number, request: RequestInfo): void {
    this.#commit.flush(); // writes are applied in arrival order
    this.#commit.refuseWhileAside(); // enqueueDelete() waits instead
    const view = this.#liveView;
    const group = view.group(key.id);
    this.#transaction(() =>
      writeDelete(this.#main, view, this.#series, key, group, time, request)
    );
    this.#liveView.removeGroup(key.id);
  }

  /**
   * Deletes every group in one transaction (admin wipe), with a WIPE history
   * row per group, as a bulk delete has: a group's own log then shows what
   * emptied it (README "The database"). A wipe of an empty store leaves one
   * row without a group.
   */
  wipe(time: number, request: RequestInfo): number {
    this.#commit.flush(); // writes are applied in arrival order
    this.#commit.refuseWhileAside();
    const groups = [...this.#liveView.groups()];
    this.#deleteAll(groups, "WIPE", time, request);
    return groups.length;
  }

  /**
   * Deletes the given groups in one transaction, each with a history row of
   * `method` (BULK_DELETE, EXPIRE, WIPE of a scope limited by selectors).
   * Returns the ids actually deleted.
   */
  deleteGroups(
    ids: readonly string[],
    method: "BULK_DELETE" | "EXPIRE" | "WIPE",
    time: number,
    request: RequestInfo,
  ): string[] {
    this.#commit.flush(); // writes are applied in arrival order
    this.#commit.refuseWhileAside();
    const groups = ids.map((id) => this.#liveView.group(id)).filter((g) =>
      g !== undefined
    );
    this.#deleteAll(groups, method, time, request);
    return groups.map((g) => g.id);
  }

  /** Deletes `groups` in one transaction, then from the view. */
  #deleteAll(
    groups: readonly GroupToDelete[],
    method: "WIPE" | "BULK_DELETE" | "EXPIRE",
    time: number,
    request: RequestInfo,
  ): void {
    this.#transaction(() =>
      writeDeletes(
        this.#main,
        this.#liveView,
        this.#series,
        groups,
        method,
        time,
        request,
      )
    );
    for (const group of groups) this.#liveView.removeGroup(group.id);
  }

  /**
   * Imports groups (from a Pushgateway's JSON API) in ONE transaction: each
   * group replaced as by a PUT, keeping its push times and per-family times.
   * If any group breaks a consistency rule, nothing is kept and the error
   * names the group. For the offline `pushvault import` command only: the
   * view is updated as groups go, so after a failure this Store instance must
   * be discarded (the command exits).
   */
  importGroups(groups: readonly ImportCommand[], request: RequestInfo): void {
    this.#settle();
    this.#commit.flush(); // writes are applied in arrival order
    this.#commit.refuseWhileAside();
    this.#transaction(() =>
      writeImport(this.#main, this.#liveView, this.#series, groups, request)
    );
  }

  /**
   * Deletes at most `batch` rows of each kind of history older than `cutoff`
   * (Unix seconds): superseded families and their samples, pushes no current
   * family refers to, deleted groups with nothing left. Returns how many rows
   * went; call again until it returns 0. One short transaction per call, so
   * a push waits at most for one batch.
   */
  pruneHistory(cutoff: number, batch: number): number {
    this.#commit.flush(); // writes are applied in arrival order
    if (this.#commit.writingAside) return 0; // the next run goes on
    return this.#transaction(() => pruneRows(this.#stmt, cutoff, batch));
  }

  /**
   * Records a request refused before it reached the rules (bad URL or body):
   * a history row only, no group change (docs/compatibility.md). Best
   * effort: a database that cannot be written here is not the client's
   * problem.
   */
  recordInvalid(entry: InvalidRequest): void {
    this.#commit.flush(); // writes are applied in arrival order
    if (this.#commit.writingAside) {
      // Behind the large push being written, in order.
      this.#commit.enqueueTask({
        task: () => this.recordInvalid(entry),
        cancel: () => {}, // the history row is lost, as on a failure
      });
      return;
    }
    if (!this.#writes.writable) return; // the history row is lost, as on a failure
    try {
      writeInvalid(this.#main, this.#liveView, entry);
    } catch {
      // The history row is lost; the client still gets its 4xx.
    }
  }

  /**
   * How many `pushes` rows belong to the group with row id `groupRow`,
   * counting no further than `atMost`: what a page reads stays bounded
   * however long the group's history is (README "Web UI").
   */
  countPushes(groupRow: number, atMost: number): number {
    const row = this.#db.prepare(
      "SELECT COUNT(*) AS n FROM (SELECT 1 FROM pushes WHERE group_id = ? LIMIT ?)",
    ).get(groupRow, atMost) as { n: number | bigint } | undefined;
    return Number(row?.n ?? 0);
  }

  /**
   * Pushes from the history, newest first. Matching on grouping labels is the
   * caller's (it knows the matchers); here: one group, a time range, outcome.
   */
  history(query: HistoryQuery = {}): HistoryEntry[] {
    return queryHistory(this.#db, query);
  }

  /**
   * Moves WAL checkpoints to a worker thread (checkpointer.ts), so that a
   * commit only appends to the WAL: the writer's automatic checkpoint is
   * off from here on, whatever the worker meets (it retries). After a long
   * reader the WAL can be gigabytes, and a commit that copied it back would
   * hold every request for seconds (docs/operations.md, "Durability"). `onEvent` hears
   * what the worker reports, with a line to log. No-op for an in-memory
   * database.
   */
  startBackgroundCheckpoints(
    onEvent: (message: string, event: CheckpointerEvent) => void,
    options: Partial<
      Omit<CheckpointerOptions, "path" | "sync" | "onEvent">
    > = {},
  ): void {
    if (this.path === ":memory:" || this.#checkpointer) return;
    if (this.#writes.exclusive) {
      // The worker could not open the file before we leave exclusive mode.
      this.#writes.defer(() =>
        this.startBackgroundCheckpoints(onEvent, options)
      );
      return;
    }
    this.#db.exec("PRAGMA wal_autocheckpoint = 0");
    this.#checkpointer = Checkpointer.startOnWrite({
      intervalMs: CHECKPOINT_INTERVAL_MS,
      passiveOnly: this.#litestream,
      ...options,
      path: this.path,
      sync: this.#sync,
      onEvent: (event) => onEvent(describeCheckpointerEvent(event), event),
    });
  }

  /**
   * Puts the families read at start-up into the view ({@link Store.#assemble})
   * and then indexes their series (View.indexSome), a slice at a time after
   * start, so that the first request rarely pays for either; whatever is
   * left when a request needs the view is done then. `onAssembled` hears
   * when every family is in the view, or why reading them failed (then the
   * first request that needs the view tries again); `slice`: families read
   * per step.
   */
  startBackgroundIndexing(
    onAssembled?: (
      view: { groups: number; series: number } | { error: string },
    ) => void,
    slice = ASSEMBLE_SLICE,
  ): void {
    let assembled = false;
    const step = () => {
      this.#indexTimer = undefined;
      if (!this.#db.isOpen) return;
      if (!assembled) {
        try {
          if (this.#assemble(slice)) {
            this.#indexTimer = setTimeout(step, 0);
            return;
          }
        } catch (error) {
          onAssembled?.({ error: errorMessage(error) });
          return;
        }
        assembled = true;
        onAssembled?.({
          groups: this.#view.groupCount,
          series: this.#view.seriesCount,
        });
      }
      if (!this.#view.indexSome(INDEX_SLICE)) return;
      this.#indexTimer = setTimeout(step, 0);
    };
    if (this.#indexTimer === undefined) this.#indexTimer = setTimeout(step, 0);
  }

  /** Groups read from the database at start-up. */
  get loadedGroups(): number {
    return this.#view.groupCount;
  }

  /**
   * Reads up to `budget` current families into the view, in id order;
   * returns whether any are left. Start-up reads only the groups: reading
   * the families' rows, decoding their keys and copying their texts is most
   * of its work (1M series: 1.5 of 2 s), so it is done after the server is
   * ready, a slice at a time ({@link startBackgroundIndexing}),
   * or all at once by the first request that needs the view.
   */
  #assemble(budget: number): boolean {
    const pending = this.#pending;
    if (pending === undefined) return false;
    const missing: MissingRendered[] = [];
    const done = assembleFamilies(
      this.#stmt,
      this.#view,
      pending,
      budget,
      missing,
    );
    if (done) this.#pending = undefined;
    if (missing.length > 0) this.#fillRendered(missing);
    return this.#pending !== undefined;
  }

  /**
   * Reads what {@link Store.#assemble} has left. Called before a BEGIN where
   * the view is first needed inside the transaction (reading 1M series takes
   * about a second, which the write lock should not be held for); everywhere
   * else the {@link view} getter does it.
   */
  #settle(): void {
    if (this.#pending) this.#assemble(Infinity);
  }

  /** The WAL, the checkpointer and whether writes work, for own metrics. */
  get storageStats(): {
    walBytes: number;
    checkpointBlockedSeconds: number;
    checkpointFailing: boolean;
    writable: boolean;
  } {
    const c = this.#checkpointer?.stats;
    return {
      walBytes: c?.walBytes ?? 0,
      checkpointBlockedSeconds: c?.heldSeconds ?? 0,
      checkpointFailing: c?.failing ?? false,
      writable: this.#writes.writable,
    };
  }

  /**
   * Looks for Litestream's tables now and every `intervalMs` until they
   * appear: Litestream creates them at its first sync, also in a file we
   * have just created. From then on checkpoints are PASSIVE only and close()
   * does not truncate the WAL: Litestream 0.3 owns the WAL's restarts, and
   * a WAL cut under it ("wal truncated by another process") or restarted
   * ("wal overwritten by another process") makes it start a new generation,
   * a full snapshot (docs/operations.md, "Beyond one machine"). `onFound` is told once.
   */
  watchLitestream(onFound: () => void, intervalMs = 1000): void {
    if (this.path === ":memory:" || this.#litestreamTimer) return;
    const look = (): boolean => {
      if (this.#litestream || !this.#db.isOpen) return true;
      if (!hasLitestreamTables(this.#db)) return false;
      this.#litestream = true;
      this.#checkpointer?.passiveOnly();
      onFound();
      return true;
    };
    if (look()) return;
    this.#litestreamTimer = setInterval(() => {
      if (look()) clearInterval(this.#litestreamTimer);
    }, intervalMs);
  }

  /**
   * Before close() under Litestream: waits (at most `timeoutMs`) until the
   * WAL is short enough for Litestream's last sync to leave it alone, then
   * `uploadMs` more for its replicas (litestream_settle.ts). Returns the
   * frames left.
   */
  settleForLitestream(
    timeoutMs = 3000,
    minCheckpointPages = 1000,
    uploadMs = 1200,
  ): Promise<number> {
    if (!this.#litestream || !this.#db.isOpen) return Promise.resolve(0);
    return settleWal(this.#db, timeoutMs, minCheckpointPages, uploadMs);
  }

  /** Whether Litestream replicates the file (its tables are in it). */
  get litestream(): boolean {
    return this.#litestream;
  }

  /** What the background checkpointer has done, if it runs. */
  get checkpointStats(): CheckpointerStats | undefined {
    return this.#checkpointer?.stats;
  }

  close(): void {
    if (!this.#db.isOpen) return;
    this.#commit.close();
    clearTimeout(this.#indexTimer);
    this.#writes.stop();
    this.#checkpointer?.stop();
    clearInterval(this.#litestreamTimer);
    try {
      // Under Litestream only what it allows (see watchLitestream): it
      // checkpoints and restarts the WAL itself after its last sync.
      const litestream = this.#litestream || hasLitestreamTables(this.#db);
      this.#db.exec(
        `PRAGMA wal_checkpoint(${litestream ? "PASSIVE" : "TRUNCATE"})`,
      );
    } catch {
      // Another reader may hold the WAL; SQLite checkpoints at next open.
    }
    this.#db.close();
    this.#lock?.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #transaction<T>(write: () => T): T {
    try {
      this.#writes.refuse();
      this.#stmt.begin.run();
    } catch (error) {
      throw unavailable(error);
    }
    try {
      const result = write();
      this.#stmt.commit.run();
      return result;
    } catch (error) {
      this.#noteOutOfRoom(error);
      rollbackQuietly(this.#db, this.#series);
      if (error instanceof PushError) throw error;
      throw unavailable(error);
    }
  }

  /** Remembers a write that failed for lack of room, and says so once. */
  #noteOutOfRoom(error: unknown): void {
    if (this.#outOfRoom || !isOutOfRoom(error)) return;
    this.#outOfRoom = true;
    // After the failing transaction is over: the listener may write.
    const listener = this.#onOutOfRoom;
    if (listener) queueMicrotask(listener);
  }

  /**
   * Whether a write failed for lack of room since the last call; the
   * pruner then frees room (docs/operations.md, "Disk full").
   */
  takeOutOfRoom(): boolean {
    const was = this.#outOfRoom;
    this.#outOfRoom = false;
    return was;
  }

  /** The database file's size and free pages (PRAGMA page_count etc.). */
  diskUsage(): DiskUsage {
    if (!this.#db.isOpen) return { fileBytes: 0, freeBytes: 0 };
    const pages = this.#stmt.pageCount.get() as { page_count: number };
    const free = this.#stmt.freelistCount.get() as { freelist_count: number };
    const size = this.#stmt.pageSize.get() as { page_size: number };
    return {
      fileBytes: pages.page_count * size.page_size,
      freeBytes: free.freelist_count * size.page_size,
    };
  }

  /**
   * Up to `limit` `samples` rows of family row `familyRow` with series ids
   * above `afterId`, in that order, which is the family's order (series ids
   * rise along a family, seriesIds in row_writers.ts): a page of a family
   * too big to read at once (family_pages.ts), read along the table's key.
   */
  familyRowsAfter(
    familyRow: number,
    afterId: number,
    limit: number,
  ): PagedSampleRow[] {
    const rows = this.#stmt.familySamplesAfter.all(
      familyRow,
      afterId,
      limit,
    ) as unknown as (SampleDbRow & { id: number })[];
    return rows.map((r) => ({ ...sampleRow(r), id: r.id }));
  }

  /**
   * Every `samples` row of the families rows `familyRows`, by family row
   * then series, in one query: small families only (a page's worth in all,
   * family_pages.ts), read together where one query each cost more than
   * the rows.
   */
  familiesRows(familyRows: readonly number[]): FamilySampleRow[] {
    // Arrays, each made into its row at once: objects from SQLite, spread
    // into rows, cost a quarter of /api/v1/metrics at 100k groups.
    const rows = this.#stmt.familiesSamples.all(
      JSON.stringify(familyRows),
    ) as unknown as FamilySampleArray[];
    return rows.map(familySampleRow);
  }

  /**
   * The current families of a group with their metrics, read from the
   * database (not a hot path: the API and the UI), in the group's order.
   */
  groupFamilies(groupId: string): LoadedFamily[] {
    const group = this.#liveView.group(groupId);
    if (!group) return [];
    return [...group.families.values()].map((stored) => ({
      family: readFamily(this.#stmt, stored),
      pushedAt: stored.pushedAt,
    }));
  }

  /**
   * The merged scrape as families, for protobuf scrapes (`View.render` for
   * text): metrics read from the database, one stored family at a time.
   */
  mergedFamilies(own: ReadonlyMap<string, MetricFamily>): MetricFamily[] {
    return this.#liveView.mergedFamilies(
      own,
      (stored) => readFamily(this.#stmt, stored),
    );
  }

  /**
   * Writes `families.rendered` for rows that lack it. Best effort: without
   * it the next start renders them from their samples again.
   */
  #fillRendered(missing: readonly MissingRendered[]): void {
    // While a push is written aside the lock is taken: left for next time.
    if (!this.#writes.writable || this.#commit.writingAside) return;
    try {
      this.#transaction(() => {
        for (const m of missing) {
          this.#stmt.setRendered.run(encodeRendered(m.series), m.rowId);
        }
      });
    } catch {
      // A read-only or full disk: nothing is lost but start-up time.
    }
  }
}

/** Series indexed per background step: a few ms (startBackgroundIndexing). */
const INDEX_SLICE = 20_000;
