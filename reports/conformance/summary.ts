// What every conformance renderer shares: the counts line, why a case is what it is, the device line.
import { CLASSES, type Classification } from "../../conformance/model.ts";
import type { CaseResult } from "../../conformance/model.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import { pairLabel } from "../../record/pair.ts";

/** "12 pass, 2 known": the cases per class, the classes that occur only. */
export function countsLine(counts: Record<Classification, number>): string {
  return CLASSES.filter((c) => counts[c] > 0).map((c) => `${counts[c]} ${c}`).join(", ") || "no cases";
}

/** "4.2 s", or "3 min 5 s" from a minute on. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** One line saying why a case is what it is (for the table and the summary). */
export function detail(r: CaseResult): string {
  switch (r.class) {
    case "fail":
      return r.mismatches?.join("; ") ?? "";
    case "known":
      return `${r.deviation!.verdict}: ${r.deviation!.reason}`;
    case "pass":
      return "";
    case "observed":
      return observedLine(r);
    default:
      return r.reason ?? "";
  }
}

/** The facts of an observe case other than its setup steps. */
export function observedLine(r: CaseResult): string {
  return Object.entries(r.observed).filter(([k]) => !k.startsWith("setup.")).map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** The device, its model and kernel (and the pair) a conformance run ran on. */
export function deviceLine(doc: SuiteDoc): string {
  const pair = doc.pair ? `, pair ${pairLabel(doc.pair)}` : "";
  return `${doc.device.name} (${doc.device.model}), kernel ${doc.host.kernel}${
    doc.host.testbed ? ", Soft-RoCE testbed" : ""
  }${pair}`;
}
