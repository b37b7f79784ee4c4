// The compare model as Markdown that fits a CI comment or $GITHUB_STEP_SUMMARY.
import {
  type BenchCompare,
  type CompareModel,
  type ConformanceCompare,
  deviceLine,
  type FigureDiff,
  fmtGeoMean,
  letter,
  pointName,
  runHead,
  type RunRef,
  statusRows,
  transportsLine,
} from "./compare.ts";
import { fmtP } from "../common/stats.ts";
import { fmtCount, fmtMBps, fmtNs, sig } from "./html/runtime.js";

const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/** A compared value in its unit ("–" where the run has none). */
export function fmtValue(f: FigureDiff, v: number | null): string {
  if (v === null) return "–";
  if (f.unit === "IO/s") return `${fmtCount(v)} IO/s`;
  if (f.unit === "B/s") return fmtMBps(v);
  if (f.unit === "count") return sig(v);
  if (f.unit === "ratio") return `${sig(v)}×`;
  if (f.unit === "fraction") return `${(v * 100).toFixed(1)} %`;
  return fmtNs(v);
}

/**
 * "1.23× ▲ p=0.008" — the arrow only when the change is beyond the spread (the U test's p where it ran);
 * "≈" when the test cannot tell the runs apart; "?" when no spread is known.
 */
export function fmtRatioCell(f: FigureDiff, i: number): string {
  const r = f.ratios[i], c = f.changes[i], p = f.p?.[i] ?? null;
  if (r === null) return "–";
  const mark = c === "up" ? " ▲" : c === "down" ? " ▼" : c === "unknown" ? " ?" : c === "same" ? " ≈" : "";
  return `${r.toFixed(2)}×${mark}${p !== null && (c === "up" || c === "down") ? ` ${fmtP(p)}` : ""}`;
}

/** The lines that say how to read a comparison's figures (Markdown and HTML alike). */
export const HOW_TO_READ = [
  "Ratios are run ÷ baseline (A). A change is flagged (▲ up, ▼ down) when a two-sided Mann–Whitney U test " +
  "over both runs' repetitions gives p < 0.01 (with 5 repetitions per run that needs the runs not to overlap " +
  "at all: p = 0.008); ≈ the test cannot tell them apart; ? too few repetitions for any test (fewer than 5 " +
  "per run), so no change is claimed. Registration-cost figures are flagged where their 95 % intervals of " +
  "the median do not overlap.",
  "The geometric mean of the per-point ratios sums a comparison up (as pyperf does); ×/÷ its geometric " +
  "standard deviation holds about two thirds of the points. It is a summary, not a test.",
];

/** Beyond the spread and in the worse direction. */
export const worse = (f: FigureDiff, i: number) =>
  (f.changes[i] === "up" && f.better === "lower") || (f.changes[i] === "down" && f.better === "higher");

function runsTable(runs: RunRef[]): string[] {
  const note = transportsLine(runs);
  return [
    "| run | file | setup | device · transport | kernel | started |",
    "|---|---|---|---|---|---|",
    ...runs.map((r, i) =>
      `| ${i === 0 ? "**A (baseline)**" : letter(i)} | ${cell(r.name)} | ${cell(r.setup)} | ${
        cell(deviceLine(r))
      } | ${cell(r.kernel)}${r.testbed ? " (testbed)" : ""} | ${r.startedAt}${
        r.complete ? "" : " **incomplete**"
      } |`
    ),
    ...(note ? ["", note] : []),
  ];
}

/** The runs' column heads, joined as a Markdown row's cells. */
const heads = (runs: RunRef[]) => runs.map((_, i) => cell(runHead(runs, i))).join(" | ");

function conformanceMd(c: ConformanceCompare): string[] {
  const out = ["### Conformance", "", ...runsTable(c.runs), ""];
  const classes = [...new Set(c.counts.flatMap((x) => Object.keys(x)))];
  out.push(`| result | ${heads(c.runs)} |`);
  out.push(`|---|${c.runs.map(() => "---:").join("|")}|`);
  for (const k of classes) {
    if (c.counts.some((x) => x[k])) out.push(`| ${k} | ${c.counts.map((x) => x[k] ?? 0).join(" | ")} |`);
  }
  out.push("");
  if (!c.diffs.length) out.push("No differences between the runs' cases.");
  else {
    out.push(`**${c.diffs.length} case(s) differ**`, "");
    out.push(
      `| case | change | ${heads(c.runs)} | facts that differ |`,
    );
    out.push(`|---|---|${c.runs.map(() => "---").join("|")}|---|`);
    for (const d of c.diffs) {
      const facts = Object.entries(d.facts).map(([k, vs]) => `${k}: ${vs.join(" → ")}`).join("; ");
      out.push(
        `| \`${d.id}\` | ${d.change} | ${
          d.classes.map((x, i) => `${x ?? "–"}${d.verdicts[i] ? ` (${d.verdicts[i]})` : ""}`).join(" | ")
        } | ${cell(facts)} |`,
      );
    }
  }
  for (const l of c.leftOut) out.push("", `Left out: ${l}`);
  return out;
}

function benchMd(b: BenchCompare): string[] {
  const out = ["### Bench", "", ...runsTable(b.runs), "", `Spread: ${b.spread}.`, ""];
  if (b.geomean?.length) out.push(...b.geomean.map((g) => `- ${fmtGeoMean(g)}`), "");
  if (b.pairing) out.push(`Pairs: ${b.pairing}`, "");
  if (b.leftOut.length) out.push("Compared on the overlap; left out:", ...b.leftOut.map((l) => `- ${l}`), "");
  if (b.statusChanges.length) {
    out.push(
      "**Status changes**",
      "",
      `| point | ${heads(b.runs)} |`,
    );
    out.push(`|---|${b.runs.map(() => "---").join("|")}|`);
    for (const s of statusRows(b.statusChanges)) {
      out.push(
        `| ${cell(pointName(s))} | ${
          s.statuses.map((st, i) => cell(`${st}${s.reasons[i] ? `: ${s.reasons[i]}` : ""}`)).join(" | ")
        } |`,
      );
    }
    out.push("");
  }
  const flagged = b.figures.filter((f) => f.changes.some((c) => c === "up" || c === "down"));
  out.push(
    flagged.length
      ? `**${flagged.length} figure(s) changed beyond the spread** (▲ up, ▼ down)`
      : b.figures.some((f) => f.changes.some((c) => c === "same"))
      ? "No figure changed beyond the run-to-run spread."
      : "No change can be flagged: the spread is not known (ratios below, `?`).",
    "",
  );
  const rows = (fs: FigureDiff[]) => [
    `| point | figure | ${cell(runHead(b.runs, 0))} | ${
      b.runs.slice(1).map((_, i) => `${cell(runHead(b.runs, i + 1))} | ×A`).join(" | ")
    } |`,
    `|---|---|---:|${b.runs.slice(1).map(() => "---:|---:").join("|")}|`,
    ...fs.map((f) =>
      `| ${cell(pointName(f))} | ${f.metric} | ${fmtValue(f, f.values[0])} | ${
        b.runs.slice(1).map((_, j) => `${fmtValue(f, f.values[j + 1])} | ${fmtRatioCell(f, j + 1)}`).join(
          " | ",
        )
      } |`
    ),
  ];
  if (flagged.length) out.push(...rows(flagged), "");
  const headline = b.figures.filter((f) =>
    f.metric === "I/O rate" || f.metric === "exposure" || f.metric === "ibv_reg_mr p50" ||
    f.group.endsWith("memory windows")
  );
  out.push(
    "<details><summary>I/O rate, exposure and registration cost, every point</summary>",
    "",
    ...rows(headline),
    "",
    "</details>",
    "",
  );
  return out;
}

/** A comparison as Markdown: conformance differences first, then the bench's. */
export function compareMarkdown(m: CompareModel): string {
  const out = ["## memreg compare", ""];
  if (m.conformance) out.push(...conformanceMd(m.conformance), "");
  if (m.bench) out.push(...benchMd(m.bench), "");
  out.push("**How to read these figures**", "", ...HOW_TO_READ.flatMap((l) => [l, ""]));
  return out.join("\n");
}
