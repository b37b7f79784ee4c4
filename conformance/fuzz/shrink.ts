// Shrinking a counterexample: delta debugging (ddmin) over the steps of a sequence, keeping any subsequence
// on which the same divergence still happens, down to one that no single step can be removed from (or until
// the time allowed runs out, keeping the smallest found).

export interface ShrinkResult<T> {
  items: T[];
  /** Candidate sequences tried. */
  tries: number;
  /** True when no single item can be removed any more (false: stopped by the deadline or a stop request). */
  minimal: boolean;
}

/**
 * The smallest subsequence of `items` found on which `reproduces` holds (it must hold on `items`). Candidates
 * keep the order of the steps; `until` bounds the search: a deadline (performance.now() ms), or a test that says
 * when to stop (a deadline or a stop request).
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
