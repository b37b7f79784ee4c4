// The conformance result document, schema version 1. The class list comes from conformance/model.ts (CLASSES),
// so classes added there (observed, kernel-crash) are read without touching this file.
import { z } from "zod";
import { CLASSES, VERDICTS } from "../../conformance/model.ts";
import { SEVERITIES } from "../../conformance/severity.ts";
import { amount, EndRecordSchema, headerShape, int, num, pairCompletionShape, str } from "./header.ts";

/** Conformance schema versions this memreg reads. */
export const CONFORMANCE_VERSIONS = [1] as const;

type Verdict = typeof VERDICTS[number];
const Class = z.enum(CLASSES as unknown as [typeof CLASSES[number], ...typeof CLASSES[number][]]);
const Value = z.union([str, num, z.boolean()]);
const Accept = z.union([z.array(Value), z.object({ not: z.array(Value) })]);

/** A case's result. */
export const CaseResultSchema = z.object({
  id: str,
  group: str,
  title: str,
  /** Any string: a report renders rule ids this version of memreg no longer (or not yet) knows. */
  rule: str,
  source: str,
  ruleText: str.optional(),
  also: z.array(z.object({ rule: str, source: str })).optional(),
  level: z.enum(["must", "observe"]),
  setup: str.optional(),
  provoke: str.optional(),
  class: Class,
  expected: z.array(z.record(str, Accept)),
  observed: z.record(str, Value),
  mismatches: z.array(str).optional(),
  reason: str.optional(),
  deviation: z.object({
    verdict: z.enum(VERDICTS as unknown as [Verdict, ...Verdict[]]),
    reason: str,
    evidence: str,
  })
    .optional(),
  durationMs: amount,
  notes: z.array(str).optional(),
  pid: int.optional(),
  crash: z.object({
    kind: z.enum(["panic", "oops", "hang"]),
    panicLine: str.nullable(),
    rip: str.nullable(),
    callTrace: z.array(str),
    excerpt: str,
    kernel: str,
    boot: int,
  }).optional(),
});

const RunInfoSchema = z.object({
  cases: str.nullable(),
  isolate: z.boolean(),
  strict: z.boolean(),
  allowKernelCrash: z.boolean().optional(),
  boots: z.array(z.object({
    kernel: str,
    cases: int,
    ended: z.enum(["completed", "panic", "oops", "hang", "failed", "interrupted"]),
    warnings: z.array(str),
  })).optional(),
  profile: z.object({ driver: str, file: str }).nullable(),
  port: int,
  gidIndex: int.nullable(),
  stepDeadlineMs: amount,
  caseDeadlineMs: amount,
  qpRetry: z.object({ timeout: int, retryCnt: int, rnrRetry: int, why: str }).optional(),
  failOn: z.enum(SEVERITIES).optional(),
  wallMs: amount,
  finishedAt: str,
});

/** The ids of the cases the run selected (absent before documents recorded them). */
const SelectedSchema = z.array(str).optional();

/** The conformance document. */
export const SuiteDocSchema = z.object({
  ...headerShape,
  kind: z.literal("conformance"),
  selected: SelectedSchema,
  /** Whether it completed; a pair side stopped by a signal to the other side names that side's signal. */
  ...pairCompletionShape,
  run: RunInfoSchema,
  // Partial: documents written before a class existed have no count for it.
  counts: z.partialRecord(Class, int),
  exitCode: int,
  results: z.array(CaseResultSchema),
});

/** A conformance document as read. */
export type SuiteIn = z.infer<typeof SuiteDocSchema>;
/** A case result as read. */
export type CaseIn = z.infer<typeof CaseResultSchema>;

/** The records of the .jsonl stream a conformance run writes while it goes on. */
export const SuiteRecords = {
  header: z.object({ ...headerShape, kind: z.literal("conformance"), selected: SelectedSchema }),
  /** Crash survival: the header again from each later testbed boot. */
  boot: z.object({ ...headerShape, kind: z.literal("conformance") }),
  case: CaseResultSchema,
  /** Crash survival: a step of a case that can crash the kernel, written as it happens. */
  tape: z.object({ id: str, step: z.record(str, z.unknown()) }),
  end: EndRecordSchema,
};
