// `memreg compare --fail-on …`: what makes a comparison fail a CI job, decided on the compare model alone (the
// change flags are compare.ts's; a gate never judges the spread itself), and the point table as CSV.
import { UsageError } from "../common/mod.ts";
import { type CompareModel, type FigureDiff, letter, pointName } from "./compare.ts";
import { fmtValue, worse } from "./compare_md.ts";
import { atLeast, parseSeverity, type Severity, SEVERITY_WORDS } from "../conformance/severity.ts";

/**
 * One `--fail-on` condition: for `regression`, the smallest worsening that counts (a fraction); for
 * `new-deviation`, the least severity that counts (null: any).
 */
export type Gate =
  | { kind: "regression"; threshold: number | null }
  | { kind: "new-deviation"; severity: Severity | null };

/** The `--fail-on` values, as `--help` and the one-line refusals name them. */
export const GATE_NAMES = ["regression[:threshold]", "new-deviation[:severity]"] as const;

/** "10%", "10" (per cent) or "0.5%" → a fraction; anything else is a UsageError naming the value. */
function parseThreshold(text: string, value: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)\s*%?$/);
  const pct = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(pct) || pct <= 0) {
    throw new UsageError(
      `--fail-on: '${value}': the threshold must be a positive percentage, e.g. regression:10%`,
    );
  }
  return pct / 100;
}

/**
 * Parses `--fail-on` values (each repeatable or comma-separated: "regression:10%,new-deviation"); a bad one is
 * one UsageError naming it and what is accepted.
 */
export function parseGates(values: string[]): Gate[] {
  const gates: Gate[] = [];
  for (const value of values.flatMap((v) => v.split(",")).map((v) => v.trim())) {
    const [name, arg, ...rest] = value.split(":");
    if (name === "regression" && !rest.length) {
      gates.push({ kind: "regression", threshold: arg === undefined ? null : parseThreshold(arg, value) });
    } else if (name === "new-deviation" && !rest.length) {
      gates.push({
        kind: "new-deviation",
        severity: arg === undefined ? null : parseSeverity(arg, "--fail-on"),
      });
    } else {
      throw new UsageError(`--fail-on: unknown '${value}' (one of: ${GATE_NAMES.join(", ")})`);
    }
  }
  return gates;
}

/**
 * How many times worse a figure is than the baseline's (1.25: 25 % worse), the same either way round: a rate at
 * 0.8× and a time at 1.25× are both 1.25× worse. Null where there is no ratio.
 */
function worseBy(f: FigureDiff, i: number): number | null {
  const r = f.ratios[i];
  if (r === null || r <= 0) return null;
  return f.better === "higher" ? 1 / r : r;
}

/** Worse beyond the spread, and by more than `threshold` (a fraction: 0.1 = 1.1× worse) where one is given. */
function regressed(f: FigureDiff, i: number, threshold: number | null): boolean {
  const by = worseBy(f, i);
  if (!worse(f, i) || by === null) return false;
  return threshold === null || by > 1 + threshold;
}

const GOOD = ["pass", "known", "unsupported", "observed"];

/** The reasons, one line each, why the comparison fails the gates (none: it passes). */
export function gateReasons(model: CompareModel, gates: Gate[]): string[] {
  const out: string[] = [];
  for (const g of gates) {
    if (g.kind === "regression" && model.bench) {
      const b = model.bench;
      for (const f of b.figures) {
        for (let i = 1; i < b.runs.length; i++) {
          if (!regressed(f, i, g.threshold)) continue;
          const beyond = g.threshold === null
            ? "beyond the spread"
            : `beyond the spread and the ${+(g.threshold * 100).toFixed(3)} % threshold`;
          const pct = ((worseBy(f, i)! - 1) * 100).toFixed(1);
          out.push(
            `regression: ${pointName(f)} ${f.metric}: ${letter(i)} ${fmtValue(f, f.values[i])} against ${
              letter(0)
            } ${fmtValue(f, f.values[0])} (${f.ratios[i]!.toFixed(2)}×, ${pct} % worse, ${beyond})`,
          );
        }
      }
    }
    if (g.kind === "new-deviation" && model.conformance) {
      for (const d of model.conformance.diffs) {
        const [base, baseVerdict] = [d.classes[0], d.verdicts[0]];
        for (let i = 1; i < d.classes.length; i++) {
          const c = d.classes[i], v = d.verdicts[i], sev = d.severities[i];
          if (c === null || base === null) continue;
          // Under a severity floor, only a deviation at or above it counts.
          if (g.severity && !(sev && atLeast(sev, g.severity))) continue;
          const at = `new deviation: ${d.id}: ${letter(i)}`;
          const word = sev ? SEVERITY_WORDS[sev].one : null;
          if (GOOD.includes(base) && !GOOD.includes(c)) {
            out.push(
              `${at} ${c}${word ? ` (${word})` : ""} where ${letter(0)} was ${base} (the class got worse)`,
            );
          } else if (v !== null && baseVerdict === null) {
            out.push(
              `${at} ${c} (${[v, word].filter(Boolean).join("; ")}) where ${
                letter(0)
              } was ${base} with no deviation`,
            );
          }
        }
      }
    }
  }
  return out;
}

/** What a gate could not judge, one line each (e.g. no spread known): said, not failed on. */
export function gateNotes(model: CompareModel, gates: Gate[]): string[] {
  const out: string[] = [];
  const b = model.bench;
  if (gates.some((g) => g.kind === "regression")) {
    if (!b) out.push("--fail-on regression: no two bench runs to compare");
    else if (
      b.figures.length && b.figures.every((f) => f.changes.every((c) => c === null || c === "unknown"))
    ) {
      out.push(`--fail-on regression: no figure could be judged (spread ${b.spread.split(":")[0]})`);
    }
  }
  if (gates.some((g) => g.kind === "new-deviation") && !model.conformance) {
    out.push("--fail-on new-deviation: no two conformance runs to compare");
  }
  return out;
}

/** One CSV field, quoted where it must be (RFC 4180). */
const field = (v: string | number | null) => {
  const s = v === null ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/**
 * The bench point table as CSV: one row per point (and regcost or MW entry) and metric, the key columns, each
 * run's value, then per run after the baseline its ratio to it and the change (up, down, same, unknown).
 */
export function compareCsv(model: CompareModel): string {
  const b = model.bench;
  if (!b) {
    throw new UsageError("--format csv: the point table is the bench comparison's; these runs are not bench");
  }
  const runs = b.runs.map((_, i) => letter(i));
  const head = [
    "pair",
    "group",
    "point",
    "metric",
    "unit",
    "better",
    ...runs.map((l) => `value ${l}`),
    ...runs.slice(1).flatMap((l) => [`ratio ${l}/${runs[0]}`, `change ${l}`]),
  ];
  const rows = b.figures.map((f) => [
    f.pair,
    f.group,
    f.key,
    f.metric,
    f.unit,
    f.better,
    ...f.values,
    ...runs.slice(1).flatMap((_, j) => [f.ratios[j + 1], f.changes[j + 1]]),
  ]);
  return [head, ...rows].map((r) => r.map(field).join(",")).join("\n") + "\n";
}
