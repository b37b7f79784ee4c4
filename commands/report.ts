// `memreg report RESULT…`: saved results (final .json or the .jsonl stream of an interrupted run) as the tables a
// run prints, or as one offline HTML page (-o), and the charts as PNG or SVG files. The rendering
// (report_action.ts) is loaded only when the command runs.
import type { Command } from "commander";
import type { ReportOptions } from "./report_action.ts";

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
    .action(async (files: string[], o: ReportOptions) =>
      (await import("./report_action.ts")).report(files, o)
    );
}
