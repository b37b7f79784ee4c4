// Statistics, ranking, data checks and the result schema: pure code, no device.
import assert from "node:assert/strict";
import {
  emptySummary,
  medianCiRanks,
  newHistogram,
  p50Of,
  summarize,
  summarizeSamples,
} from "../../bench/stats.ts";
import { spreadOf } from "../../bench/point.ts";
import { Verifier } from "../../bench/verify.ts";
import { DataError } from "../../bench/errors.ts";
import { strategyTable } from "../../reports/bench/table.ts";
import { rankPerSize } from "../../reports/bench/rank.ts";
import type { PointResult } from "../../bench/point.ts";

Deno.test("exact percentiles, mean and stdev of a small sample", () => {
  const s = summarizeSamples([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
  assert.equal(s.count, 10);
  assert.equal(s.p50Ns, 5);
  assert.equal(s.p90Ns, 9);
  assert.equal(s.p99Ns, 10);
  assert.equal(s.maxNs, 10);
  assert.equal(s.minNs, 1);
  assert.equal(s.meanNs, 6); // 5.5 rounds to 6
  assert.equal(s.stdevNs, 3); // population stdev 2.87
  assert.deepEqual(summarizeSamples([]), emptySummary());
});

Deno.test("HdrHistogram summary agrees with exact figures within its 3 significant digits", () => {
  const h = newHistogram();
  const xs: number[] = [];
  for (let i = 1; i <= 10_000; i++) xs.push(1000 + ((i * 7919) % 10_000) * 37); // 1 µs .. 371 µs, spread
  for (const x of xs) h.recordValue(x);
  const hs = summarize(h), ex = summarizeSamples(xs);
  for (const k of ["p50Ns", "p90Ns", "p99Ns", "p999Ns", "maxNs", "meanNs"] as const) {
    assert.ok(Math.abs(hs[k] - ex[k]) <= ex[k] * 0.001 + 1, `${k}: hdr ${hs[k]} vs exact ${ex[k]}`);
  }
  assert.equal(hs.count, 10_000);
  h.reset();
  assert.equal(summarize(h).count, 0);
});

Deno.test("HdrHistogram mean and stdev over the used buckets equal the library's own walk of every bucket", () => {
  const h = newHistogram();
  let x = 7;
  for (let i = 0; i < 3000; i++) {
    x = (x * 48271) % 2147483647;
    h.recordValue(500 + (x % 40_000_000) * ((i % 7) + 1));
  }
  const s = summarize(h);
  assert.equal(s.meanNs, Math.round(h.mean));
  assert.equal(s.stdevNs, Math.round(h.stdDeviation));
  assert.equal(p50Of(h), s.p50Ns);
  const one = newHistogram();
  one.recordValue(123_456);
  assert.equal(summarize(one).stdevNs, 0);
  assert.equal(summarize(one).meanNs, Math.round(one.mean));
});

Deno.test("HdrHistogram percentiles never exceed the observed max nor undercut the min", () => {
  const h = newHistogram();
  // The figures of a default run: the top bucket's upper end (13,516,799) lies above the one slow I/O.
  for (let i = 0; i < 10; i++) h.recordValue(1000 + i);
  h.recordValue(13_512_220);
  const s = summarize(h);
  assert.equal(s.maxNs, 13_512_220);
  for (const k of ["p50Ns", "p90Ns", "p99Ns", "p999Ns"] as const) {
    assert.ok(s[k] <= s.maxNs, `${k} ${s[k]} > max ${s.maxNs}`);
    assert.ok(s[k] >= s.minNs, `${k} ${s[k]} < min ${s.minNs}`);
  }
  assert.equal(s.p999Ns, 13_512_220);
  h.reset();
  h.recordValue(1_000_001); // a single value: every percentile is that value, not its bucket's edges
  const one = summarize(h);
  assert.deepEqual([one.p50Ns, one.p999Ns, one.minNs, one.maxNs], [
    1_000_001,
    1_000_001,
    1_000_001,
    1_000_001,
  ]);
});

function point(
  strategy: string,
  op: string,
  size: number,
  iops: number,
  status: PointResult["status"] = "ok",
): PointResult {
  return {
    strategy,
    op,
    size,
    pages: "4k",
    depth: 1,
    status,
    reason: status === "ok" ? undefined : { message: "odp_caps.general_caps lacks IBV_ODP_SUPPORT" },
    reuse: "rotate",
    buffers: 8,
    layout: "contiguous",
    sweep: false,
    workingSetBytes: 8 * size,
    sgeLimit: 1,
    perIo: { registrations: 1, segments: 1, rdmaOps: 1, sges: 1 },
    exposure: { ratio: 1, maxRatio: 1, meanBytes: size },
    keyLifetime: { ends: "revoke", n: 100, meanNs: 5000, maxNs: 9000, atTeardown: 0 },
    hitRate: null,
    ios: status === "ok" ? 100 : 0,
    reps: [],
    spread: null,
    iops,
    bytesPerSec: iops * size,
    mbPerSec: (iops * size) / 1e6,
    latency: {
      ...emptySummary(),
      count: 100,
      p50Ns: 1e9 / (iops || 1),
      p99Ns: 2e9 / (iops || 1),
      meanNs: 1,
      maxNs: 1,
    },
    split: {
      exposeNs: 100,
      transferNs: 200,
      revokeNs: 50,
      copyNs: 0,
      verifyNs: 1,
      exposeVerbNs: 80,
      revokeVerbNs: 40,
      mapNs: 0,
    },
    cpu: { userUs: 1, systemUs: 1, perIoUs: 20 },
    peakPinnedBytes: size,
    counters: null,
    verify: { mode: "sampled", unit: "words", perIo: 2 },
    wallMs: 10,
  } as PointResult;
}

Deno.test("ranking: per (op, pages, depth, size), best I/O rate first; writes before reads, small sizes first", () => {
  const pts = [
    point("reg-per-io", "read", 4096, 100),
    point("global", "read", 4096, 300),
    point("mw1", "write", 65536, 50),
    point("global", "write", 65536, 80),
    point("bounce", "write", 4096, 90),
    point("global", "write", 4096, 200),
  ];
  const groups = rankPerSize(pts);
  assert.deepEqual(groups.map((g) => `${g.key.op} ${g.key.size}`), [
    "write 4096",
    "write 65536",
    "read 4096",
  ]);
  assert.deepEqual(groups[0].ranked.map((p) => p.strategy), ["global", "bounce"]);
  assert.deepEqual(groups[1].ranked.map((p) => p.strategy), ["global", "mw1"]);
  assert.deepEqual(groups[2].ranked.map((p) => p.strategy), ["global", "reg-per-io"]);
});

Deno.test("the table ranks per size and lists what did not run with its reason", () => {
  const t = strategyTable([
    point("mw1", "write", 4096, 50),
    point("global", "write", 4096, 100),
    point("odp", "write", 4096, 0, "unsupported"),
  ]);
  const lines = t.split("\n");
  const g = lines.findIndex((l) => /global/.test(l));
  const m = lines.findIndex((l) => /mw1/.test(l));
  assert.ok(g > 0 && m > g, t);
  // One repetition per point: ordered by rate, not ranked (no test can tell).
  assert.match(lines[g], /top$/);
  assert.match(lines[m], /50%$/);
  assert.match(t, /not ranked: 1 repetition/);
  assert.match(t, /odp unsupported: odp_caps.general_caps lacks IBV_ODP_SUPPORT/);
});

Deno.test("sampled verification catches a lost page, a stale I/O and a torn tail; full catches one byte", () => {
  const len = 5 * 4096 + 100;
  const mem = new Uint8Array(len + 64);
  const view = new DataView(mem.buffer);
  const v = new Verifier("sampled");
  v.stamp(view, mem, 16, len, 7);
  v.check(view, mem, 16, len, 7, "ok");
  assert.throws(() => v.check(view, mem, 16, len, 8, "stale"), DataError);
  const lost = mem.slice();
  lost.fill(0, 16 + 2 * 4096, 16 + 3 * 4096);
  assert.throws(() => v.check(new DataView(lost.buffer), lost, 16, len, 7, "lost page"), /byte 8192/);
  const torn = mem.slice();
  torn[16 + len - 1] ^= 1;
  assert.throws(() => v.check(new DataView(torn.buffer), torn, 16, len, 7, "tail"), DataError);
  const f = new Verifier("full");
  f.stamp(view, mem, 0, 4096, 3);
  f.check(view, mem, 0, 4096, 3, "ok");
  mem[1234] ^= 0x10;
  assert.throws(() => f.check(view, mem, 0, 4096, 3, "flip"), /byte 1234/);
  assert.equal(v.checkedPerIo(8 << 20).count, 2049);
});

Deno.test("median CI: exact binomial order-statistic ranks, none below six samples", () => {
  // Known 95 % ranks (Conover, Practical Nonparametric Statistics, table A3; and the normal approximation).
  assert.equal(medianCiRanks(5), null);
  assert.deepEqual(medianCiRanks(6), [1, 6]);
  assert.deepEqual(medianCiRanks(10), [2, 9]);
  assert.deepEqual(medianCiRanks(20), [6, 15]);
  assert.deepEqual(medianCiRanks(100), [40, 61]);
  assert.deepEqual(medianCiRanks(1000), [469, 532]);
  const s = summarizeSamples([10, 2, 9, 3, 8, 4, 7, 5, 6, 1]);
  assert.deepEqual(s.p50CiNs, [2, 9]);
  assert.equal(summarizeSamples([1, 2, 3]).p50CiNs, undefined);
});

Deno.test("spread of repetitions: min/median/max and the confidence of [min, max] for the median", () => {
  const rep = (iops: number, p50Ns: number) => ({
    ios: 10,
    elapsedNs: 1e9,
    iops,
    bytesPerSec: iops * 4096,
    p50Ns,
  });
  const s = spreadOf([rep(100, 9), rep(120, 7), rep(90, 11), rep(110, 8), rep(105, 10)])!;
  assert.equal(s.n, 5);
  assert.equal(s.confidence, 0.9375);
  assert.deepEqual(s.iops, { min: 90, median: 105, max: 120 });
  assert.deepEqual(s.p50Ns, { min: 7, median: 9, max: 11 });
  assert.deepEqual(spreadOf([rep(1, 1), rep(3, 1)])!.iops, { min: 1, median: 2, max: 3 });
  assert.equal(spreadOf([rep(1, 1)])!.confidence, 0);
  assert.equal(spreadOf([]), null);
});
