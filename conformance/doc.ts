// The conformance result document (versioned) as the engine writes it. Its validator and every renderer live in
// reports/; reports/schema checks at compile time that the two describe the same document.
import type { RunHeader } from "../record/header.ts";
import { type CaseResult, type CaseRun, CLASSES, type Classification, CLEAN } from "./model.ts";
import { atLeast, type Severity, severityOf } from "./severity.ts";

/** Bump on any incompatible change of the document below. */
export const SCHEMA_VERSION = 1;

/** How the run was made: its case filter, deadlines, options and wall time. */
export interface RunInfo {
  /** The --cases filter, or null for all. */
  cases: string | null;
  isolate: boolean;
  strict: boolean;
  /** Cases that can crash the kernel were run (--allow-kernel-crash, or the testbed's crash survival). */
  allowKernelCrash?: boolean;
  /** Crash survival: the testbed boots of this run, how each ended, and the kernel WARNs each showed. */
  boots?: BootRecord[];
  /** The profile applied (none under --strict or when no profile matches the device). */
  profile: { driver: string; file: string } | null;
  port: number;
  gidIndex: number | null;
  stepDeadlineMs: number;
  caseDeadlineMs: number;
  /** The fixture QPs' transport timer (4.096 µs × 2^timeout), retry counts, and why the transport count. */
  qpRetry?: QpRetry;
  /** --fail-on: a deviation at or above this severity fails the run, even one the profile lists. */
  failOn?: Severity;
  wallMs: number;
  finishedAt: string;
}

/** The fixture QPs' RTS settings that decide how long an unanswered request takes to fail. */
export interface QpRetry {
  /** The local ACK timeout exponent: each try waits 4.096 µs × 2^timeout. */
  timeout: number;
  /** The transport retry count. */
  retryCnt: number;
  /** The RNR retry count (7 would be infinite). */
  rnrRetry: number;
  /** Why the transport retry count is what it is. */
  why: string;
}

/** One testbed boot of a crash-surviving run: its kernel, the cases it finished and how it ended. */
export interface BootRecord {
  kernel: string;
  /** Cases this boot finished. */
  cases: number;
  ended: "completed" | "panic" | "oops" | "hang" | "failed" | "interrupted";
  warnings: string[];
}

/** The conformance result document. */
export interface SuiteDoc extends RunHeader {
  kind: "conformance";
  /** Whether every selected case ran; a run stopped early says by what. */
  completed: boolean;
  interruptedBy: "SIGINT" | "SIGTERM" | null;
  /**
   * A pair's run stopped because the other side was told to: its signal (null when it was only told by this
   * side, which names its own in interruptedBy). Single-process runs leave it out.
   */
  interruptedByPeer?: "SIGINT" | "SIGTERM" | null;
  /** The ids of the cases the run selected, in run order: an incomplete run's reader names those not run. */
  selected: string[];
  run: RunInfo;
  counts: Record<Classification, number>;
  exitCode: number;
  results: CaseResult[];
}

/** The cases per class. */
export function countClasses(results: CaseResult[]): Record<Classification, number> {
  const counts = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<Classification, number>;
  for (const r of results) counts[r.class]++;
  return counts;
}

/** The document as written: the results without the tapes some carry for --emit-c (they go to C programs). */
export function withoutTapes(doc: SuiteDoc): SuiteDoc {
  return { ...doc, results: (doc.results as CaseRun[]).map(({ tape: _, ...r }) => r) };
}

/**
 * 0 when every case matched the rules or a recorded deviation (a profiled kernel crash included) and, with
 * `failOn` (--fail-on), no result is at or above that severity (known deviations included); otherwise 1.
 */
export function exitCodeFor(results: CaseResult[], failOn?: Severity): number {
  const ok = (r: CaseResult) =>
    CLEAN.includes(r.class) || ((r.class === "kernel-crash" || r.class === "crashed") && !!r.deviation);
  const below = (r: CaseResult) => {
    const s = failOn && severityOf(r);
    return !s || !atLeast(s, failOn);
  };
  return results.every((r) => ok(r) && below(r)) ? 0 : 1;
}

/** The document's `selected`: the ids of the cases a run selected, in run order. */
export function selectedIds(defs: readonly { id: string }[]): string[] {
  return defs.map((d) => d.id);
}
