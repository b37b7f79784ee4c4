// `memreg conformance` end to end on the device here: the suite in this process, one side of a two-process run,
// or the crash-surviving host's guest. Each record (header, case, a risky case's tape steps) is streamed as soon
// as it exists, so a crash or Ctrl-C loses nothing; the document and the stream's end come last.
import { ResultFile } from "../record/result_file.ts";
import { watchStop } from "../common/signals.ts";
import type { PairRole } from "../oob/role.ts";
import type { CaseDef, CaseResult } from "./model.ts";
import { runSuite, type SuiteOptions } from "./suite.ts";
import { type SuiteDoc, withoutTapes } from "./doc.ts";

/** How a conformance run on the device here is run, and where its results go. */
export interface ConformanceRunOptions extends Omit<SuiteOptions, "onHeader" | "onRiskyTapeStep"> {
  /** The document's path (--out); a default under results/ when absent. */
  out?: string;
  /** The crash-surviving host's stream: append to it and write no document (the host writes it). */
  survivor?: string;
  /** One side of a run between two processes, or null for a run in this process. */
  role: PairRole | null;
}

/** What a conformance run leaves the command: its document, where it went, and the exit status. */
export interface ConformanceOutcome {
  doc: SuiteDoc;
  /** The document's path; null for a survivor (the host writes the document). */
  out: string | null;
  /** The document's exit code (0 all as expected, 1 otherwise, 130 / 143 interrupted). */
  exitCode: number;
}

/** Runs the cases and writes the result file (a survivor only streams its records to the host's). */
export async function runConformance(
  defs: readonly CaseDef[],
  o: ConformanceRunOptions,
): Promise<ConformanceOutcome> {
  let file: ResultFile | undefined;
  // A run of two processes watches once connected, and stops both sides (conformance/pair.ts).
  using _stop = o.role ? null : await watchStop("finishing the current case, then writing the results");
  try {
    const suite: SuiteOptions & { onHeader: NonNullable<SuiteOptions["onHeader"]> } = {
      ...o,
      // A risky case's steps are streamed as they happen: a kernel crash keeps its tape.
      onRiskyTapeStep: o.survivor && o.tape
        ? (id, step) => file?.write({ record: "tape", id, step })
        : undefined,
      onHeader: (h) => {
        if (o.survivor) {
          file = ResultFile.streamOnly(o.survivor);
          file.write({ record: file.fresh ? "header" : "boot", ...h });
          return;
        }
        const device = o.role ? `${h.device.name}-${o.role.role}` : h.device.name;
        file = ResultFile.open({ out: o.out, kind: "conformance", device });
        file.write({ record: "header", ...h });
      },
      onResult: (r: CaseResult, i: number, n: number) => {
        file?.write({ record: "case", ...r });
        o.onResult?.(r, i, n);
      },
    };
    const doc = o.role
      // The pair's plumbing (and its message schemas) is loaded only for a run of two processes.
      ? await (await import("./pair.ts")).runConformancePair(defs, o.role, {
        ...suite,
        runDefining: runDefining(o),
      })
      : await runSuite(defs, suite);
    const out = o.survivor ? null : file!.finish(withoutTapes(doc), doc);
    return { doc, out, exitCode: doc.exitCode };
  } finally {
    file?.close();
  }
}

/** The options both sides of a two-process run must share (compared before the first case). */
function runDefining(o: ConformanceRunOptions): Record<string, unknown> {
  return {
    cases: o.cases,
    strict: o.strict,
    stepDeadlineMs: o.stepDeadlineMs,
    caseDeadlineMs: o.caseDeadlineMs,
    allowKernelCrash: !!o.allowKernelCrash,
  };
}
