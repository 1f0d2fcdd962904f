/**
 * A counter, gauge or untyped metric of a large family read back from its
 * prepared form, whose labels are those of its series key, parsed only if
 * read: a large aggregating push summed in place (aggregate.ts) reads its
 * values alone, and its sums are prepared from the push's own prepared
 * form (prepared_values.ts), so a label array per series was made for the
 * garbage collector only (docs/performance.md, Abuse). Pure.
 * @module
 */

import type { Label, ScalarMetric } from "../exposition/model.ts";
import { labelsOfSeriesKey } from "./series_key.ts";

export class KeyedScalar implements ScalarMetric {
  /** The family's series keys, and this metric's index among them. */
  readonly keys: readonly string[];
  readonly index: number;
  readonly value: number;

  constructor(keys: readonly string[], index: number, value: number) {
    this.keys = keys;
    this.index = index;
    this.value = value;
  }

  /** The labels of its series key (a new array at each read). */
  get labels(): readonly Label[] {
    return labelsOfSeriesKey(this.keys[this.index] as string);
  }

  /** The same series with `value`. */
  withValue(value: number): KeyedScalar {
    return new KeyedScalar(this.keys, this.index, value);
  }
}
