// The bench document as figures (chart + table): registration cost, I/O rate and bandwidth, latency
// percentiles, the per-I/O time split, registration-cache counters and the calibration against perftest.
// A strategy keeps its series style (colour, marker, dash) in every chart of every run.
import { STRATEGY_NAMES } from "../../bench/config.ts";
import type { BenchIn, LatencyIn, PointIn } from "../schema/bench.ts";
import type { ChartSpec, DatasetSpec } from "../html/runtime.js";
import { fmtCount, fmtMBps, fmtNs, fmtRatio, fmtSize, FORMATS, sig } from "../html/runtime.js";
import { modesText, multimodal, sweeps } from "./table.ts";
import { judgeBest, rankPerSize } from "./rank.ts";
import { fmtP, percentileSupported, samplesFor } from "../../common/stats.ts";
import { type Cell, cell, type Figure, type Section, slug } from "../figure.ts";
import { esc } from "../html/page.ts";
import { docPairs, type PairPart, pairParts } from "../pairs.ts";
import { pairNumber } from "../../record/pair.ts";
import { regscaleSection } from "./regscale.ts";
import { failedHtml } from "./format.ts";

type LateIn = BenchIn["revocation"][number];
/** A document or one pair's part of it: `overhead` null where a merged document lacks that pair's. */
type SectionDoc = Omit<BenchIn, "overhead"> & { overhead: BenchIn["overhead"] | null };

/**
 * The style index of a strategy (colour, marker, dash): its place in STRATEGY_NAMES, the same in every chart.
 */
export const styleOf = (strategy: string): number => Math.max(0, STRATEGY_NAMES.indexOf(strategy as never));

/** Matrix points of one chart group: one op, layout, page size, depth and working set. */
export interface Group {
  op: string;
  pages: string;
  depth: number;
  layout: string;
  reuse: string;
  buffers: number;
  /** The working set is part of the title (a --working-set run). */
  withSet: boolean;
  points: PointIn[];
}

/** A group's title: "WRITE, 4k pages, depth 1", the page layout's with its pool and page order. */
export const groupTitle = (
  g: {
    op: string;
    pages: string;
    depth: number;
    layout?: string;
    reuse?: string;
    buffers?: number;
    withSet?: boolean;
  },
) =>
  g.layout === "pages"
    ? `${g.op.toUpperCase()}, page list (${fmtSize((g.buffers ?? 0) * 4096)} pool, ${
      g.reuse === "rotate" ? "sequential" : g.reuse
    } pages), depth ${g.depth}`
    : `${g.op.toUpperCase()}, ${g.pages === "2m" ? "2 MiB" : "4 KiB"} pages, depth ${g.depth}${
      g.withSet ? `, ${g.buffers} buffers` : ""
    }`;

/** Matrix points (not the sweep's) by (op, layout, pages, depth, working set), in the matrix's order. */
export function groups(points: PointIn[]): Group[] {
  const out = new Map<string, Group>();
  const matrix = points.filter((p) => !p.sweep);
  const withSet = new Set(matrix.map((p) => `${p.layout}|${p.buffers}`)).size >
    new Set(matrix.map((p) => p.layout)).size;
  for (const p of matrix) {
    const layout = p.layout ?? "contiguous";
    const k = `${p.op}|${layout}|${p.pages}|${p.depth}|${p.buffers}`;
    if (!out.has(k)) {
      out.set(k, {
        op: p.op,
        pages: p.pages,
        depth: p.depth,
        layout,
        reuse: p.reuse,
        buffers: p.buffers,
        withSet,
        points: [],
      });
    }
    out.get(k)!.points.push(p);
  }
  return [...out.values()];
}

const groupSlug = (
  g: Group,
) => [
  g.op,
  g.layout === "pages" ? "pagelist" : g.pages,
  `qd${g.depth}`,
  ...(g.withSet ? [`ws${g.buffers}`] : []),
];

const uniq = <T>(xs: T[]) => [...new Set(xs)];
/** The I/O sizes of some points, ascending, once each. */
export const sizesOf = (ps: { size: number }[]) => uniq(ps.map((p) => p.size)).sort((a, b) => a - b);
/** The strategies of some points, once each, in style order. */
export const strategiesOf = (ps: { strategy: string }[]) =>
  uniq(ps.map((p) => p.strategy)).sort((a, b) => styleOf(a) - styleOf(b));

const sizeAxis = (sizes: number[], title = "I/O size") => ({
  type: "logarithmic" as const,
  title,
  format: "size" as const,
  ticks: sizes,
  min: sizes[0] / 1.3,
  max: sizes.at(-1)! * 1.3,
});

/** "1234 (1200–1250)" when the run measured a spread across repetitions. */
function withSpread(
  value: string,
  p: PointIn,
  key: "iops" | "bytesPerSec",
  f: (v: number) => string,
): string {
  const s = p.spread;
  if (!s || s.n < 2) return value;
  return `${value} [${f(s[key].min)}–${f(s[key].max)}]`;
}

function rateFigures(g: Group): Figure[] {
  const ok = g.points.filter((p) => p.status === "ok");
  const sizes = sizesOf(g.points);
  const strategies = strategiesOf(g.points);
  // Strategies that never ran here have no line (the table says why): no empty legend entries.
  const drawn = strategiesOf(ok);
  // The I/O rate table marks the best (or the strategies tied for best) per size, by the test of rank.ts.
  const marks = new Map<PointIn, string>();
  for (const r of rankPerSize(ok)) {
    const v = judgeBest(r.ranked);
    if (v.kind === "best" || v.kind === "tied") {
      // best: with the largest p of its tests against the others (each is below ALPHA).
      const p = v.kind === "best" ? ` (${fmtP(Math.max(...[...v.p.values()].map((x) => x ?? 1)))})` : "";
      for (const q of r.ranked) if (v.top.includes(q.strategy)) marks.set(q, ` · ${v.kind}${p}`);
    }
  }
  const make = (
    what: "iops" | "bytesPerSec",
    title: string,
    format: "count" | "mbps",
    f: (v: number) => string,
  ): Figure => {
    const datasets: DatasetSpec[] = drawn.map((s) => ({
      label: s,
      style: styleOf(s),
      data: sizes.map((size) => {
        const p = ok.find((q) => q.strategy === s && q.size === size);
        return { x: size, y: p ? (what === "iops" ? p.iops : p.bytesPerSec / 1e6) : null };
      }),
    }));
    const rows: Cell[][] = strategies.map((s) => {
      const mine = g.points.filter((q) => q.strategy === s);
      const why = new Set(mine.map((q) => `${q.status}: ${q.reason?.message ?? ""}`));
      if (mine.every((q) => q.status !== "ok") && why.size === 1) {
        return [cell(s), { text: [...why][0], cls: "muted", span: sizes.length }];
      }
      return [
        cell(s),
        ...sizes.map((size) => {
          const p = g.points.find((q) => q.strategy === s && q.size === size);
          if (!p) return cell("");
          if (p.status !== "ok") return cell(p.status, null, "muted");
          const mark = what === "iops" ? marks.get(p) ?? "" : "";
          return cell(withSpread(f(p[what]), p, what, f) + mark, p[what]);
        }),
      ];
    });
    return {
      id: slug(what === "iops" ? "rate" : "bandwidth", ...groupSlug(g)),
      spec: {
        title: `${title}: ${groupTitle(g)}`,
        type: "line",
        x: sizeAxis(sizes),
        y: {
          type: "logarithmic",
          title: what === "iops" ? "I/Os per second" : "MB/s (10⁶ bytes)",
          format,
        },
        datasets,
      },
      head: [`strategy (${what === "iops" ? "IO/s" : "MB/s"})`, ...sizes.map(fmtSize)],
      rows,
      tall: true,
    };
  };
  return [
    make("iops", "I/O rate", "count", fmtCount),
    make("bytesPerSec", "Bandwidth", "mbps", (v) => sig(v / 1e6)),
  ];
}

const PCTS: [keyof LatencyIn, string, number][] = [
  ["p50Ns", "p50", 50],
  ["p90Ns", "p90", 90],
  ["p99Ns", "p99", 99],
  ["p999Ns", "p99.9", 99.9],
  ["maxNs", "max", 100],
];

/** A percentile's cell, or "n<100" (muted) where the sample is too small for it (common/stats.ts). */
const pctCell = (q: number, ns: number, count: number): Cell =>
  percentileSupported(q, count) ? cell(fmtNs(ns), ns) : cell(`n<${samplesFor(q)}`, null, "muted");

function latencyFigure(g: Group, size: number): Figure | null {
  const ps = g.points.filter((p) => p.size === size && p.status === "ok");
  if (!ps.length) return null;
  const strategies = strategiesOf(ps);
  return {
    id: slug("latency", ...groupSlug(g), fmtSize(size)),
    spec: {
      title: `Latency percentiles, ${fmtSize(size)}: ${groupTitle(g)}`,
      type: "line",
      labels: PCTS.map(([, l]) => l),
      x: { type: "category", title: "percentile" },
      y: { type: "logarithmic", title: "latency per I/O", format: "ns" },
      datasets: strategies.map((s) => {
        const p = ps.find((q) => q.strategy === s)!;
        // A percentile the sample cannot support is left out of the line (the table says why).
        return {
          label: s,
          style: styleOf(s),
          data: PCTS.map(([k, , q]) =>
            percentileSupported(q, p.latency.count) ? p.latency[k] as number : null
          ),
        };
      }),
    },
    head: ["strategy", ...PCTS.map(([, l]) => l), "mean", "samples"],
    rows: strategies.map((s) => {
      const l = ps.find((q) => q.strategy === s)!.latency;
      return [
        cell(s),
        ...PCTS.map(([k, , q]) => pctCell(q, l[k] as number, l.count)),
        cell(fmtNs(l.meanNs), l.meanNs),
        cell(String(l.count), l.count),
      ];
    }),
  };
}

function splitFigure(g: Group, size: number): Figure | null {
  const ps = g.points.filter((p) => p.size === size && p.status === "ok");
  if (!ps.length) return null;
  const strategies = strategiesOf(ps);
  const get = (s: string) => ps.find((q) => q.strategy === s)!.split;
  // Version 2 documents separate the verbs' own time from the harness's share of expose and revoke.
  const verbs = ps.every((p) => p.split.exposeVerbNs !== undefined && p.split.revokeVerbNs !== undefined);
  const parts: [string, (s: PointIn["split"]) => number][] = verbs
    ? [
      ["expose: verbs", (s) => s.exposeVerbNs!],
      ["expose: harness", (s) => s.exposeNs - s.exposeVerbNs!],
      ["transfer", (s) => s.transferNs],
      ["revoke: verbs", (s) => s.revokeVerbNs!],
      ["revoke: harness", (s) => s.revokeNs - s.revokeVerbNs!],
      ["verify", (s) => s.verifyNs],
    ]
    : [
      ["expose", (s) => s.exposeNs],
      ["transfer", (s) => s.transferNs],
      ["revoke", (s) => s.revokeNs],
      ["verify", (s) => s.verifyNs],
    ];
  const datasets: DatasetSpec[] = parts.map(([label, f], i) => ({
    label,
    style: i,
    stack: "io",
    data: strategies.map((s) => f(get(s))),
  }));
  datasets.push({
    label: "of which copy (bounce)",
    style: 7,
    stack: "copy",
    data: strategies.map((s) => get(s).copyNs),
  });
  const mapped = strategies.some((s) => (get(s).mapNs ?? 0) > 0);
  if (mapped) {
    datasets.push({
      label: "of which page mapping (remap-reg)",
      style: 8,
      stack: "map",
      data: strategies.map((s) => get(s).mapNs ?? 0),
    });
  }
  return {
    id: slug("split", ...groupSlug(g), fmtSize(size)),
    spec: {
      title: `Per-I/O time split, ${fmtSize(size)}: ${groupTitle(g)}`,
      type: "bar",
      labels: strategies,
      x: { type: "category", stacked: true },
      y: { type: "linear", title: "mean time per I/O", format: "ns", stacked: true },
      datasets,
    },
    head: ["strategy", ...parts.map(([l]) => l), "copy", ...(mapped ? ["page mapping"] : []), "total"],
    rows: strategies.map((s) => {
      const sp = get(s);
      const total = parts.reduce((a, [, f]) => a + f(sp), 0);
      return [
        cell(s),
        ...parts.map(([, f]) => cell(fmtNs(f(sp)), f(sp))),
        cell(fmtNs(sp.copyNs), sp.copyNs),
        ...(mapped ? [cell(fmtNs(sp.mapNs ?? 0), sp.mapNs ?? 0)] : []),
        cell(fmtNs(total), total),
      ];
    }),
  };
}

function countersFigure(g: Group): Figure | null {
  const ps = g.points.filter((p) => p.status === "ok" && p.counters && "hits" in p.counters);
  if (!ps.length) return null;
  const sizes = sizesOf(ps);
  const strategies = strategiesOf(ps);
  const keys = uniq(ps.flatMap((p) => Object.keys(p.counters!)));
  const series = ["hits", "misses", "evictions"].filter((k) => keys.includes(k));
  const labels = strategies.flatMap((s) =>
    sizes.map((size) => `${strategies.length > 1 ? `${s} ` : ""}${fmtSize(size)}`)
  );
  return {
    id: slug("rcache", ...groupSlug(g)),
    spec: {
      title: `Registration cache per size: ${groupTitle(g)}`,
      type: "bar",
      labels,
      x: { type: "category", title: "I/O size" },
      y: { type: "linear", title: "lookups", format: "count" },
      datasets: series.map((k, i) => ({
        label: k,
        style: i,
        data: strategies.flatMap((s) =>
          sizes.map((size) => ps.find((p) => p.strategy === s && p.size === size)?.counters?.[k] ?? null)
        ),
      })),
    },
    head: ["strategy", "size", ...keys, "hit rate"],
    rows: strategies.flatMap((s) =>
      sizes.flatMap((size) => {
        const c = ps.find((p) => p.strategy === s && p.size === size)?.counters;
        if (!c) return [];
        const lookups = (c.hits ?? 0) + (c.misses ?? 0);
        return [[
          cell(s),
          cell(fmtSize(size), size),
          ...keys.map((k) =>
            cell(k.endsWith("Bytes") ? fmtSize(c[k] ?? 0) : String(c[k] ?? ""), c[k] ?? null)
          ),
          cell(lookups ? fmtRatio(c.hits / lookups) : "–", lookups ? c.hits / lookups : null),
        ]];
      })
    ),
  };
}

/** "until teardown", "12.3 µs (revoked)"… for a table cell. */
function keyLifeText(k: NonNullable<PointIn["keyLifetime"]>): string {
  if (k.ends === "send-inv") return "0: the peer's SEND_WITH_INV invalidated it";
  if (k.ends === "revoke") return `${fmtNs(k.meanNs)} (revoked; max ${fmtNs(k.maxNs)})`;
  if (k.ends === "teardown") return `until teardown (${fmtNs(k.meanNs)} in this run)`;
  return `until evicted: ${fmtNs(k.meanNs)} mean, ${
    k.n ? Math.round((k.atTeardown / k.n) * 100) : 0
  } % still cached at teardown`;
}

const exposureText = (r: number) => FORMATS.times(r);

/**
 * Exposure against cost, per group: each strategy a line through its sizes, x = exposure (bytes reachable
 * through valid keys over the I/O's bytes), y = p50 latency. Down and left is better; the table beside says
 * what each did per I/O.
 */
function exposureFigure(g: Group): Figure | null {
  const ps = g.points.filter((p) => p.status === "ok" && p.exposure && p.perIo && p.keyLifetime);
  if (!ps.length) return null;
  const strategies = strategiesOf(ps), sizes = sizesOf(ps);
  const at = (s: string, size: number) => ps.find((q) => q.strategy === s && q.size === size);
  return {
    id: slug("exposure", ...groupSlug(g)),
    spec: {
      title: `Exposure vs cost: ${groupTitle(g)}`,
      type: "line",
      x: { type: "logarithmic", title: "exposure (reachable bytes ÷ I/O bytes)", format: "times" },
      y: { type: "logarithmic", title: "p50 latency per I/O", format: "ns" },
      datasets: strategies.map((s) => ({
        label: s,
        style: styleOf(s),
        data: sizes.flatMap((size) => {
          const p = at(s, size);
          return p ? [{ x: Math.max(p.exposure!.ratio, 1e-3), y: p.latency.p50Ns }] : [];
        }),
      })),
    },
    head: [
      "strategy",
      "size",
      "registrations / I/O",
      "segments / I/O",
      "RDMA ops / I/O",
      "SGEs / I/O",
      "exposure",
      "max exposure",
      "keys valid after completion",
      "p50",
      "IO/s",
    ],
    rows: strategies.flatMap((s) =>
      sizes.flatMap((size) => {
        const p = at(s, size);
        if (!p) return [];
        const io = p.perIo!, sgeSplit = io.rdmaOps > io.segments + 1e-9;
        return [[
          cell(s),
          cell(fmtSize(size), size),
          cell(sig(io.registrations), io.registrations),
          cell(sig(io.segments), io.segments),
          cell(
            sig(io.rdmaOps) + (sgeSplit ? ` (≤ ${p.sgeLimit} SGEs per op)` : ""),
            io.rdmaOps,
          ),
          cell(sig(io.sges), io.sges),
          cell(exposureText(p.exposure!.ratio), p.exposure!.ratio),
          cell(exposureText(p.exposure!.maxRatio), p.exposure!.maxRatio),
          cell(keyLifeText(p.keyLifetime!), p.keyLifetime!.meanNs),
          cell(fmtNs(p.latency.p50Ns), p.latency.p50Ns),
          cell(fmtCount(p.iops), p.iops),
        ]];
      })
    ),
    tall: true,
  };
}

/**
 * A working-set sweep: with a cache, its hit rate against cost (p50), the matrix's other strategies at the same
 * op and size drawn flat for reference; without, cost against the working set.
 */
function sweepFigure(sw: { key: string; points: PointIn[] }, all: PointIn[]): Figure {
  const ps = sw.points, p0 = ps[0], ok = ps.filter((p) => p.status === "ok");
  const cap = p0.counters?.capBytes;
  const cached = ok.some((p) => p.hitRate !== null && p.hitRate !== undefined);
  const title = `${p0.strategy} ${p0.op.toUpperCase()} ${fmtSize(p0.size)}, ${
    p0.layout === "pages" ? "page list" : "contiguous"
  }, ${p0.reuse} reuse${cap ? `, cap ${fmtSize(cap)}` : ""}`;
  const refs = cached
    ? all.filter((p) =>
      p.status === "ok" && !p.sweep && p.strategy !== p0.strategy && p.op === p0.op && p.size === p0.size &&
      (p.layout ?? "contiguous") === (p0.layout ?? "contiguous") && p.pages === p0.pages &&
      p.depth === p0.depth
    )
    : [];
  const spec: ChartSpec = cached
    ? {
      title: `Hit rate vs cost: ${title}`,
      type: "line",
      x: { type: "linear", title: "registration-cache hit rate", format: "ratio", min: 0, max: 1 },
      y: { type: "logarithmic", title: "p50 latency per I/O", format: "ns" },
      datasets: [
        {
          label: `${p0.strategy} across working sets`,
          style: styleOf(p0.strategy),
          data: [...ok].sort((a, b) => (a.hitRate ?? 0) - (b.hitRate ?? 0)).map((p) => ({
            x: p.hitRate ?? 0,
            y: p.latency.p50Ns,
          })),
        },
        // Each reference in its strategy's own style: two of them never look alike.
        ...refs.map((r) => ({
          label: `${r.strategy} (${r.buffers} buffers, ${r.reuse})`,
          style: styleOf(r.strategy),
          data: [{ x: 0, y: r.latency.p50Ns }, { x: 1, y: r.latency.p50Ns }],
        })),
      ],
    }
    : {
      title: `Cost vs working set: ${title}`,
      type: "line",
      x: { type: "logarithmic", title: "working set", format: "size" },
      y: { type: "logarithmic", title: "p50 latency per I/O", format: "ns" },
      datasets: [{
        label: p0.strategy,
        style: styleOf(p0.strategy),
        data: ok.map((p) => ({ x: p.workingSetBytes ?? 0, y: p.latency.p50Ns })),
      }],
    };
  return {
    id: slug(
      "sweep",
      p0.strategy,
      p0.op,
      fmtSize(p0.size),
      p0.layout ?? "contiguous",
      p0.reuse,
      `qd${p0.depth}`,
    ),
    spec,
    head: [
      "working set",
      ...(cap ? ["× cap"] : []),
      "hit rate",
      "IO/s",
      "p50",
      "p99",
      "registrations / I/O",
      "exposure",
      "keys valid after completion",
    ],
    rows: ps.map((p) => {
      const ws = p.workingSetBytes ?? 0;
      const label = p.layout === "pages" ? `${fmtSize(ws)} pool` : `${p.buffers} × ${fmtSize(p.size)}`;
      if (p.status !== "ok") {
        return [cell(label, ws), cell(`${p.status}: ${p.reason?.message ?? ""}`, null, "muted")];
      }
      return [
        cell(label, ws),
        ...(cap ? [cell(sig(ws / cap), ws / cap)] : []),
        cell(p.hitRate === null || p.hitRate === undefined ? "–" : fmtRatio(p.hitRate), p.hitRate ?? null),
        cell(fmtCount(p.iops), p.iops),
        cell(fmtNs(p.latency.p50Ns), p.latency.p50Ns),
        pctCell(99, p.latency.p99Ns, p.latency.count),
        cell(p.perIo ? sig(p.perIo.registrations) : "–", p.perIo?.registrations ?? null),
        cell(p.exposure ? exposureText(p.exposure.ratio) : "–", p.exposure?.ratio ?? null),
        cell(p.keyLifetime ? keyLifeText(p.keyLifetime) : "–", p.keyLifetime?.meanNs ?? null),
      ];
    }),
    tall: true,
  };
}

/** How regcost timed its verbs, and whether the C reference ran beside them. */
function regcostIntro(doc: SectionDoc): string | undefined {
  const r = doc.regcost;
  // A pair's registrations are the server's (bench/pair/run.ts); a merged document's part names its own pair.
  const server = r && doc.pair
    ? `<p>Measured by ${docPairs(doc).length > 1 ? `pair ${pairNumber(doc.pair, 0)}'s` : "the"} server, on ${
      esc(`${doc.pair.server.host.hostname} ${doc.pair.server.device.name}`)
    }.</p>`
    : "";
  if (!r?.method) return server || undefined;
  const paired = r.mr.some((m) => m.paired) || r.mw.some((w) => w.paired);
  const ref = !r.reference?.ran
    ? `The C reference did not run${r.reference?.reason ? `: ${esc(r.reference.reason)}` : ""}.`
    : paired
    ? "The C reference ran beside memreg's figures in alternating blocks: memreg / C is the median over adjacent " +
      "block pairs of (memreg block p50 ÷ C block p50), with its 95 % interval, so that a mode switch between " +
      "blocks falls on both sides of a pair alike."
    : "The C reference ran beside memreg's figures: memreg / C is their p50 ratio, with the difference.";
  // Samples with several modes: one p50 would sit in one mode or the other; each mode's is listed instead.
  const multi = multimodal(r).map(([k, l]) => `<li>${esc(k)}: ${esc(modesText(l))}</li>`);
  const modesHtml = multi.length
    ? `<p>Several modes (a valley test on the log-samples, docs/measurement.md): each mode's p50 and share.</p><ul class="modes">${
      multi.join("")
    }</ul>`
    : "";
  return `${server}<p>How: ${esc(r.method)}.</p><p>${ref}</p>${modesHtml}`;
}

/**
 * memreg / C with the difference: "1.08× (+3.1 µs)"; from paired adjacent blocks with its interval where
 * recorded ("1.06× [1.02–1.10]"); "–" when the reference did not run.
 */
function ratioCell(
  c: { ratio: number; diffNs: number } | null | undefined,
  paired?: { median: number; lo: number; hi: number } | null,
) {
  if (paired) {
    return cell(
      `${paired.median.toFixed(2)}× [${paired.lo.toFixed(2)}–${paired.hi.toFixed(2)}]`,
      paired.median,
    );
  }
  if (!c) return cell("–", null);
  return cell(`${c.ratio.toFixed(2)}× (${c.diffNs >= 0 ? "+" : "−"}${fmtNs(Math.abs(c.diffNs))})`, c.ratio);
}

/** Regcost's section: its figures, with one line above them when it failed as a whole. */
function regcostSection(doc: SectionDoc): Section {
  const figures = regcostFigures(doc), r = doc.regcost;
  const failed = r?.reason ? failedHtml("Regcost", r.reason, figures.length > 0) : "";
  const intro = regcostIntro(doc);
  return {
    id: "regcost",
    title: "Registration cost",
    // Without figures, how they would have been measured says nothing: the line alone.
    intro: failed ? failed + (figures.length ? intro ?? "" : "") : intro,
    figures,
    keep: !!r?.reason,
  };
}

function regcostFigures(doc: SectionDoc): Figure[] {
  const r = doc.regcost;
  if (!r) return [];
  const out: Figure[] = [];
  const keys = uniq(r.mr.map((m) => `${m.pages}|${m.access}`));
  for (const k of keys) {
    const [pages, access] = k.split("|");
    const ms = r.mr.filter((m) => m.pages === pages && m.access === access);
    const ok = ms.filter((m) => m.status === "ok" && m.reg && m.dereg);
    if (!ok.length) continue;
    const sizes = sizesOf(ms);
    const at = (f: (m: typeof ok[number]) => number | undefined) =>
      sizes.map((size) => {
        const m = ok.find((q) => q.size === size);
        return { x: size, y: m ? f(m) ?? null : null };
      });
    const ref = ok.some((m) => m.reference);
    const datasets: DatasetSpec[] = [
      { label: "ibv_reg_mr p50", style: 0, data: at((m) => m.reg!.p50Ns) },
      { label: "ibv_dereg_mr p50", style: 1, data: at((m) => m.dereg!.p50Ns) },
      {
        label: "reg per page (right axis)",
        style: 2,
        axis: "y2",
        dash: [3, 3],
        data: at((m) => m.regNsPerPage),
      },
      {
        label: "dereg per page (right axis)",
        style: 3,
        axis: "y2",
        dash: [3, 3],
        data: at((m) => m.deregNsPerPage),
      },
    ];
    if (ref) {
      datasets.push(
        { label: "ibv_reg_mr p50, C loop", style: 4, dash: [6, 3], data: at((m) => m.reference?.reg.p50Ns) },
        {
          label: "ibv_dereg_mr p50, C loop",
          style: 5,
          dash: [6, 3],
          data: at((m) => m.reference?.dereg.p50Ns),
        },
      );
    }
    // The table leads with what the chart compares: memreg's p50 beside the C loop's, then the per-page costs
    // and the tails. (The median's confidence interval is in the JSON: p50CiNs.)
    out.push({
      id: slug("regcost", pages, access),
      spec: {
        title: `Registration cost vs size: ${access} access, ${pages === "2m" ? "2 MiB" : "4 KiB"} pages`,
        type: "line",
        x: sizeAxis(sizes, "registered size"),
        y: { type: "logarithmic", title: "time per call (p50)", format: "ns" },
        y2: { type: "logarithmic", title: "ns per page", format: "ns" },
        datasets,
      },
      head: [
        "size",
        "reg p50",
        ...(ref ? ["C", "memreg / C"] : []),
        "dereg p50",
        ...(ref ? ["C", "memreg / C"] : []),
        "reg / page",
        "dereg / page",
        "reg p99",
        "dereg p99",
      ],
      rows: ms.map((m) =>
        m.status !== "ok" || !m.reg || !m.dereg
          ? [cell(fmtSize(m.size), m.size), cell(`${m.status}: ${m.reason?.message ?? ""}`, null, "muted")]
          : [
            cell(fmtSize(m.size), m.size),
            cell(fmtNs(m.reg.p50Ns), m.reg.p50Ns),
            ...(ref
              ? [
                cell(fmtNs(m.reference?.reg.p50Ns), m.reference?.reg.p50Ns ?? null),
                ratioCell(m.ratio?.reg, m.paired?.reg),
              ]
              : []),
            cell(fmtNs(m.dereg.p50Ns), m.dereg.p50Ns),
            ...(ref
              ? [
                cell(fmtNs(m.reference?.dereg.p50Ns), m.reference?.dereg.p50Ns ?? null),
                ratioCell(m.ratio?.dereg, m.paired?.dereg),
              ]
              : []),
            cell(fmtNs(m.regNsPerPage ?? NaN), m.regNsPerPage ?? null),
            cell(fmtNs(m.deregNsPerPage ?? NaN), m.deregNsPerPage ?? null),
            pctCell(99, m.reg.p99Ns, m.reg.count),
            pctCell(99, m.dereg.p99Ns, m.dereg.count),
          ]
      ),
      tall: true,
    });
  }
  const mw = r.mw.filter((w) => w.status === "ok" && w.latency);
  if (mw.length) {
    const ref = mw.some((w) => w.reference);
    out.push({
      id: "regcost-mw",
      spec: {
        title: "Memory-window verbs: alloc, bind, invalidate, dealloc",
        type: "bar",
        horizontal: true,
        labels: mw.map((w) => w.verb),
        x: { type: "logarithmic", title: "time per call", format: "ns" },
        y: { type: "category" },
        datasets: [
          { label: "memreg p50", style: 0, data: mw.map((w) => w.latency!.p50Ns) },
          ...(ref
            ? [{ label: "C loop p50", style: 4, data: mw.map((w) => w.reference?.p50Ns ?? null) }]
            : []),
          { label: "memreg p99", style: 1, data: mw.map((w) => w.latency!.p99Ns) },
        ],
      },
      head: [
        "verb",
        "p50",
        ...(ref ? ["C", "memreg / C"] : []),
        "p99",
        "max",
        "samples",
        "call from JS",
      ],
      rows: r.mw.map((w) =>
        w.status !== "ok" || !w.latency
          ? [cell(w.verb), cell(`${w.status}: ${w.reason?.message ?? ""}`, null, "muted")]
          : [
            cell(w.verb),
            cell(fmtNs(w.latency.p50Ns), w.latency.p50Ns),
            ...(ref
              ? [cell(fmtNs(w.reference?.p50Ns), w.reference?.p50Ns ?? null), ratioCell(w.ratio, w.paired)]
              : []),
            pctCell(99, w.latency.p99Ns, w.latency.count),
            cell(fmtNs(w.latency.maxNs), w.latency.maxNs),
            cell(String(w.latency.count), w.latency.count),
            cell(fmtNs(w.call?.p50Ns), w.call?.p50Ns ?? null),
          ]
      ),
      tall: true,
    });
  }
  return out;
}

/** The calibration's section: its figure, and one line in place of figures when it failed. */
function calibrationSection(doc: SectionDoc): Section | null {
  const c = doc.calibration;
  if (!c) return null;
  const figure = c.bandwidth.length || c.latency.length ? calibrationFigure(c) : null;
  const intro = c.reason ? failedHtml("Calibration", c.reason, figure !== null) : undefined;
  return {
    id: "calibration",
    title: "Calibration against perftest",
    intro,
    figures: figure ? [figure] : [],
    keep: !!c.reason,
  };
}

function calibrationFigure(c: NonNullable<SectionDoc["calibration"]>): Figure {
  const bw = c.bandwidth.map((b) => ({
    label: `${b.op} ${fmtSize(b.size)} qd${b.depth}`,
    ratio: b.ratio,
    b,
  }));
  const lat = c.latency.map((l) => ({ label: `write latency ${fmtSize(l.size)}`, ratio: l.ratio, l }));
  const labels = [...bw.map((x) => x.label), ...lat.map((x) => x.label)];
  const spec: ChartSpec = {
    title: "Calibration: memreg's data path against perftest (same device, same run)",
    type: "bar",
    labels,
    x: { type: "category" },
    y: { type: "linear", title: "memreg / perftest", format: "ratio", min: 0 },
    reference: { value: 1, label: "100 % = perftest" },
    datasets: [
      { label: "memreg / perftest", style: 0, data: [...bw, ...lat].map((x) => x.ratio) },
      {
        label: "bandwidth target ≥ 95 %",
        style: 1,
        line: true,
        marker: "line",
        dash: [6, 4],
        data: labels.map((_, i) => i < bw.length ? 0.95 : null),
      },
      {
        label: "latency target ≤ 110 %",
        style: 3,
        line: true,
        marker: "line",
        dash: [2, 3],
        data: labels.map((_, i) => i >= bw.length ? 1.1 : null),
      },
    ],
  };
  const pt = (p: { tool: string; error: string } | { tool: string }, f: (p: never) => string) =>
    "error" in p ? `${p.tool}: ${p.error}` : f(p as never);
  return {
    id: "calibration",
    spec,
    head: ["measurement", "memreg", "perftest", "memreg / perftest", "global, full cycle"],
    rows: [
      ...bw.map(({ label, b }) => [
        cell(label),
        cell(fmtMBps(b.memreg.bytesPerSec), b.memreg.bytesPerSec),
        cell(
          pt(b.perftest, (p: { tool: string; bytesPerSec: number }) => `${p.tool} ${fmtMBps(p.bytesPerSec)}`),
        ),
        cell(fmtRatio(b.ratio), b.ratio, b.ratio !== null && b.ratio < 0.95 ? "bad" : undefined),
        cell(
          b.globalCycleBytesPerSec === null ? "–" : fmtMBps(b.globalCycleBytesPerSec),
          b.globalCycleBytesPerSec,
        ),
      ]),
      ...lat.map(({ label, l }) => [
        cell(label),
        cell(`${sig(l.memreg.typicalUs)} µs`, l.memreg.typicalUs),
        cell(pt(l.perftest, (p: { tool: string; typicalUs: number }) => `${p.tool} ${sig(p.typicalUs)} µs`)),
        cell(fmtRatio(l.ratio), l.ratio, l.ratio !== null && l.ratio > 1.1 ? "bad" : undefined),
        cell("–"),
      ]),
    ],
  };
}

/**
 * The document's figures by pair. A merged document of several pairs: each pair's own sections, from its
 * points and its own run records (its regcost, harness cost and calibration), so no chart mixes pairs and
 * every chart names its pair. Any other document: one entry, every section.
 */
export function pairSections(
  doc: BenchIn,
): { part: PairPart<PointIn, LateIn> | null; sections: Section[] }[] {
  const parts = pairParts(doc);
  if (parts.length === 1) return [{ part: null, sections: benchSections(doc) }];
  return parts.map((part) => ({
    part,
    // Each chart names its pair too: a chart file stands alone.
    sections: benchSections({
      ...doc,
      pair: part.pair,
      results: part.results,
      revocation: part.revocation,
      overhead: part.run?.overhead ?? null,
      regcost: part.run?.regcost ?? null,
      calibration: part.run?.calibration ?? null,
    }).map((s) => ({
      ...s,
      figures: s.figures.map((f) => ({
        ...f,
        spec: { ...f.spec, title: `pair ${part.n}: ${f.spec.title}` },
      })),
    })),
  }));
}

/**
 * Everything the bench document shows as figures, section by section (sections without data are left out).
 * `overhead` null: not recorded for this pair (a merged document from before pairs carried their records).
 */
export function benchSections(doc: SectionDoc): Section[] {
  const gs = groups(doc.results);
  const each = <T>(f: (g: Group, size: number) => T | null) =>
    gs.flatMap((g) => sizesOf(g.points).map((s) => f(g, s))).filter((x): x is T => x !== null);
  const harness = doc.overhead
    ? `<p>Harness: an empty measurement cycle (clock reads, CQ polls, histogram) costs ${
      fmtNs(doc.overhead.emptyCycleNs)
    } per I/O. It is inside every latency and I/O rate below; nothing is subtracted.</p>`
    : "<p>Harness: the empty measurement cycle's cost is not in this document for this pair.</p>";
  const sections: Section[] = [
    regcostSection(doc),
    {
      id: "rate",
      title: "I/O rate and bandwidth per strategy",
      intro: harness,
      figures: gs.flatMap(rateFigures),
    },
    {
      id: "latency",
      title: "Latency percentiles per strategy",
      intro: harness,
      figures: each(latencyFigure),
      grid: true,
    },
    {
      id: "split",
      title: "Where the time of one I/O goes",
      intro: harness +
        "<p>“verbs”: time inside the verbs (the timed raw verb; a work request from its post until its " +
        "completion is seen). “harness”: the rest of expose or revoke, memreg's own work around them.</p>",
      figures: each(splitFigure),
      grid: true,
    },
    {
      id: "exposure",
      title: "Exposure: what each strategy leaves reachable, against its cost",
      intro: "<p>Exposure of an I/O: the bytes of the exposer's memory the peer can reach through keys the " +
        "strategy handed out and has not revoked, when the I/O is advertised, divided by the I/O's bytes (1× is " +
        "tight: exactly the I/O's pages). Keys valid after completion: from the I/O's completion (its notice " +
        "seen) until its keys stop granting access: the revoke verb's completion, the peer's SEND_WITH_INV, the " +
        "cache's eviction, or the point's teardown. Segments: the (address, key, length) triples the peer has to " +
        "reach separately; RDMA ops exceed them where a segment needs more local SGEs than the device allows.</p>",
      figures: gs.map(exposureFigure).filter((f): f is Figure => f !== null),
    },
    {
      id: "sweep",
      title: "Working-set sweeps: hit rate against cost",
      intro:
        "<p>The same point at working sets from well inside to far beyond the registration cache's cap. " +
        "A cache is measured in its steady state (filled before the measured repetitions); the hit rate counts " +
        "the measured repetitions only.</p>",
      figures: sweeps(doc.results).map((sw) => sweepFigure(sw, doc.results)),
    },
    {
      id: "rcache",
      title: "Registration cache hits and misses",
      figures: gs.map(countersFigure).filter((f): f is Figure => f !== null),
    },
  ];
  const rs = regscaleSection(doc.regscale);
  if (rs) sections.unshift(rs);
  const cal = calibrationSection(doc);
  if (cal) sections.push(cal);
  // A step that failed as a whole keeps its section (its one line) even without figures.
  return sections.filter((s) => s.figures.length || s.keep);
}
