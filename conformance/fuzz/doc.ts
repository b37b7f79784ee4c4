// The fuzz result document (versioned) as `memreg conformance --fuzz` writes it, and the outcome of a replay:
// what the fuzz session writes and reports/fuzz.ts renders (neither needs the other's engine).
import { basename } from "node:path";
import type { RunHeader } from "../../record/header.ts";
import type { StopSignal } from "../../common/signals.ts";
import type { Profile } from "../profile.ts";
import type { Divergence, StepRecord } from "./exec.ts";
import type { FuzzSummary, ReplayFile } from "./run.ts";
import type { Step } from "./steps.ts";

/** Bump on any incompatible change of the document below. */
export const FUZZ_SCHEMA_VERSION = 1;

/** The result document of a fuzz run. */
export interface FuzzDoc extends RunHeader {
  mode: "fuzz";
  /** Whether the run used its whole budget (as bench and conformance documents say; also run.completed). */
  completed: boolean;
  /** The signal that ended the run before its budget, or null. */
  interruptedBy: StopSignal | null;
  run: {
    seed: number;
    budgetMs: number;
    maxSequences?: number;
    wallMs: number;
    profile: string | null;
    completed: boolean;
    /** Crash survival: the testbed boots and how each ended. */
    boots?: { kernel: string; ended: string; sequences: number }[];
  };
  summary: FuzzSummary;
  /** Sequences that took the kernel down (crash survival), shrunk like any other finding. */
  crashes?: CrashFinding[];
}

/** A sequence that crashed the guest kernel or process (crash survival), shrunk like any other finding. */
export interface CrashFinding {
  signature: string;
  /** panic, oops, hang (the kernel) or process (the guest's memreg process died of a signal). */
  what: string;
  sequence: number;
  steps: Step[];
  described: string[];
  step: number;
  known: boolean;
  evidence: { panicLine: string | null; rip: string | null; callTrace: string[] };
  /** The kernel that crashed (the testbed boot's; absent in documents written before it was recorded). */
  kernel?: string;
  file?: string;
}

/** The document of a run (findings without their tapes: those go to C programs). */
export function fuzzDoc(
  header: RunHeader,
  summary: FuzzSummary,
  profile: Profile | null,
  o: {
    interruptedBy: StopSignal | null;
    boots?: FuzzDoc["run"]["boots"];
    crashes?: CrashFinding[];
  },
): FuzzDoc {
  return {
    ...header,
    mode: "fuzz",
    completed: !o.interruptedBy,
    interruptedBy: o.interruptedBy,
    run: {
      seed: summary.seed,
      budgetMs: summary.budgetMs,
      ...(summary.maxSequences !== undefined ? { maxSequences: summary.maxSequences } : {}),
      wallMs: summary.wallMs,
      profile: profile ? basename(profile.path ?? profile.driver) : null,
      completed: !o.interruptedBy,
      ...(o.boots ? { boots: o.boots } : {}),
    },
    summary: {
      ...summary,
      findings: summary.findings.map((f) => ({ ...f, tape: undefined, facts: undefined })),
    },
    ...(o.crashes ? { crashes: o.crashes } : {}),
  };
}

/** A replayed sequence: each step's record, the first divergence and the profile entry that explains it. */
export interface ReplayOutcome {
  replay: ReplayFile;
  records: StepRecord[];
  divergence: Divergence | null;
  /** The profile entry that explains the divergence, if one does. */
  knownCase: string | null;
}
