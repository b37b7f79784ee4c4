// Latency statistics (HdrHistogram, ns, 3 significant digits) and the per-size ranking of strategies.
import * as hdr from "hdr-histogram-js";

export interface LatencySummary {
  count: number;
  meanNs: number;
  stdevNs: number;
  p50Ns: number;
  p90Ns: number;
  p99Ns: number;
  p999Ns: number;
  maxNs: number;
  minNs: number;
  /**
   * A 95 % distribution-free confidence interval of the median, [lo, hi] ns, from order statistics (exact
   * binomial ranks); absent where the sample is too small (fewer than 6) or summarised by a histogram.
   */
  p50CiNs?: [number, number];
}

/** A histogram built once per run and reset per point (recording allocates nothing). */
export function newHistogram(): hdr.Histogram {
  // 1 ns .. 1000 s: covers a 4 KiB WRITE on a real HCA and a 1 GiB registration under TCG.
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 1e12,
    numberOfSignificantValueDigits: 3,
  });
}

export function emptySummary(): LatencySummary {
  return { count: 0, meanNs: 0, stdevNs: 0, p50Ns: 0, p90Ns: 0, p99Ns: 0, p999Ns: 0, maxNs: 0, minNs: 0 };
}

export function summarize(h: hdr.Histogram): LatencySummary {
  const n = h.totalCount;
  const max = n ? h.maxValue : 0, min = n ? h.minNonZeroValue : 0;
  // A percentile is the top of its bucket (3 significant digits), which can lie above the largest value
  // recorded (p99.9 13,516,799 ns next to a max of 13,512,220 ns): the exact extremes bound it.
  const at = (p: number) => (n ? Math.min(max, Math.max(min, h.getValueAtPercentile(p))) : 0);
  return {
    count: n,
    meanNs: n ? Math.round(h.mean) : 0,
    stdevNs: n ? Math.round(h.stdDeviation) : 0,
    p50Ns: at(50),
    p90Ns: at(90),
    p99Ns: at(99),
    p999Ns: at(99.9),
    maxNs: max,
    minNs: min,
  };
}

/**
 * 1-based ranks (j, n+1-j) of the order statistics that bound a distribution-free confidence interval of the
 * median: the largest j with P(Binomial(n, 1/2) < j) ≤ (1 − level)/2. null when even (1, n) falls short.
 */
export function medianCiRanks(n: number, level = 0.95): [number, number] | null {
  const tail = (1 - level) / 2;
  // P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space so that large n does not underflow.
  let logP = -n * Math.LN2, cdf = 0, j = 0;
  for (let k = 0; k < n; k++) {
    cdf += Math.exp(logP);
    if (cdf > tail) break;
    j = k + 1;
    logP += Math.log((n - k) / (k + 1));
  }
  return j >= 1 ? [j, n + 1 - j] : null;
}

/** Plain-array summary for small samples (regcost): same fields, exact order statistics and the median's CI. */
export function summarizeSamples(ns: ArrayLike<number>): LatencySummary {
  const s = Float64Array.from(ns).sort();
  const n = s.length;
  if (n === 0) return emptySummary();
  let sum = 0, sq = 0;
  for (const v of s) sum += v;
  const mean = sum / n;
  for (const v of s) sq += (v - mean) ** 2;
  const sd = Math.sqrt(sq / n);
  // Nearest-rank percentile, as HdrHistogram reports it.
  const at = (p: number) => s[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  const ci = medianCiRanks(n);
  const round = (v: number) => Math.round(v);
  return {
    count: n,
    meanNs: Math.round(mean),
    stdevNs: Math.round(sd),
    p50Ns: round(at(50)),
    p90Ns: round(at(90)),
    p99Ns: round(at(99)),
    p999Ns: round(at(99.9)),
    maxNs: round(s[n - 1]),
    minNs: round(s[0]),
    ...(ci ? { p50CiNs: [round(s[ci[0] - 1]), round(s[ci[1] - 1])] as [number, number] } : {}),
  };
}

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
}

type RankKey = Omit<Rankable, "strategy" | "iops" | "layout"> & { layout: string };

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
