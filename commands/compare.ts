// `memreg compare A B [C…]`: runs side by side, the first of each kind as the baseline; HTML, Markdown, JSON or
// CSV (the point table). `--fail-on` makes it a CI gate: exit 1 with one line per reason.
import { type Command, Option } from "commander";
import { UsageError } from "../common/mod.ts";
import { guardOutput, outputFile } from "../common/output.ts";
import { type Loaded, loadResult } from "../reports/load.ts";
import { compareRuns, letter } from "../reports/compare.ts";
import { compareMarkdown } from "../reports/compare_md.ts";
import { compareCsv, GATE_NAMES, gateNotes, gateReasons, parseGates } from "../reports/compare_gate.ts";
import { compareHtml } from "../reports/html/compare.ts";
import { writeText } from "../record/stream.ts";

type Format = "html" | "md" | "json" | "csv";

/** Runs that are one file twice, or two copies of one document: said (they still compare, as nothing changed). */
function sameRuns(files: string[], runs: Loaded[]): string[] {
  const real = files.map((f) => {
    try {
      return Deno.realPathSync(f);
    } catch {
      return f;
    }
  });
  const texts = files.map((f) => Deno.readTextFileSync(f));
  // Letters count per kind, as the comparison names its runs (bench and conformance each have an A).
  const nth = runs.map((r, i) => runs.slice(0, i).filter((q) => q.kind === r.kind).length);
  const out: string[] = [];
  for (let j = 1; j < files.length; j++) {
    for (let i = 0; i < j; i++) {
      if (runs[i].kind !== runs[j].kind) continue;
      const same = real[i] === real[j];
      if (same || texts[i] === texts[j]) {
        out.push(
          `compare: ${letter(nth[i])} and ${letter(nth[j])} ${
            same ? `are the same file (${files[j]})` : `have identical content (${files[i]}, ${files[j]})`
          }: it is compared with itself`,
        );
        break;
      }
    }
  }
  return out;
}

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
    .action((files: string[], o: { out?: string; format?: Format; failOn: string[] }) => {
      const gates = parseGates(o.failOn);
      if (o.out) outputFile(o.out, "-o");
      const runs = files.map(loadResult);
      const model = compareRuns(runs);
      if (!model.bench && !model.conformance) {
        throw new UsageError("compare needs at least two runs of the same kind (bench or conformance)");
      }
      for (const line of sameRuns(files, runs)) console.error(line);
      const format = o.format ??
        (o.out?.endsWith(".md")
          ? "md"
          : o.out?.endsWith(".json")
          ? "json"
          : o.out?.endsWith(".csv")
          ? "csv"
          : o.out
          ? "html"
          : "md");
      const text = format === "html"
        ? compareHtml(model, { runs })
        : format === "json"
        ? JSON.stringify(model, null, 2) + "\n"
        : format === "csv"
        ? compareCsv(model)
        : compareMarkdown(model);
      if (o.out) {
        const out = o.out;
        guardOutput(out, "-o", () => writeText(out, text));
        console.log(`compare: ${o.out}`);
      } else console.log(format === "csv" ? text.replace(/\n$/, "") : text);
      for (const line of gateNotes(model, gates)) console.error(`compare: ${line}`);
      const reasons = gateReasons(model, gates);
      for (const line of reasons) console.error(`compare: ${line}`);
      if (reasons.length) Deno.exitCode = 1;
    });
}
