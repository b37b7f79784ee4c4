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
  const at = (p: number) => (n ? h.getValueAtPercentile(p) : 0);
  return {
    count: n,
    meanNs: n ? Math.round(h.mean) : 0,
    stdevNs: n ? Math.round(h.stdDeviation) : 0,
    p50Ns: at(50),
    p90Ns: at(90),
    p99Ns: at(99),
    p999Ns: at(99.9),
    maxNs: n ? h.maxValue : 0,
    minNs: n ? h.minNonZeroValue : 0,
  };
}

/** Plain-array summary for small samples (regcost): same fields, exact order statistics. */
export function summarizeSamples(ns: number[]): LatencySummary {
  const s = [...ns].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return emptySummary();
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  // Nearest-rank percentile, as HdrHistogram reports it.
  const at = (p: number) => s[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  return {
    count: n,
    meanNs: Math.round(mean),
    stdevNs: Math.round(sd),
    p50Ns: at(50),
    p90Ns: at(90),
    p99Ns: at(99),
    p999Ns: at(99.9),
    maxNs: s[n - 1],
    minNs: s[0],
  };
}

export interface Rankable {
  strategy: string;
  op: string;
  size: number;
  pages: string;
  depth: number;
  iops: number;
}

/** Groups points by (op, pages, depth, size) and orders each group by I/O rate, best first. */
export function rankPerSize<T extends Rankable>(
  points: T[],
): { key: Omit<Rankable, "strategy" | "iops">; ranked: T[] }[] {
  const groups = new Map<string, { key: Omit<Rankable, "strategy" | "iops">; ranked: T[] }>();
  for (const p of points) {
    const id = `${p.op}|${p.pages}|${p.depth}|${p.size}`;
    let g = groups.get(id);
    if (!g) {
      groups.set(id, g = { key: { op: p.op, pages: p.pages, depth: p.depth, size: p.size }, ranked: [] });
    }
    g.ranked.push(p);
  }
  const out = [...groups.values()];
  for (const g of out) g.ranked.sort((a, b) => b.iops - a.iops || a.strategy.localeCompare(b.strategy));
  const opOrder = (op: string) => (op === "write" ? 0 : 1);
  out.sort((a, b) =>
    opOrder(a.key.op) - opOrder(b.key.op) || a.key.pages.localeCompare(b.key.pages) ||
    a.key.depth - b.key.depth ||
    a.key.size - b.key.size
  );
  return out;
}
