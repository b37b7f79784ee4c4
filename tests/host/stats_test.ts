// Honest statistics (issue 20): the Mann–Whitney U test against textbook values, the best/tied/untested rule
// on constructed groups, compare's flags on constructed runs, the percentile rule, the geometric mean, the
// paired regcost ratio and the mode test on constructed bimodal samples.
import assert from "node:assert/strict";
import {
  geometricMean,
  mannWhitney,
  median,
  modes,
  pairedRatio,
  percentileSupported,
  samplesFor,
  smallestP,
  testable,
} from "../../common/stats.ts";
import { judgeBest, type Rankable, vsBestCell } from "../../reports/bench/rank.ts";
import { strategyTable } from "../../reports/bench/table.ts";
import { compareRuns } from "../../reports/compare.ts";
import { compareMarkdown } from "../../reports/compare_md.ts";
import { loadResult } from "../../reports/load.ts";
import { blockPairs } from "../../bench/regcost.ts";
import { summarizeSamples } from "../../bench/stats.ts";
import { FIXTURES } from "../helpers/fixtures.ts";
import type { PointIn } from "../../reports/schema/bench.ts";

/** A deterministic uniform (0, 1) source (an LCG: the tests must not depend on luck). */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s + 0.5) / 2147483648;
  };
}

/** Log-normal samples around `at` with log-sd `sd`. */
function lognormal(n: number, at: number, sd: number, r: () => number): number[] {
  return Array.from(
    { length: n },
    () => at * Math.exp(sd * Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r())),
  );
}

const near = (a: number, b: number, tol: number, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} is not within ${tol} of ${b}`);

Deno.test("Mann–Whitney U: exact p-values as the tables and scipy give them", () => {
  // n1 = n2 = 5: P(U ≤ 0) = 1/252, P(U ≤ 2) = 4/252, P(U ≤ 3) = 7/252 (Mann & Whitney 1947, table I); the
  // two-sided critical value at 0.05 is U = 2 (Siegel, table K).
  const sep = mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])!;
  assert.equal(sep.method, "exact");
  assert.equal(sep.u, 0);
  near(sep.p, 2 / 252, 1e-12);
  const u2 = mannWhitney([1, 2, 3, 6, 7], [4, 5, 8, 9, 10])!;
  assert.equal(u2.u, 4);
  const u3 = mannWhitney([1, 2, 3, 7, 5], [4, 6, 8, 9, 10])!;
  assert.equal(u3.u, 3);
  near(u3.p, 14 / 252, 1e-12);
  near(mannWhitney([1, 2, 3, 4, 7], [5, 6, 8, 9, 10])!.p, 8 / 252, 1e-12); // U = 2: 0.0317 < 0.05
  // scipy.stats.mannwhitneyu's documented example (males vs females): U1 = 17, exact p = 0.1111.
  const sci = mannWhitney([19, 22, 16, 29, 24], [20, 11, 17, 12])!;
  assert.equal(sci.u, 17);
  near(sci.p, 0.1111111, 1e-6);
  // Symmetric in the samples; no difference at all gives p = 1.
  near(mannWhitney([20, 11, 17, 12], [19, 22, 16, 29, 24])!.p, sci.p, 1e-12);
  assert.equal(mannWhitney([3, 3, 3], [3, 3, 3])!.p, 1);
  // The smallest p a test can reach: 5 against 5 can go below 0.01, 4 against 4 and 1 against 1 cannot.
  near(smallestP(5, 5), 0.0079365, 1e-6);
  near(smallestP(4, 4), 0.0285714, 1e-6);
  assert.ok(testable(5, 5) && !testable(4, 4) && !testable(1, 1) && !testable(3, 3));
});

Deno.test("Mann–Whitney U: the normal approximation agrees with the exact distribution at 20 + 20", () => {
  const r = rng(7);
  for (let k = 0; k < 5; k++) {
    const a = Array.from({ length: 20 }, () => r()), b = Array.from({ length: 20 }, () => r() + 0.1 * k);
    const exact = mannWhitney(a, b)!, normal = mannWhitney(a, b, true)!;
    assert.deepEqual([exact.method, normal.method, exact.u], ["exact", "normal", normal.u]);
    near(normal.p, exact.p, 0.01, "normal vs exact");
  }
  // Ties or more than 25 a side go the normal way (tie-corrected).
  assert.equal(mannWhitney([1, 1, 2], [1, 3, 4])!.method, "normal");
  assert.equal(mannWhitney(Array.from({ length: 30 }, r), Array.from({ length: 30 }, r))!.method, "normal");
});

/** A constructed point of a ranking group, with its repetitions' rates. */
const rp = (strategy: string, reps: number[]): Rankable => ({
  strategy,
  op: "write",
  size: 65536,
  pages: "4k",
  depth: 1,
  buffers: 8,
  iops: median(reps),
  reps: reps.map((iops) => ({ iops })),
});

Deno.test("best: marked only when the test says so; a tie for best is marked as a tie; one repetition is not ranked", () => {
  // A true 2× difference over 5 repetitions each: best, the other at p = 0.008.
  const best = [rp("global", [400, 410, 395, 405, 398]), rp("reg-per-io", [200, 205, 198, 210, 199])];
  const vb = judgeBest(best);
  assert.equal(vb.kind, "best");
  assert.deepEqual(vb.top, ["global"]);
  near(vb.p.get("reg-per-io")!, 0.0079, 1e-4);
  assert.equal(vsBestCell(best[0], best[0], vb), "best");
  assert.equal(vsBestCell(best[1], best[0], vb), "50% p=0.008");
  // The case: 440 IO/s ±35 % against 314 ±27 %: the repetitions overlap, so the two are tied.
  const tie = [
    rp("reg-per-io", [290, 380, 440, 520, 594]),
    rp("global", [230, 300, 314, 360, 400]),
    rp("mw1", [100, 104, 98, 101, 99]),
  ];
  const vt = judgeBest(tie);
  assert.equal(vt.kind, "tied");
  assert.deepEqual(vt.top, ["reg-per-io", "global"]);
  assert.equal(vsBestCell(tie[0], tie[0], vt), "tied");
  assert.match(vsBestCell(tie[1], tie[0], vt), /^tied 71%$/);
  assert.match(vsBestCell(tie[2], tie[0], vt), /^23% p=0\.008$/);
  // One repetition: no test can tell; the top is the top, not the best.
  const one = [rp("global", [400]), rp("mw1", [100])];
  const vo = judgeBest(one);
  assert.equal(vo.kind, "untested");
  assert.equal(vsBestCell(one[0], one[0], vo), "top");
  assert.equal(vsBestCell(one[1], one[0], vo), "25%");
  // Three repetitions each: p can never go below 0.1, so nothing is ranked either.
  assert.equal(judgeBest([rp("global", [400, 401, 402]), rp("mw1", [1, 2, 3])]).kind, "untested");
});

/** A copy of a fixture with its document changed, as a temporary file. */
function mutated(path: string, f: (d: Record<string, unknown>) => void): string {
  const d = JSON.parse(Deno.readTextFileSync(path));
  f(d);
  const out = Deno.makeTempFileSync({ suffix: ".json" });
  Deno.writeTextFileSync(out, JSON.stringify(d));
  return out;
}

Deno.test("compare: a true 2× change is flagged with its p, a change inside the noise is not; geometric mean", () => {
  // Both runs' repetitions spread ±3 % around each point's rate (the fixture's own spread is up to ±77 %,
  // inside which even 2× cannot be told apart from 5 repetitions); in B, point 0 doubles and point 1 moves 3 %.
  const noise = [0.97, 1.01, 1, 0.99, 1.03];
  const run = (k: (i: number) => number) =>
    loadResult(mutated(FIXTURES.single, (d) => {
      for (const [i, p] of (d.results as PointIn[]).entries()) {
        p.iops *= k(i);
        for (const [j, r] of (p.reps ?? []).entries()) r.iops = p.iops * noise[j];
      }
    }));
  const a = run(() => 1), b = run((i) => i === 0 ? 2 : i === 1 ? 1.03 : 1);
  const m = compareRuns([a, b]);
  const rate = m.bench!.figures.filter((f) => f.metric === "I/O rate");
  assert.equal(rate[0].changes[1], "up");
  near(rate[0].p![1]!, 0.0079, 1e-4);
  assert.equal(rate[1].changes[1], "same");
  assert.ok(rate[1].p![1]! > 0.01);
  assert.ok(rate.slice(2).every((f) => f.changes[1] === "same"), "unchanged points are not flagged");
  const md = compareMarkdown(m);
  assert.match(md, /2\.00× ▲ p=0\.008/);
  assert.match(md, /How to read these figures/);
  // Geometric mean of the I/O rate ratios: (2 · 1.03)^(1/12) over the fixture's 12 points.
  const g = m.bench!.geomean!.find((x) => x.metric === "I/O rate" && x.run === 1)!;
  assert.equal(g.n, 12);
  near(g.mean, (2 * 1.03) ** (1 / 12), 1e-9);
  near(g.max, 2, 1e-9);
  assert.match(md, /I\/O rate B ÷ A: geometric mean 1\.06×/);
  // One repetition per point (the schema 1 fixtures): ratios, no flags.
  const v1 = compareRuns([loadResult(FIXTURES.bench61), loadResult(FIXTURES.benchSid)]);
  assert.ok(
    v1.bench!.figures.filter((f) => f.metric === "I/O rate").every((f) => f.changes[1] === "unknown"),
  );
});

Deno.test("geometric mean: constructed ratios", () => {
  const g = geometricMean([2, 0.5, 4, 0.25])!;
  near(g.mean, 1, 1e-12);
  near(g.min, 0.25, 1e-12);
  near(g.max, 4, 1e-12);
  // sd of ln r = ln 2 · sqrt((1 + 1 + 4 + 4) / 3)
  near(g.gsd, Math.exp(Math.LN2 * Math.sqrt(10 / 3)), 1e-9);
  near(geometricMean([1.1, 1.1, 1.1])!.mean, 1.1, 1e-12);
  assert.equal(geometricMean([]), null);
});

Deno.test("percentiles: p99 needs 100 samples, p99.9 1000; the table says n<100 below that", () => {
  assert.deepEqual([samplesFor(50), samplesFor(90), samplesFor(99), samplesFor(99.9)], [2, 10, 100, 1000]);
  assert.ok(percentileSupported(99, 100) && !percentileSupported(99, 99));
  assert.ok(percentileSupported(99.9, 1000) && !percentileSupported(99.9, 999));
  assert.ok(percentileSupported(100, 1), "max is always the largest sample");
  const d = JSON.parse(Deno.readTextFileSync(FIXTURES.single)) as { results: PointIn[] };
  const t = strategyTable(d.results);
  const thin = d.results.filter((p) => p.status === "ok" && p.latency.count < 100);
  assert.ok(thin.length > 0, "the fixture has points under 100 samples");
  assert.match(t, /n<100/);
  assert.match(t, /p99 needs ≥ 100 samples/);
});

Deno.test("regcost: the paired ratio reads the blocks, not the pooled p50s, when a mode switch splits them", () => {
  // The case: the verb is bimodal (~70 µs or ~150 µs) and the mode follows time; each adjacent
  // memreg/C block pair shares its mode and memreg is 5 % slower. memreg happened to get more samples in the
  // slow blocks and C in the fast ones: memreg's pooled p50 lands in the slow mode, C's in the fast.
  const r = rng(3);
  const js: number[] = [], c: number[] = [], jsMarks = [0], cMarks = [0];
  for (let b = 0; b < 16; b++) {
    const slow = b < 8, at = slow ? 150_000 : 70_000;
    js.push(...lognormal(slow ? 110 : 90, at * 1.05, 0.03, r));
    c.push(...lognormal(slow ? 90 : 110, at, 0.03, r));
    jsMarks.push(js.length);
    cMarks.push(c.length);
  }
  const pooled = summarizeSamples(js).p50Ns / summarizeSamples(c).p50Ns;
  assert.ok(pooled > 1.9, `pooled p50 ratio ${pooled} (the issue saw 1.98)`);
  const f = (xs: number[]) => Float64Array.from(xs);
  const paired = blockPairs(
    { a: f(js), b: f(js), marks: jsMarks },
    { a: f(c), b: f(c), marks: cMarks },
  )!;
  near(paired[0].median, 1.05, 0.02, "paired median");
  assert.equal(paired[0].pairs, 16);
  assert.ok(paired[0].lo <= paired[0].median && paired[0].median <= paired[0].hi);
  assert.ok(paired[0].hi < 1.1 && paired[0].lo > 1.0, `interval ${paired[0].lo}–${paired[0].hi}`);
  // Both sides are said to be bimodal, with each mode's median.
  for (const [side, at] of [[js, 1.05], [c, 1]] as const) {
    const s = summarizeSamples(side);
    assert.equal(s.modes?.length, 2, JSON.stringify(s.modes));
    near(s.modes![0].p50Ns / (70_000 * at), 1, 0.03, "fast mode");
    near(s.modes![1].p50Ns / (150_000 * at), 1, 0.03, "slow mode");
    near(s.modes![0].share + s.modes![1].share, 1, 1e-9);
  }
  // Per-pair ratios with a known median and distribution-free interval (16 pairs: ranks 4 and 13).
  const pr = pairedRatio(Array.from({ length: 16 }, (_, i) => 10 + i), Array(16).fill(10))!;
  assert.deepEqual([pr.median, pr.lo, pr.hi, pr.pairs], [1.75, 1.3, 2.2, 16]);
});

Deno.test("modes: one for unimodal, skewed or uniform samples; two for well-separated ones; few samples: one", () => {
  const r = rng(11);
  assert.equal(modes(lognormal(2000, 70_000, 0.3, r)).length, 1, "log-normal");
  assert.equal(modes(Array.from({ length: 2000 }, () => 70_000 * (1 + r()))).length, 1, "uniform");
  assert.equal(
    modes(lognormal(2000, 1, 1, r).map((x) => 70_000 * Math.exp(Math.abs(Math.log(x))))).length,
    1,
    "half-normal in logs (a tail)",
  );
  const bi = [...lognormal(700, 70_000, 0.05, r), ...lognormal(300, 150_000, 0.05, r)];
  const m = modes(bi);
  assert.equal(m.length, 2);
  near(m[0].share, 0.7, 0.01);
  near(m[0].p50Ns, 70_000, 2_000);
  near(m[1].p50Ns, 150_000, 4_000);
  // A 5 % cluster is not a mode (under 10 % of the samples); 40 samples are too few to say.
  assert.equal(modes([...lognormal(950, 70_000, 0.05, r), ...lognormal(50, 700_000, 0.05, r)]).length, 1);
  assert.equal(modes([...lognormal(20, 70_000, 0.05, r), ...lognormal(20, 150_000, 0.05, r)]).length, 1);
  // A unimodal sample's summary has no modes field (documents stay as they were).
  assert.equal(summarizeSamples(lognormal(500, 70_000, 0.2, r)).modes, undefined);
});
