// The JSON result document (versioned), and the summaries every output format shares.
import type { RunHeader } from "../../reports/record.ts";
import { type CaseResult, CLASSES, type Classification } from "../model.ts";

/** Bump on any incompatible change of the document below. */
export const SCHEMA_VERSION = 1;

export interface RunInfo {
  /** The --cases filter, or null for all. */
  cases: string | null;
  isolate: boolean;
  strict: boolean;
  /** The profile applied (none under --strict or when no profile matches the device). */
  profile: { driver: string; file: string } | null;
  port: number;
  gidIndex: number | null;
  stepDeadlineMs: number;
  caseDeadlineMs: number;
  wallMs: number;
  finishedAt: string;
}

export interface SuiteDoc extends RunHeader {
  run: RunInfo;
  counts: Record<Classification, number>;
  exitCode: number;
  results: CaseResult[];
}

export function countClasses(results: CaseResult[]): Record<Classification, number> {
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<Classification, number>;
  for (const r of results) counts[r.class]++;
  return counts;
}

export function countsLine(counts: Record<Classification, number>): string {
  return CLASSES.filter((c) => counts[c] > 0).map((c) => `${counts[c]} ${c}`).join(", ") || "no cases";
}

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
      return r.level === "observe" ? observedLine(r) : "";
    default:
      return r.reason ?? "";
  }
}

/** The facts of an observe case other than its setup steps. */
export function observedLine(r: CaseResult): string {
  return Object.entries(r.observed).filter(([k]) => !k.startsWith("setup.")).map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

export function deviceLine(doc: SuiteDoc): string {
  return `${doc.device.name} (${doc.device.model}), kernel ${doc.host.kernel}${
    doc.host.testbed ? ", Soft-RoCE testbed" : ""
  }`;
}
