// The `memreg report` run (commands/report.ts declares its options): dossiers, the HTML page, chart files or
// the text tables of saved results.
import { type Loaded, loadResult } from "../reports/load.ts";
import { benchReport } from "../reports/bench/table.ts";
import { formatTable } from "../reports/conformance/table.ts";
import { reportHtml } from "../reports/html/report.ts";
import { writeText } from "../record/stream.ts";
import { guardOutput, outputDir, outputFile } from "../common/output.ts";
import type { SuiteDoc } from "../conformance/doc.ts";
import { asFuzzDoc, type DossierInput, writeDossiers } from "../conformance/dossier.ts";
import { UsageError } from "../common/mod.ts";

/** What commander hands `report`'s action. */
export interface ReportOptions {
  /** -o: one HTML report of all the results. */
  out?: string;
  /** --png: chart files into this directory. */
  png?: string;
  /** --svg: chart files into this directory. */
  svg?: string;
  /** --dossier: one Markdown report per deviation into this directory. */
  dossier?: string;
}

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

/** Runs `memreg report` on the result files with its parsed options. */
export async function report(files: string[], o: ReportOptions): Promise<void> {
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
}
