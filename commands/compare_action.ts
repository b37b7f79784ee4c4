// The `memreg compare` run (commands/compare.ts declares its options): load, compare, write, gate.
import { UsageError } from "../common/mod.ts";
import { guardOutput, outputFile } from "../common/output.ts";
import { type Loaded, loadResult } from "../reports/load.ts";
import { compareRuns, letter } from "../reports/compare.ts";
import { compareMarkdown } from "../reports/compare_md.ts";
import { compareCsv, gateNotes, gateReasons, parseGates } from "../reports/compare_gate.ts";
import { compareHtml } from "../reports/html/compare.ts";
import { writeText } from "../record/stream.ts";

type Format = "html" | "md" | "json" | "csv";

/** What commander hands `compare`'s action. */
export interface CompareOptions {
  /** -o: where the comparison goes (default stdout). */
  out?: string;
  /** --format (default from -o's extension, else md). */
  format?: Format;
  /** --fail-on gates, as given. */
  failOn: string[];
}

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

/** Runs `memreg compare` on the result files with its parsed options. */
export function compare(files: string[], o: CompareOptions): void {
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
}
