// `memreg compare A B [C…]`: runs side by side, the first of each kind as the baseline; HTML, Markdown or JSON.
import { type Command, Option } from "commander";
import { UsageError } from "../common/mod.ts";
import { loadResult } from "../reports/load.ts";
import { compareRuns } from "../reports/compare.ts";
import { compareMarkdown } from "../reports/compare_md.ts";
import { compareHtml } from "../reports/html/compare.ts";
import { writeText } from "../record/stream.ts";

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
      new Option("--format <format>", "html, md (CI summaries) or json (scripts)").choices([
        "html",
        "md",
        "json",
      ]),
    )
    .action((files: string[], o: { out?: string; format?: "html" | "md" | "json" }) => {
      const runs = files.map(loadResult);
      const model = compareRuns(runs);
      if (!model.bench && !model.conformance) {
        throw new UsageError("compare needs at least two runs of the same kind (bench or conformance)");
      }
      const format = o.format ??
        (o.out?.endsWith(".md") ? "md" : o.out?.endsWith(".json") ? "json" : o.out ? "html" : "md");
      const text = format === "html"
        ? compareHtml(model, { runs })
        : format === "json"
        ? JSON.stringify(model, null, 2) + "\n"
        : compareMarkdown(model);
      if (o.out) {
        writeText(o.out, text);
        console.log(`compare: ${o.out}`);
      } else console.log(text);
    });
}
