// Ranking the points of a document: the strategies per (op, layout, pages, depth, working set, size), best
// I/O rate first (the end-of-run table and the report order them so), and whether the top is best by a test
// over the repetitions (a two-sided Mann–Whitney U test of their I/O rates, common/stats.ts).
import { ALPHA, fmtP, mannWhitney, testable } from "../../common/stats.ts";

/** What ranking needs of a point. */
export interface Rankable {
  strategy: string;
  op: string;
  size: number;
  pages: string;
  depth: number;
  iops: number;
  /** Absent: contiguous (documents from before the page layout). */
  layout?: string;
  /** The working set (buffers, or pool pages). */
  buffers: number;
  /** The repetitions' own rates (absent or empty in documents from before repetitions). */
  reps?: { iops: number }[];
}

/** A ranking group: every field of its points but the strategy and the rate. */
export type RankKey = Omit<Rankable, "strategy" | "iops" | "layout"> & { layout: string };

/**
 * Groups points by (op, layout, pages, depth, working set, size) and orders each group by I/O rate, best
 * first; groups come contiguous layout first, then by op, pages, depth, working set and size.
 */
export function rankPerSize<T extends Rankable>(points: T[]): { key: RankKey; ranked: T[] }[] {
  const groups = new Map<string, { key: RankKey; ranked: T[] }>();
  for (const p of points) {
    const layout = p.layout ?? "contiguous";
    const id = `${p.op}|${layout}|${p.pages}|${p.depth}|${p.buffers}|${p.size}`;
    let g = groups.get(id);
    if (!g) {
      const key = { op: p.op, layout, pages: p.pages, depth: p.depth, buffers: p.buffers, size: p.size };
      groups.set(id, g = { key, ranked: [] });
    }
    g.ranked.push(p);
  }
  const out = [...groups.values()];
  for (const g of out) g.ranked.sort((a, b) => b.iops - a.iops || a.strategy.localeCompare(b.strategy));
  const opOrder = (op: string) => (op === "write" ? 0 : 1);
  out.sort((a, b) =>
    a.key.layout.localeCompare(b.key.layout) || opOrder(a.key.op) - opOrder(b.key.op) ||
    a.key.pages.localeCompare(b.key.pages) ||
    a.key.depth - b.key.depth ||
    a.key.buffers - b.key.buffers ||
    a.key.size - b.key.size
  );
  return out;
}

/** How the top of a ranking group stands against the rest. */
export interface BestVerdict {
  /**
   * best: faster than every other strategy at p < ALPHA; tied: others cannot be told from the top; untested:
   * too few repetitions for the test to reach ALPHA; only: a single strategy.
   */
  kind: "best" | "tied" | "untested" | "only";
  /** The strategies tied for best (the top alone when best). Empty when untested. */
  top: string[];
  /** Per strategy but the top: the two-sided p of the U test against the top (null when untested). */
  p: Map<string, number | null>;
  /** The fewest repetitions of a point in the group. */
  reps: number;
}

/** The repetitions' rates of a point (its one rate where it has no repetitions recorded). */
const repRates = (p: Rankable) => (p.reps?.length ? p.reps.map((r) => r.iops) : [p.iops]);

/**
 * Judges a ranked group (best first, rankPerSize): the top is best only when a U test of the repetitions'
 * I/O rates puts it above every other strategy at p < ALPHA; strategies it cannot be told from are tied with
 * it; with too few repetitions for the test to reach ALPHA at all (1, or 3 against 3), nothing is ranked.
 */
export function judgeBest(ranked: readonly Rankable[]): BestVerdict {
  const reps = Math.min(...ranked.map((p) => repRates(p).length));
  const p = new Map<string, number | null>();
  if (ranked.length < 2) return { kind: "only", top: ranked.map((q) => q.strategy), p, reps };
  const top = ranked[0], a = repRates(top);
  const untested = ranked.slice(1).some((q) => !testable(a.length, repRates(q).length));
  if (untested) {
    for (const q of ranked.slice(1)) p.set(q.strategy, null);
    return { kind: "untested", top: [], p, reps };
  }
  const tied = [top.strategy];
  for (const q of ranked.slice(1)) {
    const t = mannWhitney(a, repRates(q))!;
    p.set(q.strategy, t.p);
    if (t.p >= ALPHA) tied.push(q.strategy);
  }
  return { kind: tied.length > 1 ? "tied" : "best", top: tied, p, reps };
}

/**
 * The "vs best" cell of a point in its judged group: "best", "tied", "top" (untested), the rate against the
 * top's ("62% p=0.008" beyond the test, "tied 93%" within it, "62%" untested).
 */
export function vsBestCell(p: Rankable, top: Rankable, v: BestVerdict): string {
  if (p === top) return v.kind === "only" ? "" : v.kind === "untested" ? "top" : v.kind;
  const pct = `${(p.iops / top.iops * 100).toFixed(0)}%`;
  const pv = v.p.get(p.strategy);
  if (pv === null || pv === undefined) return pct;
  return v.top.includes(p.strategy) ? `tied ${pct}` : `${pct} ${fmtP(pv)}`;
}

/** The rule the marks follow, in words (the tables' footnote and the report's "how to read"). */
export function bestRule(reps: number): string {
  return reps > 1 && testable(reps, reps)
    ? `best: faster than every other strategy by a two-sided Mann–Whitney U test over the ${reps} ` +
      `repetitions' IO/s at p < ${ALPHA}; tied: not distinguishable from the top at that level (several ` +
      `strategies share the mark); p: against the top`
    : `not ranked: ${reps} repetition(s) per point, too few for a test to reach p < ${ALPHA} (5 per point ` +
      `can: --reps 5); "top" is the highest rate measured, differences between strategies are not tested`;
}

/** "How to read these figures": the rules the bench tables and charts follow (HTML and docs/measurement.md). */
export function howToRead(reps: number): string[] {
  return [
    `Ranking. ${bestRule(reps)}. The unit of the test is the repetition, not the I/O: the I/Os of one ` +
    "repetition share its state (caches, the guest's scheduling) and are not independent samples.",
    "Percentiles. A percentile q needs at least 1 / (1 − q) samples, so that one lies above it: p90 10, p99 " +
    "100, p99.9 1000. Where a point has fewer, its table cell says n<100 (or n<1000) and the chart leaves the " +
    "point out; max is the largest sample, whatever the count.",
    "Registration cost. memreg / C comes from paired adjacent blocks (the median of per-pair ratios of block " +
    "medians, with its 95 % interval) where the document records it, the ratio of pooled p50s otherwise. A " +
    "sample with several modes (a valley test on the log-samples: a density valley below half the lower peak, " +
    "each mode holding ≥ 10 % of ≥ 50 samples) is starred and listed with each mode's p50 and share.",
  ];
}
