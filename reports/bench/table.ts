// The concise end-of-run table: per (op, pages, depth) and size, the strategies ranked by I/O rate, then what
// did not run and why, the revocation checks, and the regcost curve.
import { fmtSize } from "../../common/mod.ts";
import { bestRule, judgeBest, rankPerSize, vsBestCell } from "./rank.ts";
import { failedText, fmtExposure, fmtKeyLife, groupHeader, severalSets, us } from "./format.ts";
import { answerText, benchAnswer } from "./answer.ts";
import { percentileSupported, samplesFor } from "../../common/stats.ts";
import { STRATEGY_NAMES } from "../../bench/config.ts";
import type { BenchIn, MergedPairIn, PointIn, RegcostIn } from "../schema/bench.ts";
import { type PairIn, pairParts, partTitle, type RunRecords } from "../pairs.ts";
import { regscaleTable } from "./regscale.ts";

// Renders what a reader holds: version 1 documents lack the v2 fields, so every one of them is optional here.
type PointResult = PointIn;
type LateAccessResult = BenchIn["revocation"][number];
type RegcostResult = RegcostIn;
export { fmtExposure, fmtKeyLife, groupHeader } from "./format.ts";

type RefComparison = NonNullable<NonNullable<RegcostIn["mr"][number]["ratio"]>["reg"]>;

const PAGE = 4096;

/** A percentile in µs, or "n<100" where the sample is too small for it (common/stats.ts percentileSupported). */
export const pctUs = (q: number, ns: number, count: number) =>
  percentileSupported(q, count) ? us(ns) : `n<${samplesFor(q)}`;

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(" ")
    .trimEnd();
}

/** ±half the repetitions' IO/s range, relative to their median; "" without a spread. */
function spreadCell(p: PointResult): string {
  const r = p.spread;
  if (!r || r.n < 2 || !r.iops.median) return "";
  return `±${((r.iops.max - r.iops.min) / 2 / r.iops.median * 100).toFixed(0)}%`;
}

/** "mean (of it in verbs)", µs per I/O. */
function stepCell(total: number, verb: number | undefined): string {
  return verb === undefined || total === 0 ? us(total) : `${us(total)} (${us(verb)})`;
}

/** `label`: "pair 1 " in a merged document, before the harness line (its cost is that pair's). */
export function strategyTable(
  points: PointResult[],
  overhead?: { emptyCycleNs: number; ffiPerCallNs?: number; clockNs?: number },
  label = "",
): string {
  const ok = points.filter((p) => p.status === "ok" && !p.sweep);
  const several = severalSets(points);
  const lines: string[] = [];
  // A copy column only where a strategy copies (bounce): its copy is part of expose or revoke, not a verb.
  const copies = ok.some((p) => p.split.copyNs > 0);
  const W = [8, 12, 9, 5, 9, 9, 9, 14, 14, ...(copies ? [9] : []), 8, 16];
  let header = "", fewestReps = Infinity, thinP99 = false;
  for (const g of rankPerSize(ok)) {
    const verdict = judgeBest(g.ranked);
    if (verdict.kind !== "only") fewestReps = Math.min(fewestReps, verdict.reps);
    const h = groupHeader(g.ranked[0], several);
    if (h !== header) {
      header = h;
      lines.push("", h);
      lines.push(
        row(
          [
            "size",
            "strategy",
            "IO/s",
            "",
            "MB/s",
            "p50 µs",
            "p99 µs",
            "expose",
            "revoke",
            ...(copies ? ["copy"] : []),
            "cpu/IO",
            "vs top",
          ],
          W,
        ),
      );
    }
    g.ranked.forEach((p, i) => {
      thinP99 ||= !percentileSupported(99, p.latency.count);
      lines.push(row([
        i === 0 ? fmtSize(p.size) : "",
        p.strategy,
        p.iops.toFixed(p.iops < 100 ? 1 : 0),
        spreadCell(p),
        p.mbPerSec.toFixed(1),
        us(p.latency.p50Ns),
        pctUs(99, p.latency.p99Ns, p.latency.count),
        stepCell(p.split.exposeNs, p.split.exposeVerbNs),
        stepCell(p.split.revokeNs, p.split.revokeVerbNs),
        ...(copies ? [us(p.split.copyNs)] : []),
        p.cpu.perIoUs.toFixed(0),
        vsBestCell(p, g.ranked[0], verdict),
      ], W));
    });
  }
  const notRun = new Map<string, string>();
  for (const p of points.filter((p) => p.status !== "ok")) {
    const key = `${p.strategy}${p.layout === "pages" ? " (page list)" : ""} ${p.status}`;
    if (!notRun.has(key)) notRun.set(key, p.reason?.message ?? "");
  }
  if (notRun.size) {
    lines.push("", "not run:");
    for (const [k, why] of notRun) lines.push(`  ${k}: ${why}`);
  }
  if (lines.length) {
    const spread = ok.find((p) => p.spread && p.spread.n > 1)?.spread;
    lines.push(
      "",
      `expose/revoke: mean µs per I/O (in brackets: inside the verbs; the rest is memreg's harness${
        copies ? ", or the copy" : ""
      })`,
      ...(overhead
        ? [
          `${label}harness: an empty measurement cycle (clock reads, CQ polls, histogram) costs ${
            us(overhead.emptyCycleNs)
          } µs per I/O, inside every latency above${
            overhead.ffiPerCallNs === undefined
              ? ""
              : ` (FFI call ${us(overhead.ffiPerCallNs)} µs, clock read ${us(overhead.clockNs ?? 0)} µs)`
          }`,
        ]
        : []),
      ...(spread
        ? [
          `±: half the range of IO/s over ${spread.n} repetitions, relative to their median ([min, max] is a ${
            (spread.confidence * 100).toFixed(1)
          } % confidence interval of the median)`,
        ]
        : []),
      "cpu/IO: user+system µs per I/O (getrusage)",
      ...(Number.isFinite(fewestReps) ? [`vs top: IO/s against the top's; ${bestRule(fewestReps)}`] : []),
      ...(thinP99 ? ["p99 needs ≥ 100 samples (p99.9 ≥ 1000): n<100 where a point has fewer"] : []),
    );
  }
  return lines.join("\n");
}

/**
 * Per group and size, what each strategy did per I/O and left reachable: registrations, segments the peer had
 * to reach, its RDMA work requests (more than segments where a segment needed more SGEs than the device allows),
 * exposure and how long keys stayed valid after the I/O. Documents from before these figures print nothing.
 */
export function exposureTable(points: PointResult[]): string {
  const ok = points.filter((p) => p.status === "ok" && !p.sweep && p.exposure && p.perIo && p.keyLifetime);
  if (!ok.length) return "";
  const several = severalSets(points);
  const W = [8, 12, 8, 8, 8, 11, 0];
  const lines = [
    "",
    "per I/O: registrations, segments the peer reaches, its RDMA ops; exposure = bytes reachable through valid " +
    "keys / I/O bytes",
  ];
  let header = "";
  for (const g of rankPerSize(ok)) {
    const h = groupHeader(g.ranked[0], several);
    if (h !== header) {
      header = h;
      lines.push("", h, row(["size", "strategy", "regs", "segs", "ops", "exposure", "keys valid after"], W));
    }
    const byName = [...g.ranked].sort((a, b) => styleOrder(a.strategy) - styleOrder(b.strategy));
    byName.forEach((p, i) => {
      const sgeSplit = p.perIo!.rdmaOps > p.perIo!.segments + 1e-9;
      lines.push(row([
        i === 0 ? fmtSize(p.size) : "",
        p.strategy,
        num(p.perIo!.registrations),
        num(p.perIo!.segments),
        num(p.perIo!.rdmaOps),
        fmtExposure(p.exposure!.ratio),
        fmtKeyLife(p.keyLifetime!) + (sgeSplit ? `   ops > segs: ${p.sgeLimit} SGEs per op at most` : ""),
      ], W));
    });
  }
  return lines.join("\n");
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1));
const styleOrder = (s: string) => STRATEGY_NAMES.indexOf(s as never);

/**
 * The working-set sweeps: each (strategy, op, size, layout, depth, reuse) measured at several working sets,
 * with its cache's hit rate beside the I/O rate and latency.
 */
export function sweepTable(points: PointResult[]): string {
  const out: string[] = [];
  for (const sw of sweeps(points)) {
    const p0 = sw.points[0], cap = p0.counters?.capBytes;
    out.push(
      "",
      `working-set sweep: ${p0.strategy} ${p0.op} ${fmtSize(p0.size)}, ${
        p0.layout === "pages" ? "page list" : "contiguous"
      }, ${p0.reuse} reuse, depth ${p0.depth}${cap ? `, cache cap ${fmtSize(cap)}` : ""}`,
    );
    const W = [22, 7, 9, 9, 9, 7, 10];
    out.push(row(["working set", "× cap", "hit rate", "IO/s", "p50 µs", "regs", "exposure"], W));
    for (const p of sw.points) {
      const ws = p.workingSetBytes ?? 0;
      out.push(row([
        p.layout === "pages" ? `${fmtSize(ws)} pool` : `${p.buffers} × ${fmtSize(p.size)}`,
        cap ? num(ws / cap) : "",
        p.status !== "ok"
          ? p.status
          : p.hitRate === null || p.hitRate === undefined
          ? "–"
          : `${(p.hitRate * 100).toFixed(1)}%`,
        p.status === "ok" ? p.iops.toFixed(p.iops < 100 ? 1 : 0) : "",
        p.status === "ok" ? us(p.latency.p50Ns) : "",
        p.perIo ? num(p.perIo.registrations) : "",
        p.exposure ? fmtExposure(p.exposure.ratio) : "",
      ], W));
    }
  }
  return out.join("\n");
}

/** Points of one (strategy, op, size, layout, pages, depth, reuse) at two working sets or more, smallest first. */
export function sweeps<T extends PointIn>(points: T[]): { key: string; points: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const p of points) {
    const k = `${p.strategy}|${p.op}|${p.size}|${p.layout ?? "contiguous"}|${p.pages}|${p.depth}|${p.reuse}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  return [...groups].filter(([, ps]) => new Set(ps.map((p) => p.buffers)).size > 1).map(([key, ps]) => ({
    key,
    points: ps.sort((a, b) => a.buffers - b.buffers),
  }));
}

/** The late-access checks as terminal lines (empty when the run made none). */
export function revocationTable(checks: LateAccessResult[]): string {
  if (!checks.length) return "";
  return [
    "",
    "late access with the revoked key:",
    ...checks.map((c) =>
      `  ${c.strategy.padEnd(12)} ${c.op.padEnd(5)} ${
        (c.layout === "pages" ? "page list" : "").padEnd(9)
      } → ${c.reason ? failedText(c.reason) : `${c.status}${c.revoked ? "" : "   <-- NOT REVOKED"}`}`
    ),
  ].join("\n");
}

type Paired = NonNullable<NonNullable<RegcostIn["mw"][number]["paired"]>>;
type Summary = NonNullable<RegcostIn["mw"][number]["latency"]>;

/**
 * memreg / C: from paired adjacent blocks with its interval where recorded ("1.06× [1.02–1.10]"), the pooled
 * p50s' ratio otherwise ("1.234×"); "-" when the reference did not run.
 */
export function ratioCell(c: RefComparison | null | undefined, paired?: Paired | null): string {
  if (paired) return `${paired.median.toFixed(2)}× [${paired.lo.toFixed(2)}–${paired.hi.toFixed(2)}]`;
  return c ? `${c.ratio.toFixed(2)}×` : "-";
}

/** "70.1 µs (55 %) | 150 µs (45 %)": the modes of a sample that has several. */
export const modesText = (l: Summary) =>
  (l.modes ?? []).map((m) => `${us(m.p50Ns)} µs (${Math.round(m.share * 100)} %)`).join(" | ");

/** The regcost samples with several modes, named ("remote-rw 4k 4 KiB reg", "C bind type 1 MW"). */
export function multimodal(r: RegcostResult): [string, Summary][] {
  const out: [string, Summary][] = [];
  const add = (what: string, l: Summary | null | undefined) => l?.modes?.length && out.push([what, l]);
  for (const m of r.mr) {
    const k = `${m.access} ${m.pages} ${fmtSize(m.size)}`;
    add(`${k} reg`, m.reg);
    add(`${k} C reg`, m.reference?.reg);
    add(`${k} dereg`, m.dereg);
    add(`${k} C dereg`, m.reference?.dereg);
  }
  for (const w of r.mw) {
    add(w.verb, w.latency);
    add(`C ${w.verb}`, w.reference);
  }
  return out;
}

/** A p50 in µs, starred where its sample has several modes (listed under the table). */
const p50Cell = (l: Summary | null | undefined) => l ? `${us(l.p50Ns)}${l.modes?.length ? "*" : ""}` : "-";

/** `label`: "pair 1 " in a merged document (a pair's regcost is its server's device). */
export function regcostTable(r: RegcostResult | null, label = ""): string {
  if (!r) return "";
  const ref = r.reference?.ran;
  const lines = [
    "",
    `${label}regcost: p50 µs of the verb alone${
      ref ? ", beside the C reference (same verbs, tight C loop, same boot)" : ""
    }`,
  ];
  // One line for a regcost that failed as a whole; the entries measured before it follow.
  if (r.reason) lines.push(`  ${failedText(r.reason)}`);
  if (!r.mr.length && !r.mw.length) return lines.join("\n");
  if (r.reference && !r.reference.ran) lines.push(`  C reference not run: ${r.reference.reason}`);
  const groups = new Map<string, typeof r.mr>();
  for (const m of r.mr) {
    groups.set(`${m.access}, ${m.pages} pages`, [...(groups.get(`${m.access}, ${m.pages} pages`) ?? []), m]);
  }
  const paired = r.mr.some((m) => m.paired) || r.mw.some((w) => w.paired);
  const RW = paired ? 19 : 7;
  const W = [10, 10, 10, RW, 10, 10, RW, 9, 9];
  const multi = multimodal(r).map(([k, l]) => `    ${k}: ${modesText(l)}`);
  const cell = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(W[i]) : c.padStart(W[i])).join(" ");
  for (const [g, ms] of groups) {
    const first = ms.find((m) => m.status !== "ok");
    if (ms.every((m) => m.status !== "ok")) {
      lines.push(`  ${g}: ${first?.status}: ${first?.reason?.message}`);
      continue;
    }
    lines.push(`  ${g}`);
    lines.push(
      "    " + cell(["size", "reg", "C", "ratio", "dereg", "C", "ratio", "ns/page", "ns/page"]),
    );
    for (const m of ms) {
      lines.push(
        m.status === "ok"
          ? "    " + cell([
            fmtSize(m.size),
            p50Cell(m.reg),
            p50Cell(m.reference?.reg),
            ratioCell(m.ratio?.reg, m.paired?.reg),
            p50Cell(m.dereg),
            p50Cell(m.reference?.dereg),
            ratioCell(m.ratio?.dereg, m.paired?.dereg),
            String(m.regNsPerPage),
            String(m.deregNsPerPage),
          ])
          : `    ${fmtSize(m.size).padEnd(W[0])} ${m.status}: ${m.reason?.message}`,
      );
    }
  }
  lines.push(`  ${"windows".padEnd(54)} ${"memreg".padStart(9)} ${"C".padStart(9)} ${"ratio".padStart(RW)}`);
  for (const w of r.mw) {
    lines.push(
      `  ${w.verb.padEnd(54)} ${
        w.status === "ok"
          ? `${p50Cell(w.latency).padStart(9)} ${p50Cell(w.reference).padStart(9)} ${
            ratioCell(w.ratio, w.paired).padStart(RW)
          }`
          : `${w.status}: ${w.reason?.message}`
      }`,
    );
  }
  if (paired) {
    lines.push(
      "  ratio: memreg / C, the median over adjacent block pairs of (memreg block p50 / C block p50), [95 % interval]",
    );
  }
  if (multi.length) {
    lines.push("  * several modes (valley test on the log-samples): each mode's p50 (share)", ...multi);
  }
  const call = r.mr.find((m) => m.status === "ok" && m.size === PAGE && m.regCall);
  if (call) {
    lines.push(
      `  the same calls timed from JS (verb + FFI crossing), 4 KiB ${call.access}: reg ${
        us(call.regCall!.p50Ns)
      } µs, dereg ${us(call.deregCall!.p50Ns)} µs`,
    );
  }
  return lines.join("\n");
}

/**
 * Everything a finished bench document prints: the answer (answer.ts), strategies, revocation checks, regcost, calibration. A merged
 * Slurm document: each pair's tables under its hosts, its harness cost and regcost labelled with its number.
 */
export function benchReport(
  doc: RunRecords & {
    results: PointResult[];
    revocation: LateAccessResult[];
    pair?: PairIn | null;
    pairs?: MergedPairIn[];
    strategies?: { name: string; revokes: boolean; keyEnd?: string }[];
    regscale?: BenchIn["regscale"];
  },
): string {
  const parts = pairParts(doc);
  // The regscale lines end without a newline: the parts' first line (an answer) starts after one.
  const rs = regscaleTable(doc.regscale);
  return (rs && `${rs}\n`) + parts.map((part) => {
    const label = parts.length > 1 ? `pair ${part.n} ` : "";
    const cal = part.run?.calibration;
    // The answer first: who is fastest, at what cost against global, buying what.
    const answer = answerText(benchAnswer(part.results, doc.strategies), label);
    return (label ? `${partTitle(part)}\n` : "") + (answer ? `${answer}\n` : "") +
      strategyTable(part.results, part.run?.overhead, label) + exposureTable(part.results) +
      sweepTable(part.results) + revocationTable(part.revocation) +
      regcostTable(part.run?.regcost ?? null, label) +
      (cal ? `\n${label}${cal.summary}` : "");
  }).join("\n");
}
