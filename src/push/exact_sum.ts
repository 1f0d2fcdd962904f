/**
 * Exact sums of float64 values, for aggregating groups (docs/database.md,
 * Aggregating groups): a running sum is kept as its non-overlapping
 * partials (Shewchuk's algorithm, as Python's `math.fsum`), so that it is
 * the exact sum of every value added, and what a scrape shows is that sum
 * correctly rounded to a float64, whatever the order the values arrived
 * in. Pure; no I/O.
 * @module
 */

/**
 * Partials of a sum: finite, non-overlapping, increasing in magnitude;
 * their exact sum is the running sum. One element for a sum a float64
 * holds exactly (every integer sum up to 2^53), rarely more than two.
 */
export type Partials = readonly number[];

/**
 * `partials` with `x` added, exactly. A non-finite value or sum (±Inf,
 * NaN) leaves one partial, the float sum, as plain addition would.
 */
export function addExact(partials: Partials, x: number): number[] {
  if (!Number.isFinite(x) || !partials.every(Number.isFinite)) {
    return [roundPartials(partials) + x];
  }
  const out: number[] = [];
  for (let i = 0; i < partials.length; i++) {
    let y = partials[i] as number;
    if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) out.push(lo);
    x = hi;
  }
  if (!Number.isFinite(x)) return [roundPartials(partials) + x];
  out.push(x);
  return out;
}

/**
 * The exact sum of `partials`, correctly rounded (half to even), as
 * Python's `math.fsum` rounds it.
 */
export function roundPartials(partials: Partials): number {
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n] as number;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n] as number;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // Half-way cases: the partials below `lo` decide the direction.
  if (n > 0) {
    const below = partials[n - 1] as number;
    if ((lo < 0 && below < 0) || (lo > 0 && below > 0)) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
  }
  return hi;
}

/**
 * What a sum keeps beyond its rounded value: undefined when the value
 * alone is the exact sum (the common case: integer counts), else its
 * partials.
 */
export function residueOf(partials: Partials): Partials | undefined {
  if (partials.length <= 1) return undefined;
  return partials;
}

/** The partials of a stored sum: its residue, or its value alone. */
export function partialsOf(
  value: number,
  residue: Partials | undefined,
): Partials {
  return residue ?? [value];
}
