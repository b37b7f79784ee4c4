// The data a conformance case is made of, and what a run records about it.
import type { Fixture } from "./fixture.ts";
import type { RuleId } from "./rules.ts";

/**
 * `must`: the rule is mandated, a mismatch fails. `observe`: implementation-defined, recorded as `observed`
 * (never failed, never counted as a pass).
 */
export type Level = "must" | "observe";

/** Device capabilities a case needs (from ibv_query_device_ex); missing ones make the case `unsupported`. */
export type Cap = "MW1" | "MW2" | "MW2B" | "MGT_EXT" | "ODP_RC" | "ODP_IMPLICIT";

/** One observed fact: a step's return code, a completion status, a QP state, a data verdict… */
export type Value = string | number | boolean;
export type Facts = Record<string, Value>;

/** Accepted values of one fact: one of a list, or anything present but these. */
export type Accept = readonly Value[] | { readonly not: readonly Value[] };

/** One accepted outcome: every listed fact must take one of its accepted values. */
export type Outcome = Readonly<Record<string, Accept>>;

export interface CaseDef {
  /** `group.name` */
  id: string;
  title: string;
  rule: RuleId;
  level: Level;
  needs?: readonly Cap[];
  /** What is built before the provoking action, in words (the code is in `run`). */
  setup: string;
  /** The action whose outcome is checked. */
  provoke: string;
  /** Accepted outcomes (any one of them); `observe` cases may list none. */
  expect?: readonly Outcome[];
  /** Loopback options: a separate PD for the responder (wrong-PD cases). */
  separatePd?: boolean;
  run(f: Fixture): Promise<void>;
}

export type Classification =
  | "pass"
  | "observed"
  | "fail"
  | "known"
  | "unsupported"
  | "timeout"
  | "crashed"
  | "error";
export const CLASSES: readonly Classification[] = [
  "pass",
  "observed",
  "fail",
  "known",
  "unsupported",
  "timeout",
  "crashed",
  "error",
];

/** The classes that let a run exit 0: nothing contradicts the spec or the profile. */
export const CLEAN: readonly Classification[] = ["pass", "observed", "known", "unsupported"];

/** A deviation from a profile that turned a `fail` into `known`. */
export interface KnownDeviation {
  verdict: "acceptable" | "bug";
  reason: string;
  evidence: string;
}

export interface CaseResult {
  id: string;
  group: string;
  title: string;
  rule: RuleId;
  source: string;
  /** What the rule says (so a report reads without the code that ran it). */
  ruleText: string;
  level: Level;
  /** What was built before the provoking action, and the action (from the case definition). */
  setup: string;
  provoke: string;
  class: Classification;
  /** Accepted outcomes, in full. */
  expected: readonly Outcome[];
  /** Every fact the case recorded, in full. */
  observed: Facts;
  /** For `fail`/`known`: why each accepted outcome did not match. */
  mismatches?: string[];
  /** unsupported / timeout / crashed / error: why. */
  reason?: string;
  deviation?: KnownDeviation;
  durationMs: number;
  /** What the case noted on the way (e.g. why a fact is missing). */
  notes?: string[];
  /** The child process that ran the case (--isolate). */
  pid?: number;
}

export function groupOf(id: string): string {
  return id.slice(0, id.indexOf("."));
}
