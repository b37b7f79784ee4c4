// `memreg conformance`: runs the invalidation error-case suite on an RDMA device and classifies each case.
// Exit 0 only when every case matches its expectations (pass, known deviation or unsupported); 1 otherwise;
// 2 for bad input. The JSON document, its stream, the HTML report and the optional JUnit/Markdown files.
import type { Command } from "commander";
import { type DeviceOptions, deviceOptions, ensureDevice } from "./common.ts";
import { nonNegativeInt, positiveInt } from "../common/mod.ts";
import { defaultOutPath } from "../record/header.ts";
import { JsonLines, jsonLinesPath, writeJson, writeText } from "../record/stream.ts";
import { CASES } from "../conformance/cases/index.ts";
import { selectCases } from "../conformance/select.ts";
import { loadProfile } from "../conformance/profile.ts";
import { runSuite } from "../conformance/suite.ts";
import type { SuiteDoc } from "../conformance/doc.ts";
import type { CaseDef } from "../conformance/model.ts";
import { formatTable } from "../reports/conformance/table.ts";
import { formatMarkdown } from "../reports/conformance/markdown.ts";
import { formatJunit } from "../reports/conformance/junit.ts";
import { detail } from "../reports/conformance/summary.ts";
import { writeHtmlReport } from "../reports/write.ts";
import { Interrupted, watchStop } from "../common/signals.ts";

interface ConformanceOptions extends DeviceOptions {
  cases?: string;
  list?: boolean;
  port: number;
  gid?: number;
  isolate?: boolean;
  strict?: boolean;
  profile?: string;
  out?: string;
  junit?: string;
  summary?: string;
  html: boolean;
  stepDeadline: number;
  caseDeadline: number;
}

export function formatList(defs: readonly CaseDef[]): string {
  const w = Math.max(...defs.map((d) => d.id.length));
  return defs.map((d) => `${d.id.padEnd(w)}  ${d.level.padEnd(7)}  ${d.rule.padEnd(17)}  ${d.title}`).join(
    "\n",
  );
}

export function registerConformance(program: Command): void {
  const cmd = deviceOptions(
    program.command("conformance")
      .description(
        "provoke the invalidation error cases (MR, MW type 1/2, QP, ODP) and classify each outcome",
      )
      .option("--cases <patterns>", "comma-separated case ids or globs, e.g. 'mw2.*,mr.write_*'")
      .option("--list", "list the selected cases (id, level, rule, title) and exit")
      .option("--port <n>", "port number", positiveInt("--port"), 1)
      .option(
        "--gid <index>",
        "GID index (default: the port's RoCE v2 IPv4-mapped entry)",
        nonNegativeInt("--gid"),
      )
      .option("--isolate", "run each case in its own child process (a crash becomes `crashed`)")
      .option("--strict", "ignore expectation profiles: every deviation is a failure")
      .option("--profile <file>", "expectation profile to apply instead of the built-in one for the driver")
      .option("--out <file>", "JSON result file (default: results/conformance-<device>-<time>.json)")
      .option("--junit <file>", "also write JUnit XML here")
      .option("--summary <file>", "also write a Markdown summary here")
      .option("--no-html", "do not write the HTML report next to the JSON")
      .option("--step-deadline <ms>", "longest wait for one completion", positiveInt("--step-deadline"), 5000)
      .option("--case-deadline <ms>", "longest time for one case", positiveInt("--case-deadline"), 30000),
  );
  cmd.action(async (opts: ConformanceOptions) => {
    Deno.exitCode = await conformance(opts);
  });
}

async function conformance(o: ConformanceOptions): Promise<number> {
  const defs = selectCases(CASES, o.cases);
  if (o.list) {
    console.log(formatList(defs));
    return 0;
  }
  const profile = o.profile ? loadProfile(o.profile) : undefined;
  await ensureDevice(o);

  // Each result is streamed as a JSON line as soon as it is known, so a crash or Ctrl-C loses nothing.
  let out = o.out;
  let lines: JsonLines | undefined;
  using _stop = await watchStop("finishing the current case, then writing the results");
  try {
    const doc = await runSuite(defs, {
      port: o.port,
      gidIndex: o.gid,
      stepDeadlineMs: o.stepDeadline,
      caseDeadlineMs: o.caseDeadline,
      device: o.device,
      cases: o.cases ?? null,
      isolate: !!o.isolate,
      strict: !!o.strict,
      profile,
      onHeader: (h) => {
        out ??= defaultOutPath("conformance", h.device.name);
        lines = new JsonLines(jsonLinesPath(out));
        lines.write({ record: "header", ...h });
      },
      onResult: (r, i, n) => {
        lines?.write({ record: "case", ...r });
        console.error(`[${i + 1}/${n}] ${r.id}: ${r.class}${r.class === "pass" ? "" : ` (${detail(r)})`}`);
      },
    });
    writeJson(out!, doc);
    lines?.write({ record: "end", file: out, completed: doc.completed, interruptedBy: doc.interruptedBy });
    const code = writeOutputs(doc, out!, o);
    if (doc.interruptedBy) {
      throw new Interrupted(
        doc.interruptedBy,
        `interrupted by ${doc.interruptedBy} after ${doc.results.length} of ${defs.length} cases; what ` +
          `completed is in ${out} (completed: false) and ${jsonLinesPath(out!)}`,
      );
    }
    return code;
  } finally {
    lines?.close();
  }
}

function writeOutputs(doc: SuiteDoc, out: string, o: ConformanceOptions): number {
  if (o.junit) writeText(o.junit, formatJunit(doc));
  if (o.summary) writeText(o.summary, formatMarkdown(doc));
  console.log(formatTable(doc));
  console.error(`results: ${out} (streamed: ${jsonLinesPath(out)})`);
  if (o.html) console.error(`report: ${writeHtmlReport(out)}`);
  return doc.exitCode;
}
