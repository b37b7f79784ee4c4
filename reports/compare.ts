// `memreg compare`: runs side by side, the first of each kind as the baseline. Conformance differences come
// first (a case whose result or observed facts changed, a new known deviation), then the bench: points whose
// status changed (a strategy appearing, or failing), and every figure with its ratio to the baseline. A change
// is flagged only when a two-sided Mann–Whitney U test over both runs' repetitions gives p < ALPHA (or, for
// figures recorded with an interval of the median alone, when the intervals do not overlap); where the test
// cannot tell (too few repetitions), the ratio is shown and the change is said to be unknown. Per compared run,
// the geometric mean of the points' ratios sums the comparison up (pyperf style).
// Mismatched runs are compared where they overlap, and what was left out is said. Two-host runs: each run is
// labelled with its setup (single process, one pair, merged pairs; reports/pairs.ts), and where a run holds
// several pairs, points are matched per pair, a pair that not every run has being listed as unmatched.
import type { BenchRun, Loaded, SuiteRun } from "./load.ts";
import { type Severity, severityOf } from "../conformance/severity.ts";
import type { CaseResult } from "../conformance/model.ts";
import type { LatencyIn, PointIn, RegcostIn, RegscaleIn } from "./schema/bench.ts";
import { fmtSize } from "./html/runtime.js";
import { docPairs, type PairPart, pairParts, setupLine } from "./pairs.ts";
import { pairLabel, pairNumber } from "../record/pair.ts";
import { ALPHA, type GeoMean, geometricMean, mannWhitney, testable } from "../common/stats.ts";
import { transportName } from "./transport.ts";

/** A compared run as the comparison names it: device, kernel, setup, whether complete. */
export interface RunRef {
  name: string;
  kind: "bench" | "conformance";
  device: string;
  /** Single process, one pair (whose document), or merged pairs, with the hosts and devices (reports/pairs.ts). */
  setup: string;
  /** The pairs the run names (none for a single process). */
  pairs: { n: number; label: string }[];
  model: string;
  /** The device's transport as its users name it: RoCE v2, iWARP, InfiniBand (reports/transport.ts). */
  transport: string;
  /** How its QPs were connected: by GID or through rdma_cm (older documents: by GID). */
  connection: "gid" | "rdma_cm";
  kernel: string;
  startedAt: string;
  complete: boolean;
  testbed: boolean;
}

/** A conformance case that differs between the runs, and how. */
export interface CaseDiff {
  id: string;
  title: string;
  rule: string;
  /** Per run (baseline first): class, or null when the run did not have the case. */
  classes: (string | null)[];
  verdicts: (string | null)[];
  /** Per run: the severity of its deviation (conformance/severity.ts), null for none or no case. */
  severities: (Severity | null)[];
  /** Facts that differ: name → value per run ("–" when not observed). */
  facts: Record<string, string[]>;
  change:
    | "regression"
    | "new deviation"
    | "verdict changed"
    | "now runs"
    | "no longer runs"
    | "fixed"
    | "class changed"
    | "facts changed"
    | "missing";
}

/** The conformance runs compared: their counts, the cases that differ and what was left out. */
export interface ConformanceCompare {
  runs: RunRef[];
  counts: Partial<Record<string, number>>[];
  diffs: CaseDiff[];
  leftOut: string[];
}

/** A value's move against the baseline, judged against the spread of both runs. */
export type Change = "up" | "down" | "same" | "unknown";

/** One metric of one point (or regcost or MW entry) across the runs. */
export interface FigureDiff {
  /** strategy op size pages depth (bench points) or access pages size (regcost) or verb (MW). */
  key: string;
  /** The pair whose points these are, where a run holds several pairs (null: point by point). */
  pair: number | null;
  group: string;
  metric: string;
  unit: "IO/s" | "B/s" | "ns" | "count" | "ratio" | "fraction";
  /** Higher is better (rates) or lower is better (times). */
  better: "higher" | "lower";
  values: (number | null)[];
  /** value / baseline value, per run (null for the baseline and where either is missing). */
  ratios: (number | null)[];
  /** Per run: beyond the spread (up/down = the value went up/down), within it (same), or no spread known. */
  changes: (Change | null)[];
  /** Per run: the U test's two-sided p against the baseline where the repetitions allowed one (null otherwise). */
  p?: (number | null)[];
}

/** The geometric mean of one metric's per-point ratios (run ÷ baseline) for one compared run. */
export interface GeoMeanSummary extends GeoMean {
  metric: string;
  /** The compared run's index (1 = B). */
  run: number;
}

/** A point whose status (ok, unsupported, failed, limited) differs between the runs. */
export interface StatusChange {
  key: string;
  pair: number | null;
  statuses: string[];
  reasons: string[];
  /** The point (absent for a late access or regcost row): what rows of one strategy are grouped by. */
  point?: PointId;
}

/**
 * Status changes as rows to show: the points of one strategy and layout whose statuses and reasons are the same
 * in every run are one row ("mw1: 14 points, write, read, 4 KiB–8 MiB"), since a device that lacks a capability
 * changes every point of the strategies that need it; other changes stay one row each.
 */
export function statusRows(changes: StatusChange[]): StatusChange[] {
  const groups = new Map<string, StatusChange[]>();
  for (const c of changes) {
    const id = c.point
      ? JSON.stringify([c.pair, c.point.strategy, c.point.layout ?? "", c.statuses, c.reasons])
      : `row ${groups.size}`;
    groups.set(id, [...groups.get(id) ?? [], c]);
  }
  return [...groups.values()].map((g) => {
    if (g.length === 1) return g[0];
    const ps = g.map((c) => c.point!);
    const sizes = ps.map((p) => p.size);
    const [lo, hi] = [Math.min(...sizes), Math.max(...sizes)];
    const ops = [...new Set(ps.map((p) => p.op))].join(", ");
    const range = lo === hi ? fmtSize(lo) : `${fmtSize(lo)}–${fmtSize(hi)}`;
    const layout = ps[0].layout === "pages" ? " page list" : "";
    return {
      ...g[0],
      key: `${ps[0].strategy}${layout}: ${g.length} points, ${ops}, ${range}`,
      point: undefined,
    };
  });
}

/** The bench runs compared: status changes, metric differences and what was left out. */
export interface BenchCompare {
  runs: RunRef[];
  statusChanges: StatusChange[];
  figures: FigureDiff[];
  leftOut: string[];
  /** How the spread was known: e.g. "repetitions (n = 5) in both runs" or why not. */
  spread: string;
  /** How points were matched where a run is a pair or holds several (null: no run is a pair). */
  pairing: string | null;
  /** Per compared run and headline metric (I/O rate, p50 latency): the geometric mean of the points' ratios. */
  geomean?: GeoMeanSummary[];
}

/** What `memreg compare` computes, rendered as text, Markdown or HTML (and written as JSON). */
export interface CompareModel {
  tool: "memreg";
  kind: "compare";
  conformance: ConformanceCompare | null;
  bench: BenchCompare | null;
}

/** A loaded run as the comparison names it. */
export function runRef(r: Loaded): RunRef {
  const pairs = docPairs(r.doc);
  const ends = [...new Set(pairs.map((p) => `${p.server.device.name}↔${p.client.device.name}`))].join(", ");
  return {
    name: r.name,
    kind: r.kind,
    device: pairs.length > 1
      ? `${ends} (${pairs.length} pairs)`
      : pairs.length
      ? `${ends} (${pairs[0].role})`
      : r.doc.device.name,
    setup: setupLine(r.doc),
    pairs: pairs.map((p, i) => ({ n: pairNumber(p, i), label: pairLabel(p) })),
    model: r.doc.device.model,
    transport: transportName(r.doc.device),
    connection: r.doc.device.connection ?? "gid",
    kernel: r.doc.host.kernel,
    startedAt: r.doc.startedAt,
    complete: r.status.complete,
    testbed: r.doc.host.testbed,
  };
}

/** A, B, C…: the runs of a comparison, the baseline first. */
export const letter = (i: number) => String.fromCharCode(65 + i);

/** "A: rxe0, 6.1.0-56-amd64": a run's letter, device and kernel (incomplete runs say so). */
export const runLabel = (r: RunRef, i: number) =>
  `${letter(i)}: ${r.device}, ${r.kernel}${r.complete ? "" : " (incomplete)"}`;

/** "rxe0 · RoCE v2 · rdma_cm": a run's device, its transport and, where not by GID, how its QPs connected. */
export const deviceLine = (r: RunRef) =>
  `${r.device} (${r.model}) · ${r.transport}${r.connection === "rdma_cm" ? " · rdma_cm" : ""}`;

/**
 * A run's column head: its letter, and where the runs are of more than one device, the device with its
 * transport ("B siw0 · iWARP"), so a table of devices side by side says which column is which.
 */
export function runHead(runs: RunRef[], i: number): string {
  const devices = new Set(runs.map((r) => r.device));
  return devices.size > 1 ? `${letter(i)} ${runs[i].device} · ${runs[i].transport}` : letter(i);
}

/**
 * The line that says what a comparison of different transports shows (null for runs of one transport): a
 * difference there is one provider against the other, not a change over time, and the same kernel (or not)
 * says whether the kernel is out of the picture.
 */
export function transportsLine(runs: RunRef[]): string | null {
  const kinds = [...new Set(runs.map((r) => r.transport))];
  if (kinds.length < 2) return null;
  const kernels = new Set(runs.map((r) => r.kernel));
  return `Devices of ${kinds.length} transports side by side: ${
    runs.map((r, i) => `${letter(i)} ${r.device} (${r.transport})`).join(", ")
  }${
    kernels.size === 1 ? `, on the same kernel (${runs[0].kernel})` : ", on different kernels"
  }. A difference here (a figure beyond the spread, a regression, a new deviation) is one provider against the ` +
    "other, not a change over time.";
}

/** A figure's or status change's point, with its pair where points are matched per pair. */
export const pointName = (x: { key: string; pair: number | null }) =>
  x.pair === null ? x.key : `pair ${x.pair}: ${x.key}`;

const ignoredFact = (k: string) => /(^|\.)((duration|ms|ns|us)$|addr|rkey|lkey|key$|pid)/i.test(k);

function compareSuites(runs: SuiteRun[]): ConformanceCompare {
  const ids = [...new Set(runs.flatMap((r) => r.doc.results.map((c) => c.id)))];
  const diffs: CaseDiff[] = [];
  const leftOut: string[] = [];
  for (const id of ids) {
    const cs = runs.map((r) => r.doc.results.find((c) => c.id === id) ?? null);
    const first = cs.find((c) => c)!;
    const classes = cs.map((c) => c?.class ?? null);
    const verdicts = cs.map((c) => c?.deviation?.verdict ?? null);
    const factKeys = [...new Set(cs.flatMap((c) => Object.keys(c?.observed ?? {})))].filter((k) =>
      !ignoredFact(k)
    );
    // Facts are compared between the runs that observed something (an unsupported case observes nothing).
    const saw = (c: typeof cs[number]) => !!c && Object.keys(c.observed).length > 0;
    const facts: Record<string, string[]> = {};
    if (cs.filter(saw).length > 1) {
      for (const k of factKeys) {
        const vs = cs.map((c) => saw(c) ? String(c!.observed[k] ?? "–") : "(not observed)");
        if (new Set(vs.filter((v) => v !== "(not observed)")).size > 1) facts[k] = vs;
      }
    }
    let change: CaseDiff["change"] | null = null;
    const base = classes[0];
    if (cs.some((c) => !c)) change = "missing";
    else if (classes.some((c) => c !== base)) {
      const good = (c: string | null) =>
        c === "pass" || c === "known" || c === "unsupported" || c === "observed";
      change = classes.some((c) => good(base) && !good(c))
        ? "regression"
        : classes.some((c) => c === "known" && base !== "known" && base !== "unsupported")
        ? "new deviation"
        : base === "unsupported"
        ? "now runs"
        : classes.includes("unsupported")
        ? "no longer runs"
        : classes.some((c) => !good(base) && good(c))
        ? "fixed"
        : "class changed";
    } else if (verdicts.some((v) => v !== verdicts[0])) change = "verdict changed";
    else if (Object.keys(facts).length) change = "facts changed";
    if (change) {
      const severities = cs.map((c) => c ? severityOf(c as CaseResult) : null);
      diffs.push({
        id,
        title: first.title,
        rule: first.source,
        classes,
        verdicts,
        severities,
        facts,
        change,
      });
    }
  }
  const order = [
    "regression",
    "new deviation",
    "verdict changed",
    "now runs",
    "no longer runs",
    "fixed",
    "class changed",
    "facts changed",
    "missing",
  ];
  diffs.sort((a, b) => order.indexOf(a.change) - order.indexOf(b.change) || a.id.localeCompare(b.id));
  const missing = diffs.filter((d) => d.change === "missing");
  for (const [i, r] of runs.entries()) {
    const absent = missing.filter((d) => d.classes[i] === null).map((d) => d.id);
    if (absent.length) {
      leftOut.push(
        `${absent.length} case(s) not in ${r.name}: ${absent.slice(0, 8).join(", ")}${
          absent.length > 8 ? ", …" : ""
        }`,
      );
    }
  }
  return { runs: runs.map(runRef), counts: runs.map((r) => r.doc.counts), diffs, leftOut };
}

/** What identifies a point across runs (and within one, with its working set). */
export interface PointId {
  strategy: string;
  op: string;
  size: number;
  pages: string;
  depth: number;
  layout?: string;
  sweep?: boolean;
  buffers: number;
  workingSetBytes?: number;
}

/**
 * "rcache write 16 KiB 4k qd1", with " page list" for the page layout, and the working set where a point is
 * one of several (the sweep's, or a --working-set run's: `withWorkingSet`).
 */
export const pointKey = (p: PointId, withWorkingSet = p.sweep === true) =>
  `${p.strategy} ${p.op} ${fmtSize(p.size)} ${p.pages} qd${p.depth}${
    p.layout === "pages" ? " page list" : ""
  }${withWorkingSet ? ` ws ${p.workingSetBytes ? fmtSize(p.workingSetBytes) : `${p.buffers} buffers`}` : ""}${
    p.sweep ? " (sweep)" : ""
  }`;
/** "pair 1 · " before a figure group where figures are matched per pair: a chart of a group never mixes pairs. */
const groupAt = (pair: number | null) => pair === null ? "" : `pair ${pair} · `;
const pointGroup = (p: PointIn) =>
  `${p.op} ${p.layout === "pages" ? "page list" : p.pages} qd${p.depth}${p.sweep ? " sweep" : ""}`;

/** Intervals for the median from both runs: non-overlapping = a change beyond the run-to-run spread. */
type Interval = [number, number] | null;
/** A compared value: the figure, its interval of the median, the repetitions' own values. */
type Val = { v: number; iv: Interval; reps?: number[] };

/**
 * The change of `other` against `base`: by a U test over both runs' repetitions where both have enough for
 * the test to reach ALPHA, else by non-overlapping intervals where only intervals are recorded (regcost's
 * 95 % intervals of the median), else unknown.
 */
function judge(base: Val, other: Val): { change: Change; p: number | null } {
  const a = base.reps ?? [], b = other.reps ?? [];
  if (a.length > 1 && b.length > 1) {
    if (!testable(a.length, b.length)) return { change: "unknown", p: null };
    const t = mannWhitney(a, b)!;
    const up = median(b) > median(a);
    return { change: t.p < ALPHA ? (up ? "up" : "down") : "same", p: t.p };
  }
  if (a.length > 1 || b.length > 1 || !base.iv || !other.iv) return { change: "unknown", p: null };
  if (other.iv[0] > base.iv[1]) return { change: "up", p: null };
  if (other.iv[1] < base.iv[0]) return { change: "down", p: null };
  return { change: "same", p: null };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

const spreadOf = (p: PointIn, k: "iops" | "bytesPerSec" | "p50Ns"): Interval =>
  p.spread && p.spread.n > 1 && p.spread.confidence > 0 ? [p.spread[k].min, p.spread[k].max] : null;
/** The repetitions' own values of a figure (one value per repetition; absent where not recorded). */
const repsOf = (p: PointIn, k: "iops" | "bytesPerSec" | "p50Ns"): number[] | undefined => {
  const xs = (p.reps ?? []).map((r) => r[k]).filter((v): v is number => typeof v === "number");
  return xs.length ? xs : undefined;
};
const ciOf = (l: LatencyIn | undefined): Interval => l?.p50CiNs ? [l.p50CiNs[0], l.p50CiNs[1]] : null;

function figure(
  key: string,
  pair: number | null,
  group: string,
  metric: string,
  unit: FigureDiff["unit"],
  better: FigureDiff["better"],
  vals: (Val | null)[],
): FigureDiff {
  const b = vals[0];
  const judged = vals.map((x, i) => i === 0 || !x || !b ? null : judge(b, x));
  return {
    key,
    pair,
    group,
    metric,
    unit,
    better,
    values: vals.map((x) => x?.v ?? null),
    ratios: vals.map((x, i) => i === 0 || !x || !b || !b.v ? null : x.v / b.v),
    changes: judged.map((j) => j?.change ?? null),
    p: judged.map((j) => j?.p ?? null),
  };
}

function dims(r: BenchRun) {
  const c = r.doc.config;
  return {
    sizes: c.sizes.map(fmtSize),
    ops: c.ops as string[],
    strategies: c.strategies as string[],
    depths: c.depths.map(String),
    pages: c.pages as string[],
    layouts: (c.layouts ?? ["contiguous"]) as string[],
  };
}

function compareBench(runs: BenchRun[]): BenchCompare {
  const leftOut: string[] = [];
  const base = dims(runs[0]);
  for (const [i, r] of runs.entries()) {
    if (i === 0) continue;
    const d = dims(r);
    for (const k of Object.keys(base) as (keyof typeof base)[]) {
      const onlyA = base[k].filter((v) => !d[k].includes(v)),
        onlyB = d[k].filter((v) => !base[k].includes(v));
      if (onlyA.length) {
        leftOut.push(`${k} ${onlyA.join(", ")} only in the baseline ${runs[0].name}, not in ${r.name}`);
      }
      if (onlyB.length) leftOut.push(`${k} ${onlyB.join(", ")} only in ${r.name}, not in the baseline`);
    }
  }
  // A run that swept working sets (--working-set) has several points per strategy/op/size: the set joins the key.
  const keyIn = (r: BenchRun) => (p: PointId) => pointKey(p, p.sweep === true || !!r.doc.config.workingSets);
  // A merged document holds every pair's points: where any run does, points are matched per pair (pair n of
  // one run against pair n of the others; a single process or a lone pair counts as its own number, or 0).
  // Otherwise point by point, whatever each run's setup (a single process against a pair).
  const parts = runs.map((r) => pairParts(r.doc));
  const perPair = parts.some((ps) => ps.length > 1);
  const numOf = (part: { n: number | null }) => perPair ? part.n ?? 0 : null;
  const keyed = runs.map((r, i) =>
    new Map(
      parts[i].flatMap((part) =>
        part.results.map((p) => {
          const key = keyIn(r)(p), pair = numOf(part);
          return [`${pair}|${key}`, { key, pair, p }] as const;
        })
      ),
    )
  );
  const keys = [...keyed[0].keys()].filter((k) => keyed.every((m) => m.has(k)));
  for (const [i, r] of runs.entries()) {
    const missing = r.status.complete ? 0 : [...keyed[0].keys()].filter((k) => !keyed[i].has(k)).length;
    if (missing) leftOut.push(`${missing} baseline point(s) not measured in the incomplete run ${r.name}`);
  }
  if (perPair) leftOut.push(...unmatchedPairs(runs, parts, keyed));
  const statusChanges: StatusChange[] = [];
  const figures: FigureDiff[] = [];
  for (const id of keys) {
    const { key: k, pair } = keyed[0].get(id)!;
    const ps = keyed.map((m) => m.get(id)!.p);
    if (ps.some((p) => p.status !== ps[0].status)) {
      statusChanges.push({
        key: k,
        pair,
        statuses: ps.map((p) => p.status),
        reasons: ps.map((p) => p.reason?.message ?? ""),
        point: {
          strategy: ps[0].strategy,
          op: ps[0].op,
          size: ps[0].size,
          pages: ps[0].pages,
          depth: ps[0].depth,
          layout: ps[0].layout,
          buffers: ps[0].buffers,
        },
      });
    }
    const ok = ps.map((p) => p.status === "ok" ? p : null);
    if (!ok[0] || ok.every((p, i) => i === 0 || !p)) continue;
    const g = `${groupAt(pair)}${pointGroup(ps[0])}`;
    figures.push(
      figure(
        k,
        pair,
        g,
        "I/O rate",
        "IO/s",
        "higher",
        ok.map((p) => p && { v: p.iops, iv: spreadOf(p, "iops"), reps: repsOf(p, "iops") }),
      ),
    );
    figures.push(
      figure(
        k,
        pair,
        g,
        "bandwidth",
        "B/s",
        "higher",
        ok.map((p) =>
          p && { v: p.bytesPerSec, iv: spreadOf(p, "bytesPerSec"), reps: repsOf(p, "bytesPerSec") }
        ),
      ),
    );
    figures.push(
      figure(
        k,
        pair,
        g,
        "p50 latency",
        "ns",
        "lower",
        ok.map((p) =>
          p && { v: p.latency.p50Ns, iv: spreadOf(p, "p50Ns") ?? ciOf(p.latency), reps: repsOf(p, "p50Ns") }
        ),
      ),
    );
    figures.push(
      figure(k, pair, g, "p99 latency", "ns", "lower", ok.map((p) => p && { v: p.latency.p99Ns, iv: null })),
    );
    figures.push(
      figure(k, pair, g, "expose", "ns", "lower", ok.map((p) => p && { v: p.split.exposeNs, iv: null })),
    );
    figures.push(
      figure(k, pair, g, "revoke", "ns", "lower", ok.map((p) => p && { v: p.split.revokeNs, iv: null })),
    );
    // What the strategy does per I/O and leaves reachable: documents from before these figures have none.
    const opt = (f: (p: PointIn) => number | null | undefined) =>
      ok.map((p) => {
        const v = p ? f(p) : null;
        return v === null || v === undefined ? null : { v, iv: null };
      });
    for (
      const [metric, unit, better, f] of [
        ["registrations per I/O", "count", "lower", (p) => p.perIo?.registrations],
        ["RDMA ops per I/O", "count", "lower", (p) => p.perIo?.rdmaOps],
        ["exposure", "ratio", "lower", (p) => p.exposure?.ratio],
        ["key lifetime after completion", "ns", "lower", (p) => p.keyLifetime?.meanNs],
        ["hit rate", "fraction", "higher", (p) => p.hitRate],
      ] as [string, FigureDiff["unit"], FigureDiff["better"], (p: PointIn) => number | null | undefined][]
    ) {
      const vals = opt(f);
      if (vals[0] && vals.some((v, i) => i > 0 && v)) {
        figures.push(figure(k, pair, g, metric, unit, better, vals));
      }
    }
  }
  // What each run records once, per pair like the points (a merged pair's own records: pair n against pair n;
  // a single process or a lone pair as its own number, or 0): the measurer's own costs, and the registration
  // cost at the same (pages, access, size) in every run.
  for (const pair of [...new Set(parts.flatMap((ps) => ps.map(numOf)))]) {
    const recs = parts.map((ps) => ps.find((q) => numOf(q) === pair)?.run ?? null);
    if (recs.every((x) => x)) {
      for (const [metric, f] of OVERHEAD) {
        const vals = recs.map((x) => ({ v: f(x!.overhead), iv: null }));
        figures.push(
          figure("measurer's own cost", pair, `${groupAt(pair)}harness`, metric, "ns", "lower", vals),
        );
      }
    }
    const rc = recs.map((x) => x?.regcost ?? null);
    if (rc.every((x) => x)) figures.push(...regcostDiffs(rc as RegcostIn[], pair, statusChanges));
    else if (rc.some((x) => x)) {
      leftOut.push(`regcost${pair === null ? "" : ` of pair ${pair}`}: not in every run`);
    }
  }
  const rs = runs.map((r) => r.doc.regscale ?? null);
  if (rs.every((x) => x)) figures.push(...regscaleDiffs(rs as RegscaleIn[]));
  else if (rs.some((x) => x)) leftOut.push("regscale: not in every run");
  for (const [i, ps] of parts.entries()) {
    for (const part of i > 0 ? ps : []) {
      const pair = numOf(part);
      const base = parts[0].filter((q) => numOf(q) === pair).flatMap((q) => q.revocation);
      for (const c of part.revocation) {
        const b = base.find((x) => x.strategy === c.strategy && x.op === c.op && x.layout === c.layout);
        if (b && b.status !== c.status) {
          statusChanges.push({
            key: `late access ${c.strategy} ${c.op}${c.layout === "pages" ? " page list" : ""}`,
            pair,
            statuses: [b.status, c.status],
            reasons: ["", ""],
          });
        }
      }
    }
  }
  const withSpread = runs.filter((r) => r.doc.results.some((p) => p.spread && p.spread.n > 1));
  const n = runs[0].doc.results.find((p) => p.spread)?.spread?.n ?? 0;
  const spread = withSpread.length === runs.length
    ? `known: ${n} repetitions per point; a change is flagged where a two-sided Mann–Whitney U test over the ` +
      `repetitions gives p < ${ALPHA}${
        testable(n, n) ? "" : ` (with ${n} per run it cannot: at least 5 each are needed)`
      }; regcost: non-overlapping 95 % intervals of the median where recorded`
    : `not known for ${
      runs.filter((r) => !withSpread.includes(r)).map((r) => r.name).join(", ")
    } (one repetition per point, schema ${
      runs.map((r) => r.doc.schemaVersion).join("/")
    }): ratios are shown, changes are not flagged. Run with --reps 5 (bench schema 2) to know the spread`;
  return {
    runs: runs.map(runRef),
    statusChanges,
    figures,
    leftOut,
    spread,
    pairing: pairing(runs, parts),
    geomean: geomeans(figures, runs.length),
  };
}

/** The metrics the geometric-mean summary covers (the bench points', not regcost's or the harness's). */
const GEOMEAN_METRICS = ["I/O rate", "p50 latency"];

/** Per compared run and headline metric, the geometric mean of the points' ratios to the baseline. */
export function geomeans(figures: FigureDiff[], runs: number): GeoMeanSummary[] {
  const out: GeoMeanSummary[] = [];
  for (const metric of GEOMEAN_METRICS) {
    for (let run = 1; run < runs; run++) {
      const g = geometricMean(
        figures.filter((f) => f.metric === metric && !f.group.endsWith("sweep")).flatMap((f) =>
          f.ratios[run] ?? []
        ),
      );
      if (g) out.push({ metric, run, ...g });
    }
  }
  return out;
}

/** "I/O rate B ÷ A: geometric mean 0.91× (×/÷ 1.20, range 0.70–1.10, 140 points)". */
export function fmtGeoMean(g: GeoMeanSummary): string {
  return `${g.metric} ${letter(g.run)} ÷ A: geometric mean ${g.mean.toFixed(2)}× (×/÷ ${
    g.gsd.toFixed(2)
  } geometric SD, range ${g.min.toFixed(2)}–${g.max.toFixed(2)}, ${g.n} points)`;
}

/** The measurer's own costs a run records (bench/overhead.ts, ffi/callcost.ts): compared, never flagged. */
const OVERHEAD: [string, (o: BenchRun["doc"]["overhead"]) => number][] = [
  ["empty measurement cycle", (o) => o.emptyCycleNs],
  ["FFI call", (o) => o.ffiPerCallNs],
  ["clock read", (o) => o.clockNs],
];

/** Registration cost figures of one pair (null: the runs' only one) across the runs, status changes into `out`. */
function regcostDiffs(rc: RegcostIn[], pair: number | null, out: StatusChange[]): FigureDiff[] {
  const figures: FigureDiff[] = [];
  const at = groupAt(pair);
  const status = (key: string, xs: { status: string; reason?: { message: string } }[]) => {
    if (xs.some((q) => q.status !== xs[0].status)) {
      out.push({
        key,
        pair,
        statuses: xs.map((q) => q.status),
        reasons: xs.map((q) => q.reason?.message ?? ""),
      });
    }
  };
  for (const m of rc[0].mr) {
    const k = `${m.access} ${m.pages} ${fmtSize(m.size)}`;
    const ms = rc.map((x) =>
      x.mr.find((q) => q.pages === m.pages && q.access === m.access && q.size === m.size)
    );
    if (ms.some((q) => !q)) continue;
    status(`regcost ${k}`, ms as RegcostIn["mr"]);
    if (m.status !== "ok") continue;
    const okm = ms.map((q) => q!.status === "ok" ? q! : null);
    for (const verb of ["reg", "dereg"] as const) {
      figures.push(
        figure(
          k,
          pair,
          `${at}regcost ${m.access} ${m.pages}`,
          `ibv_${verb}_mr p50`,
          "ns",
          "lower",
          okm.map((q) => q?.[verb] ? { v: q[verb]!.p50Ns, iv: ciOf(q[verb]) } : null),
        ),
      );
    }
  }
  for (const w of rc[0].mw) {
    const ws = rc.map((x) => x.mw.find((q) => q.verb === w.verb));
    if (ws.some((q) => !q)) continue;
    status(w.verb, ws as RegcostIn["mw"]);
    if (w.status !== "ok") continue;
    figures.push(
      figure(
        w.verb,
        pair,
        `${at}memory windows`,
        "p50",
        "ns",
        "lower",
        ws.map((q) => q?.latency && q.status === "ok" ? { v: q.latency.p50Ns, iv: ciOf(q.latency) } : null),
      ),
    );
  }
  return figures;
}

/**
 * Registration at scale across the runs: each probe's ibv_reg_mr p50 (with its interval) at every step all runs
 * measured (the same background, in bytes or MRs: runs whose limits differ share the log-spaced steps), and
 * each worker count's aggregate rate.
 */
function regscaleDiffs(rs: RegscaleIn[]): FigureDiff[] {
  const figures: FigureDiff[] = [];
  for (const c of rs[0].curves) {
    const curves = rs.map((r) => r.curves.find((q) => q.axis === c.axis && q.pages === c.pages));
    if (curves.some((q) => !q)) continue;
    const group = `regscale cost vs ${
      c.axis === "bytes" ? `registered bytes, ${c.pages} pages` : "registered MRs"
    }`;
    for (const s of c.steps) {
      const steps = curves.map((q) => q!.steps.find((t) => t.at === s.at));
      if (steps.some((t) => !t)) continue;
      for (const p of s.probes) {
        const at = c.axis === "bytes" ? fmtSize(s.at) : `${s.at} MRs`;
        const vals = steps.map((t) => {
          const q = t!.probes.find((x) => x.size === p.size && x.status === "ok");
          return q?.reg ? { v: q.reg.p50Ns, iv: ciOf(q.reg) } : null;
        });
        if (vals[0]) {
          figures.push(
            figure(`${at}, probe ${fmtSize(p.size)}`, null, group, "ibv_reg_mr p50", "ns", "lower", vals),
          );
        }
      }
    }
  }
  for (const w of rs[0].workers) {
    const ws = rs.map((r) => r.workers.find((q) => q.size === w.size));
    for (const l of w.levels) {
      const vals = ws.map((q) => {
        const m = q?.levels.find((x) => x.workers === l.workers);
        return m ? { v: m.regsPerSec, iv: null } : null;
      });
      if (vals.slice(1).some((v) => v)) {
        figures.push(
          figure(
            `${l.workers} workers, probe ${fmtSize(w.size)}`,
            null,
            "regscale workers",
            "registrations/s",
            "count",
            "higher",
            vals,
          ),
        );
      }
    }
  }
  return figures;
}

type Parts = PairPart<PointIn, BenchRun["doc"]["revocation"][number]>[];

/** How the points of the runs were matched, in words, saying plainly when the runs hold different pairs. */
function pairing(runs: BenchRun[], parts: Parts[]): string | null {
  if (!runs.some((r) => docPairs(r.doc).length)) return null;
  const what = (r: BenchRun, ps: Parts) =>
    ps.length > 1
      ? `${ps.length} pairs (${ps.map((p) => p.n).join(", ")})`
      : ps[0].pair
      ? `one pair${ps[0].pair.slurm ? ` (Slurm pair ${ps[0].n})` : ""}, the ${
        r.doc.pair?.role ?? "client"
      }'s document`
      : "a single process";
  const each = runs.map((r, i) => `${letter(i)} (${r.name}) is ${what(r, parts[i])}`).join("; ");
  if (!parts.some((ps) => ps.length > 1)) return `Point by point: ${each}.`;
  const sets = parts.map((ps) => ps.map((p) => p.n ?? 0).join(","));
  if (sets.every((x) => x === sets[0])) return `Matched per pair, pair n against pair n: ${each}.`;
  return `${
    parts.some((ps) => ps.length !== parts[0].length) ? "Pair counts differ" : "The runs hold different pairs"
  }: ${each}. ` +
    "Points are matched per pair number (a single process or a lone pair as its own number, or 0); the points " +
    "of a pair that not every run has are listed as unmatched.";
}

/** Per pair and run: the points with no counterpart in some other run (a pair one run lacks, or a point). */
function unmatchedPairs(
  runs: BenchRun[],
  parts: Parts[],
  keyed: Map<string, { key: string; pair: number | null }>[],
): string[] {
  const out: string[] = [];
  for (const [i, r] of runs.entries()) {
    for (const part of parts[i]) {
      const n = part.n ?? 0;
      const mine = [...keyed[i]].filter(([, v]) => v.pair === n);
      const alone = mine.filter(([id]) => keyed.some((m) => !m.has(id))).map(([, v]) => v.key);
      if (!alone.length) continue;
      const where = runs.flatMap((q, j) =>
        j === i || mine.every(([id]) => keyed[j].has(id))
          ? []
          : [`${letter(j)} (${q.name}${parts[j].some((p) => (p.n ?? 0) === n) ? "" : `: no pair ${n}`})`]
      );
      out.push(
        `pair ${n}${part.pair ? ` (${pairLabel(part.pair)})` : ""}: ${alone.length} point(s) of ${
          letter(i)
        } (${r.name}) unmatched in ${where.join(", ")}: ${alone.slice(0, 8).join(", ")}${
          alone.length > 8 ? ", …" : ""
        }`,
      );
    }
  }
  return out;
}

/** Compares runs against the first (the baseline): conformance with conformance, bench with bench. */
export function compareRuns(runs: Loaded[]): CompareModel {
  const suites = runs.filter((r): r is SuiteRun => r.kind === "conformance");
  const benches = runs.filter((r): r is BenchRun => r.kind === "bench");
  return {
    tool: "memreg",
    kind: "compare",
    conformance: suites.length > 1 ? compareSuites(suites) : null,
    bench: benches.length > 1 ? compareBench(benches) : null,
  };
}
