// The data a conformance case is made of, and what a run records about it.
import type { Fixture } from "./fixture/mod.ts";
import type { RuleId } from "./rules.ts";
import type { Tape } from "./tape.ts";

/**
 * `must`: the rule is mandated, a mismatch fails. `observe`: implementation-defined, recorded as `observed`
 * (never failed, never counted as a pass).
 */
export type Level = "must" | "observe";

/**
 * Device capabilities a case needs (from ibv_query_device_ex and the device's transport; conformance/caps.ts);
 * missing ones make the case `unsupported`. IB_TRANSPORT: the IBTA transport (InfiniBand or RoCE), whose rules
 * (transport retry count, QP state changes without a CM) iWARP does not share.
 */
export type Cap =
  | "MW1"
  | "MW2"
  | "MW2B"
  | "MGT_EXT"
  /** Reliable connected QPs, on which every case runs: needed by all, without saying (caps.ts lacking). */
  | "RC"
  | "LOCAL_INV"
  | "SEND_WITH_INV"
  | "ODP_RC"
  | "ODP_IMPLICIT"
  /** ODP on RC for atomics (rc_odp_caps ATOMIC) and for SEND/RECV (SEND and RECV). */
  | "ODP_RC_ATOMIC"
  | "ODP_RC_SEND_RECV"
  | "ATOMIC"
  | "IB_TRANSPORT"
  /** The iWARP transport (RDMAP/DDP/MPA over TCP, RFC 5040/5041/5044): for the rules only iWARP has. */
  | "IWARP";

/** One observed fact: a step's return code, a completion status, a QP state, a data verdict… */
export type Value = string | number | boolean;
/** Every fact a case recorded, by label. */
export type Facts = Record<string, Value>;

/** Accepted values of one fact: one of a list, or anything present but these. */
export type Accept = readonly Value[] | { readonly not: readonly Value[] };

/** One accepted outcome: every listed fact must take one of its accepted values. */
export type Outcome = Readonly<Record<string, Accept>>;

/** A conformance case: the rule it checks, how it provokes the device, and the outcomes it accepts. */
export interface CaseDef {
  /** `group.name` */
  id: string;
  title: string;
  rule: RuleId;
  /** Further rules the accepted outcomes rest on (e.g. the responder error class that fixes a status). */
  also?: readonly RuleId[];
  level: Level;
  needs?: readonly Cap[];
  /** Why the case has taken a kernel down: it runs only under crash survival or --allow-kernel-crash. */
  risk?: string;
  /** What is built before the provoking action, in words (the code is in `run`). */
  setup: string;
  /** The action whose outcome is checked. */
  provoke: string;
  /** Accepted outcomes (any one of them); `observe` cases may list none. */
  expect?: readonly Outcome[];
  /**
   * Where iWARP's rules differ from IBTA's (RFC 5040/5041, RFC 7306): the rule and outcomes that replace `rule`,
   * `also` and `expect` when the device is iWARP (forTransport).
   */
  iwarp?: TransportRule;
  /** Loopback options: a separate PD for the responder (wrong-PD cases). */
  separatePd?: boolean;
  /** A longer deadline than --case-deadline, for a case whose verbs are known to block (measured). */
  deadlineMs?: number;
  /** Why the case always runs in a child (as under --isolate): it has killed the process on some provider. */
  isolate?: string;
  /** Builds the setup and provokes the action on `f`, recording facts there. */
  run(f: Fixture): Promise<void>;
}

/** A case's rule and accepted outcomes on one transport (CaseDef.iwarp). */
export interface TransportRule {
  rule: RuleId;
  also?: readonly RuleId[];
  expect: readonly Outcome[];
}

/**
 * The case as it is checked on a device: on iWARP, its iWARP rule and outcomes in place of the IBTA ones (the
 * `iwarp` field dropped, so applying it twice changes nothing); otherwise the case as defined.
 */
export function forTransport(def: CaseDef, iwarp: boolean): CaseDef {
  if (!iwarp || !def.iwarp) return def;
  const { iwarp: t, also: _, ...rest } = def;
  return { ...rest, rule: t.rule, ...(t.also ? { also: t.also } : {}), expect: t.expect };
}

/**
 * `crashed`: the --isolate child died (the process); `kernel-crash`: the kernel under test panicked, oopsed or
 * hung during the case (the testbed rebooted and the run went on).
 */
export type Classification =
  | "pass"
  | "observed"
  | "fail"
  | "known"
  | "unsupported"
  | "timeout"
  | "crashed"
  | "kernel-crash"
  | "error";
/** Every classification, in report order. */
export const CLASSES: readonly Classification[] = [
  "pass",
  "observed",
  "fail",
  "known",
  "unsupported",
  "timeout",
  "crashed",
  "kernel-crash",
  "error",
];

/** The classes that let a run exit 0: nothing contradicts the spec or the profile. */
export const CLEAN: readonly Classification[] = ["pass", "observed", "known", "unsupported"];

/**
 * What a deviation means for users: `acceptable` (only a detail differs), `bug` (wrong behaviour without a
 * protection consequence), `security` (memory or a kernel exposed to someone who should not reach it: access
 * beyond what was granted, revocation by a stranger, a local denial of service).
 */
export type Verdict = "acceptable" | "bug" | "security";
/** Every verdict, mildest first. */
export const VERDICTS: readonly Verdict[] = ["acceptable", "bug", "security"];

/** A deviation from a profile that turned a `fail` into `known` (or explains a `kernel-crash`). */
export interface KnownDeviation {
  verdict: Verdict;
  reason: string;
  evidence: string;
}

/** What a run records about one case: its definition in words, the facts observed, and how they classify. */
export interface CaseResult {
  id: string;
  group: string;
  title: string;
  rule: RuleId;
  source: string;
  /** What the rule says (so a report reads without the code that ran it). */
  ruleText: string;
  /** The further rules of the case, with their sources. */
  also?: { rule: RuleId; source: string }[];
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
  /** kernel-crash: what the console showed (panic line, RIP, call trace) and which boot it ended. */
  crash?: CrashEvidence;
}

/**
 * A result with what the case did to the device step by step (only when asked for: --emit-c). The tape goes
 * to the C programs and the crash-survival stream, not into the result document.
 */
export type CaseRun = CaseResult & { tape?: Tape };

/** The console evidence of a kernel crash (or of a hang: no progress before the host's deadline). */
export interface CrashEvidence {
  kind: "panic" | "oops" | "hang";
  /** The "Kernel panic - not syncing: ..." line, or the first BUG/Oops line. */
  panicLine: string | null;
  /** The console's `RIP:` line (the faulting instruction), if it showed one. */
  rip: string | null;
  callTrace: string[];
  /** The console lines from the first sign of trouble on (bounded). */
  excerpt: string;
  kernel: string;
  /** Testbed boots in this run before this one ended (1 = the first boot crashed). */
  boot: number;
}

/** The group of a case id: the part before the first dot. */
export function groupOf(id: string): string {
  return id.slice(0, id.indexOf("."));
}
