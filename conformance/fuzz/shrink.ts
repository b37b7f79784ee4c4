// Shrinking a counterexample by delta debugging (ddmin) over its steps, down to a 1-minimal subsequence or
// the smallest found before the deadline.

/** What shrink found: the smallest reproducing subsequence, the tries it took, and whether it is minimal. */
export interface ShrinkResult<T> {
  /** The smallest subsequence found that still reproduces. */
  items: T[];
  /** Candidate sequences tried. */
  tries: number;
  /** True when no single item can be removed any more (false: stopped by the deadline or a stop request). */
  minimal: boolean;
}

/**
 * The smallest order-preserving subsequence of `items` found on which `reproduces` holds (it must hold on
 * `items`); `until` is a performance.now() deadline or a test that says when to stop.
 */
export async function shrink<T>(
  items: readonly T[],
  reproduces: (candidate: T[]) => Promise<boolean>,
  until: number | (() => boolean) = Infinity,
): Promise<ShrinkResult<T>> {
  const over = typeof until === "number" ? () => performance.now() > until : until;
  let cur = [...items];
  let tries = 0;
  let n = 2;
  while (cur.length >= 2) {
    if (over()) return { items: cur, tries, minimal: false };
    const size = Math.ceil(cur.length / n);
    let reduced = false;
    for (let start = 0; start < cur.length; start += size) {
      if (over()) return { items: cur, tries, minimal: false };
      const complement = [...cur.slice(0, start), ...cur.slice(start + size)];
      tries++;
      if (complement.length > 0 && await reproduces(complement)) {
        cur = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (reduced) continue;
    if (size === 1) break; // every single item was needed
    n = Math.min(n * 2, cur.length);
  }
  return { items: cur, tries, minimal: true };
}
