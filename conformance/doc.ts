// The conformance result document (versioned) as the engine writes it. Its validator and every renderer live in
// reports/; reports/schema checks at compile time that the two describe the same document.
import type { RunHeader } from "../record/header.ts";
import { type CaseResult, CLASSES, type Classification } from "./model.ts";

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
  kind: "conformance";
  /** Whether every selected case ran; a run stopped early says by what. */
  completed: boolean;
  interruptedBy: "SIGINT" | "SIGTERM" | null;
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
