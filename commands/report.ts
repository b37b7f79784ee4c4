// `memreg report RESULT…`: saved results (final .json or the .jsonl stream of an interrupted run) as the tables a
// run prints, or as one offline HTML page (-o), and the charts as PNG or SVG files.
import type { Command } from "commander";
import { type Loaded, loadResult } from "../reports/load.ts";
import { benchReport } from "../reports/bench/table.ts";
import { formatTable } from "../reports/conformance/table.ts";
import { reportHtml } from "../reports/html/report.ts";
import { writeText } from "../record/stream.ts";
import { guardOutput, outputDir, outputFile } from "../common/output.ts";
import type { SuiteDoc } from "../conformance/doc.ts";
import { asFuzzDoc, type DossierInput, writeDossiers } from "../conformance/dossier.ts";
import { UsageError } from "../common/mod.ts";

function textReport(r: Loaded): string {
  const d = r.doc;
  const head = `${r.path}: ${d.kind} on ${d.device.name} (${d.device.model}), kernel ${d.host.kernel}${
    d.host.testbed ? " (testbed)" : ""
  }, ${d.startedAt}, FFI ${d.ffi.path} ${d.ffi.perCallNs} ns/call`;
  const status = r.status.complete ? [] : [
    `INCOMPLETE RUN (${
      r.status.interruptedBy ? `interrupted by ${r.status.interruptedBy}` : "no end record"
    })`,
    ...r.status.missing.map((m) => `  not measured: ${m}`),
  ];
  const notes = r.status.notes.map((n) => `note: ${n}`);
  const body = r.kind === "bench" ? benchReport(r.doc) : formatTable(r.doc as unknown as SuiteDoc);
  return [head, ...status, ...notes, body].join("\n");
}

/** A file for --dossier: a fuzz document as it is, a conformance run validated as every report's input. */
function dossierInput(path: string): DossierInput {
  let raw: unknown = null;
  try {
    raw = JSON.parse(Deno.readTextFileSync(path));
  } catch {
    // a .jsonl stream, or not JSON at all: loadResult reads the one and names the other
  }
  const fuzz = asFuzzDoc(path, raw);
  if (fuzz) return { path, doc: fuzz };
  const r = loadResult(path);
  if (r.kind !== "conformance") throw new UsageError(`${path}: --dossier reads conformance and fuzz runs`);
  return { path, doc: r.doc as unknown as SuiteDoc };
}

/** Adds `report` to the program. */
export function registerReport(program: Command): void {
  program.command("report").description("render saved results: tables, one offline HTML page, chart files")
    .argument("<results...>", "result files: .json documents or .jsonl streams (interrupted runs)")
    .option("-o, --out <file>", "write one self-contained HTML report of all the results here")
    .option("--png <dir>", "write every chart as a PNG file into this directory")
    .option("--svg <dir>", "write every chart as an SVG file into this directory")
    .option(
      "--dossier <dir>",
      "write each deviation of these conformance (or fuzz) runs as a report for its maintainers into dir, " +
        "one Markdown file each (seen on every run given), and an index README.md by severity",
    )
    .action(async (files: string[], o: { out?: string; png?: string; svg?: string; dossier?: string }) => {
      // Output paths are checked before the work: a bad one is one line naming it, not a failure half-way.
      if (o.out) outputFile(o.out, "-o");
      if (o.png) outputDir(o.png, "--png");
      if (o.svg) outputDir(o.svg, "--svg");
      if (o.dossier) {
        const dir = outputDir(o.dossier, "--dossier");
        const inputs = files.map(dossierInput);
        const ds = await writeDossiers(dir, inputs);
        console.log(`${ds.length} dossier(s) in ${dir} (index: ${dir}/README.md)`);
        if (!o.out && !o.png && !o.svg) return;
      }
      const runs = files.map(loadResult);
      if (o.out) {
        const out = o.out;
        guardOutput(out, "-o", () => writeText(out, reportHtml(runs)));
        console.log(`report: ${o.out}`);
      }
      for (const [format, dir] of [["png", o.png], ["svg", o.svg]] as const) {
        if (!dir) continue;
        // Loaded here only: its native canvas addon costs every other command's start (~1 s in the testbed).
        const { writeChartFiles } = await import("../reports/chart_files.ts");
        const written = guardOutput(dir, `--${format}`, () => writeChartFiles(runs, dir, format));
        console.log(
          `${written.length} ${format.toUpperCase()} chart file(s) in ${dir}${
            written.length ? "" : " (conformance runs have no charts)"
          }`,
        );
      }
      if (!o.out && !o.png && !o.svg) console.log(runs.map(textReport).join("\n\n"));
    });
}
