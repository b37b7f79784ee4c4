// --emit-c for a conformance run: each case that failed, deviates as a bug or security, or crashed the kernel
// becomes a C program replaying its tape.
import type { CaseRun } from "./model.ts";
import { emitAll } from "./emit_c.ts";

/** The results worth a C program: fail, known with a bug/security verdict, kernel-crash — with a tape. */
export function casesToEmit(results: readonly CaseRun[]): CaseRun[] {
  return results.filter((r) =>
    r.tape &&
    (r.class === "fail" || r.class === "kernel-crash" ||
      (r.class === "known" && r.deviation?.verdict !== "acceptable"))
  );
}

/** Writes a C program for each result worth one into `dir`; returns the file names written. */
export function emitCases(dir: string, results: readonly CaseRun[]): string[] {
  return emitAll(
    dir,
    casesToEmit(results).map((r) => ({
      name: r.id,
      summary:
        `${r.title} [${r.class}${
          r.deviation ? `, ${r.deviation.verdict}` : ""
        }; rule ${r.rule}: ${r.source}]` +
        (r.class === "kernel-crash" ? ` — crashed the kernel: ${r.reason}` : ""),
      facts: r.observed,
      tape: r.tape!,
    })),
  );
}
