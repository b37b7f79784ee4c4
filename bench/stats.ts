// Latency statistics (HdrHistogram, ns, 3 significant digits); ranking strategies: reports/bench/rank.ts.
import * as hdr from "hdr-histogram-js";
import { medianCiRanks, type Mode, modes } from "../common/stats.ts";

/** A latency distribution, summed up. */
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
  /**
   * Where the sample has several modes (common/stats.ts modes(): a valley test on the log-samples), each mode's
   * median and share, lowest first; absent for a unimodal sample or a histogram's summary.
   */
  modes?: Mode[];
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

/** A LatencySummary of nothing. */
export function emptySummary(): LatencySummary {
  return { count: 0, meanNs: 0, stdevNs: 0, p50Ns: 0, p90Ns: 0, p99Ns: 0, p999Ns: 0, maxNs: 0, minNs: 0 };
}

/** The bucket arithmetic of hdr-histogram-js's JsHistogram, which its typings leave out. */
interface Buckets {
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  medianEquivalentValue(value: number): number;
}

/**
 * Mean and standard deviation as hdr-histogram-js defines them (each bucket at its median-equivalent value),
 * over the buckets between the smallest and largest value only. The library's getters walk every bucket of the
 * 1 ns .. 1000 s range with an iterator: ~12 ms per call on a host, ~0.5 s under TCG, once per repetition.
 */
function moments(h: hdr.Histogram): [mean: number, stdev: number] {
  const b = h as unknown as Partial<Buckets>;
  if (!b.countsArrayIndex || !b.getCountAtIndex || !b.valueFromIndex || !b.medianEquivalentValue) {
    return [h.mean, h.stdDeviation];
  }
  const lo = b.countsArrayIndex(h.minNonZeroValue), hi = b.countsArrayIndex(h.maxValue);
  const at = (i: number) => b.medianEquivalentValue!(b.valueFromIndex!(i));
  let sum = 0;
  for (let i = lo; i <= hi; i++) {
    const c = b.getCountAtIndex(i);
    if (c) sum += at(i) * c;
  }
  const mean = sum / h.totalCount;
  let dev = 0;
  for (let i = lo; i <= hi; i++) {
    const c = b.getCountAtIndex(i);
    if (c) dev += (at(i) - mean) ** 2 * c;
  }
  return [mean, Math.sqrt(dev / h.totalCount)];
}

/** A percentile, bounded by the exact extremes (see summarize). */
function percentile(h: hdr.Histogram, p: number): number {
  const n = h.totalCount;
  return n ? Math.min(h.maxValue, Math.max(h.minNonZeroValue, h.getValueAtPercentile(p))) : 0;
}

/** The median alone: what a repetition records (cheap: the walk stops at the median's bucket). */
export function p50Of(h: hdr.Histogram): number {
  return percentile(h, 50);
}

/** The summary of a histogram of ns. */
export function summarize(h: hdr.Histogram): LatencySummary {
  const n = h.totalCount;
  // A percentile is the top of its bucket (3 significant digits), which can lie above the largest value
  // recorded (p99.9 13,516,799 ns next to a max of 13,512,220 ns): the exact extremes bound it.
  const at = (p: number) => percentile(h, p);
  const [mean, stdev] = n ? moments(h) : [0, 0];
  return {
    count: n,
    meanNs: Math.round(mean),
    stdevNs: Math.round(stdev),
    p50Ns: at(50),
    p90Ns: at(90),
    p99Ns: at(99),
    p999Ns: at(99.9),
    maxNs: n ? h.maxValue : 0,
    minNs: n ? h.minNonZeroValue : 0,
  };
}

/** The median's distribution-free interval ranks: common/stats.ts (the reports use it too). */
export { medianCiRanks };

/**
 * Plain-array summary for small samples (regcost): same fields, exact order statistics, the median's CI and,
 * where the sample has several modes, their medians.
 */
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
  const ms = modes(s);
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
    ...(ms.length > 1 ? { modes: ms } : {}),
  };
}
