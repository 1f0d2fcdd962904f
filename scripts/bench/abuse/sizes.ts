/**
 * How big each row's abuse is, in the full run and with `--quick`.
 * @module
 */

export interface Sizes {
  readonly labels: number;
  readonly invalidLabels: number;
  readonly floodMs: number;
  readonly floodClients: number;
  readonly uiGroups: readonly number[];
  readonly uiFillCapMs: number;
  readonly bigNumberDigits: number;
  readonly bigPushSeries: number;
  readonly concurrentBytes: number;
  readonly readerMs: number;
  readonly afterReaderMs: number;
  readonly retentionMs: number;
  readonly longJob: number;
  readonly tlsCurls: number;
  readonly requestTimeoutMs: number;
}

export const FULL: Sizes = {
  labels: 80_000,
  invalidLabels: 60_000,
  floodMs: 10_000,
  floodClients: 8,
  uiGroups: [10_000, 100_000],
  uiFillCapMs: 180_000,
  bigNumberDigits: 58_000_000,
  bigPushSeries: 1_000_000,
  concurrentBytes: 10_000_000,
  readerMs: 30_000,
  afterReaderMs: 5_000,
  retentionMs: 20_000,
  longJob: 100_000,
  tlsCurls: 12,
  requestTimeoutMs: 60_000,
};

export const QUICK: Sizes = {
  ...FULL,
  labels: 8_000,
  invalidLabels: 6_000,
  floodMs: 3_000,
  uiGroups: [1_000],
  uiFillCapMs: 30_000,
  bigNumberDigits: 5_800_000,
  bigPushSeries: 100_000,
  concurrentBytes: 1_000_000,
  readerMs: 5_000,
  afterReaderMs: 2_000,
  retentionMs: 5_000,
};
