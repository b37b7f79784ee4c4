// `memreg compare A B [C…]`: runs side by side, the first of each kind as the baseline; HTML, Markdown, JSON or
// CSV (the point table). `--fail-on` makes it a CI gate: exit 1 with one line per reason. The comparison
// (compare_action.ts) is loaded only when the command runs.
import { type Command, Option } from "commander";
import { GATE_NAMES } from "../reports/compare_gate.ts";
import type { CompareOptions } from "./compare_action.ts";

/** Adds `compare` to the program. */
export function registerCompare(program: Command): void {
  program.command("compare").description(
    "compare runs (HCAs, kernels): the first of each kind is the baseline",
  )
    .argument(
      "<results...>",
      "two or more result files (.json or .jsonl); bench and conformance may be mixed",
    )
    .option("-o, --out <file>", "write the comparison here (default: stdout)")
    .addOption(
      new Option("--format <format>", "html, md (CI summaries), json (scripts) or csv (the point table)")
        .choices([
          "html",
          "md",
          "json",
          "csv",
        ]),
    )
    .option(
      "--fail-on <gate>",
      `exit 1 (one line per reason) on: ${
        GATE_NAMES.join(", ")
      }; a figure worse beyond the spread (and by more than the threshold, e.g. regression:10%), a conformance ` +
        "case whose class got worse or a deviation not in the baseline (new-deviation:security: at or above that " +
        "severity); repeatable or comma-separated",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (files: string[], o: CompareOptions) =>
      (await import("./compare_action.ts")).compare(files, o)
    );
}
