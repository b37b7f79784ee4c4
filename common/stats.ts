// Small, dependency-free statistics for the reports and the bench engine: the Mann–Whitney U test over
// repetitions, the median's distribution-free interval, the geometric mean of ratios, a paired ratio and a
// mode (valley) test on log-samples. The method is described in docs/measurement.md.

/** The significance level of every test memreg reports (a two-sided p below it = a difference). */
export const ALPHA = 0.01;

/** "p=0.008", "p<0.001": a p-value as the tables print it. */
export const fmtP = (p: number) => p < 0.001 ? "p<0.001" : `p=${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`;

/** Φ(z), the standard normal CDF (Abramowitz–Stegun 26.2.17 via erfc 7.1.26; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-x * x);
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** The result of a two-sided Mann–Whitney U test of a against b. */
export interface UTest {
  /** U of the first sample: pairs (x in a, y in b) with x > y, ties counting ½. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  /** "exact" (permutation distribution, no ties, both n ≤ 25) or "normal" (tie-corrected, continuity). */
  method: "exact" | "normal";
  n: [number, number];
}

/** Number of arrangements of m + n ranks whose U (of the m sample) is u, for every u (Mann & Whitney's recursion). */
function uCounts(m: number, n: number): number[] {
  // f[i][j][u] built up by sizes; a rolling table over j keeps it to O(m·n·mn).
  let prev: number[][] = Array.from({ length: n + 1 }, () => [1]); // i = 0: one way, U = 0
  for (let i = 1; i <= m; i++) {
    const cur: number[][] = [[1]]; // j = 0: U = 0
    for (let j = 1; j <= n; j++) {
      // The largest rank is in the first sample (adds j to U) or in the second.
      const a = prev[j], b = cur[j - 1];
      const len = i * j + 1, row = new Array<number>(len).fill(0);
      for (let u = 0; u < a.length; u++) row[u + j] += a[u];
      for (let u = 0; u < b.length; u++) row[u] += b[u];
      cur.push(row);
    }
    prev = cur;
  }
  return prev[n];
}

/**
 * Two-sided Mann–Whitney U test (Wilcoxon rank-sum); null when a sample is empty. `normal` forces the normal
 * approximation (the tests check it against the exact distribution).
 */
export function mannWhitney(a: readonly number[], b: readonly number[], normal = false): UTest | null {
  const m = a.length, n = b.length;
  if (!m || !n) return null;
  const all = [...a.map((v) => ({ v, s: 0 })), ...b.map((v) => ({ v, s: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0, ties = false;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const t = j - i + 1;
    if (t > 1) ties = true;
    tieTerm += t ** 3 - t;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let r1 = 0;
  all.forEach((x, i) => x.s === 0 && (r1 += ranks[i]));
  const u = r1 - (m * (m + 1)) / 2;
  const mu = (m * n) / 2;
  if (!normal && !ties && m <= 25 && n <= 25) {
    const counts = uCounts(m, n);
    const total = counts.reduce((s, c) => s + c, 0);
    const lo = Math.min(u, m * n - u);
    let tail = 0;
    for (let k = 0; k <= lo; k++) tail += counts[k];
    return { u, p: Math.min(1, (2 * tail) / total), method: "exact", n: [m, n] };
  }
  const N = m + n;
  const sd = Math.sqrt((m * n / 12) * ((N + 1) - tieTerm / (N * (N - 1))));
  if (sd === 0) return { u, p: 1, method: "normal", n: [m, n] };
  const z = (Math.abs(u - mu) - 0.5) / sd;
  return { u, p: Math.min(1, 2 * (1 - normalCdf(Math.max(0, z)))), method: "normal", n: [m, n] };
}

/**
 * The smallest two-sided p a U test of samples of m and n can give (both samples fully separated); a test
 * that cannot get below ALPHA cannot tell anything, whatever the data.
 */
export function smallestP(m: number, n: number): number {
  if (!m || !n) return 1;
  let c = 1; // C(m + n, m)
  for (let k = 1; k <= m; k++) c = (c * (n + k)) / k;
  return Math.min(1, 2 / c);
}

/** Whether a U test of samples of m and n can ever reach ALPHA (5 and 5 can: p = 0.0079). */
export const testable = (m: number, n: number, alpha = ALPHA) => smallestP(m, n) < alpha;

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

/** The median of a sample (the mean of the middle two for an even count); NaN when empty. */
export function median(xs: ArrayLike<number>): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  if (!n) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Geometric mean of ratios with its spread, pyperf style. */
export interface GeoMean {
  /** exp(mean(ln r)). */
  mean: number;
  /** Geometric standard deviation exp(sd(ln r)): ×/÷ this holds about two thirds of the ratios. */
  gsd: number;
  min: number;
  max: number;
  n: number;
}

/** The geometric mean of positive ratios (others ignored); null when none. */
export function geometricMean(ratios: readonly number[]): GeoMean | null {
  const ls = ratios.filter((r) => r > 0 && Number.isFinite(r)).map(Math.log);
  const n = ls.length;
  if (!n) return null;
  const mu = ls.reduce((s, v) => s + v, 0) / n;
  const sd = n > 1 ? Math.sqrt(ls.reduce((s, v) => s + (v - mu) ** 2, 0) / (n - 1)) : 0;
  return {
    mean: Math.exp(mu),
    gsd: Math.exp(sd),
    min: Math.exp(Math.min(...ls)),
    max: Math.exp(Math.max(...ls)),
    n,
  };
}

/** A ratio from paired blocks: the median of per-pair ratios and its distribution-free interval. */
export interface PairedRatio {
  median: number;
  /** Interval of the median at `level` (order statistics of the per-pair ratios); equal to median when too few. */
  lo: number;
  hi: number;
  level: number;
  pairs: number;
}

/** Median and 95 % interval of a[i] / b[i] over the pairs where both are positive; null when none. */
export function pairedRatio(a: readonly number[], b: readonly number[], level = 0.95): PairedRatio | null {
  const r = a.flatMap((x, i) => (x > 0 && b[i] > 0 ? [x / b[i]] : [])).sort((x, y) => x - y);
  if (!r.length) return null;
  const ci = medianCiRanks(r.length, level);
  const m = median(r);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    median: round(m),
    lo: round(ci ? r[ci[0] - 1] : m),
    hi: round(ci ? r[ci[1] - 1] : m),
    level: ci ? level : 0,
    pairs: r.length,
  };
}

/** One mode of a sample: the median of the samples that fall into it, and their share. */
export interface Mode {
  p50Ns: number;
  share: number;
}

/** Samples below this are not searched for modes. */
export const MODES_MIN_SAMPLES = 50;
/** A mode holds at least this share of the samples. */
export const MODE_MIN_SHARE = 0.1;
/** Two peaks are separate modes when the density between them falls below this fraction of the lower peak. */
export const MODE_VALLEY = 0.5;

/**
 * Modes of a positive sample: a Gaussian kernel density of ln(x) (Silverman's bandwidth, binned on 256 points),
 * its local maxima, merged while the valley between neighbours stays above MODE_VALLEY × the lower peak or a
 * mode holds under MODE_MIN_SHARE of the samples. One entry for a unimodal sample (or one under
 * MODES_MIN_SAMPLES samples), modes in increasing order otherwise.
 */
export function modes(xs: ArrayLike<number>): Mode[] {
  const s = Float64Array.from(xs).filter((v) => v > 0).sort();
  const n = s.length;
  if (!n) return [];
  const one = [{ p50Ns: Math.round(median(s)), share: 1 }];
  if (n < MODES_MIN_SAMPLES) return one;
  const l = s.map(Math.log);
  const lo = l[0], hi = l[n - 1];
  if (hi - lo < 1e-9) return one;
  let mu = 0;
  for (const v of l) mu += v;
  mu /= n;
  let sq = 0;
  for (const v of l) sq += (v - mu) ** 2;
  const sd = Math.sqrt(sq / (n - 1));
  const iqr = l[Math.floor(0.75 * (n - 1))] - l[Math.floor(0.25 * (n - 1))];
  const G = 256, step = (hi - lo) / (G - 1);
  const h = Math.max(0.9 * Math.min(sd, iqr > 0 ? iqr / 1.34 : sd) * n ** -0.2, 2 * step);
  const bins = new Float64Array(G);
  for (const v of l) bins[Math.round((v - lo) / step)]++;
  const reach = Math.ceil((4 * h) / step);
  const d = new Float64Array(G);
  for (let j = 0; j < G; j++) {
    if (!bins[j]) continue;
    for (let k = Math.max(0, j - reach); k <= Math.min(G - 1, j + reach); k++) {
      d[k] += bins[j] * Math.exp(-0.5 * (((k - j) * step) / h) ** 2);
    }
  }
  // Segments between valleys, each with its peak; merged until every boundary is a real valley.
  const peaks: number[] = [];
  for (let k = 0; k < G; k++) {
    if ((k === 0 || d[k] > d[k - 1]) && (k === G - 1 || d[k] >= d[k + 1])) peaks.push(k);
  }
  const valleyBetween = (a: number, b: number) => {
    let v = a;
    for (let k = a; k <= b; k++) if (d[k] < d[v]) v = k;
    return v;
  };
  const count = (from: number, to: number) => {
    let c = 0;
    for (let k = from; k <= to; k++) c += bins[k];
    return c;
  };
  for (;;) {
    if (peaks.length < 2) break;
    const valleys = peaks.slice(1).map((p, i) => valleyBetween(peaks[i], p));
    const edges = [-1, ...valleys, G - 1];
    const shares = peaks.map((_, i) => count(edges[i] + 1, edges[i + 1]) / n);
    // The weakest boundary: the shallowest valley, or the one beside the smallest segment.
    let worst = -1, worstScore = MODE_VALLEY;
    valleys.forEach((v, i) => {
      const score = d[v] / Math.min(d[peaks[i]], d[peaks[i + 1]]);
      if (score > worstScore) [worst, worstScore] = [i, score];
    });
    if (worst < 0) {
      const small = shares.findIndex((x) => x < MODE_MIN_SHARE);
      if (small < 0) break;
      // Join the small segment to the neighbour with the shallower valley.
      const left = small > 0 ? d[valleys[small - 1]] : -1,
        right = small < valleys.length ? d[valleys[small]] : -1;
      worst = left >= right ? small - 1 : small;
    }
    // Merge segments worst and worst + 1: keep the higher peak.
    const drop = d[peaks[worst]] >= d[peaks[worst + 1]] ? worst + 1 : worst;
    peaks.splice(drop, 1);
  }
  if (peaks.length < 2) return one;
  const valleys = peaks.slice(1).map((p, i) => valleyBetween(peaks[i], p));
  const cuts = valleys.map((v) => lo + (v + 0.5) * step);
  const out: Mode[] = [];
  let start = 0;
  for (let i = 0; i <= cuts.length; i++) {
    let end = start;
    while (end < n && (i === cuts.length || l[end] < cuts[i])) end++;
    if (end > start) {
      out.push({ p50Ns: Math.round(median(s.subarray(start, end))), share: (end - start) / n });
    }
    start = end;
  }
  return out.length > 1 ? out : one;
}

/** Percentile q (0–100) is supported by n samples when at least one sample lies above it: n ≥ 1/(1 − q/100). */
export function percentileSupported(q: number, n: number): boolean {
  return q >= 100 || n >= Math.ceil(1 / (1 - q / 100) - 1e-9);
}

/** The samples percentile q needs (p90: 10, p99: 100, p99.9: 1000). */
export const samplesFor = (q: number) => Math.ceil(1 / (1 - q / 100) - 1e-9);
