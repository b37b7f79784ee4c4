// The conformance result document, schema version 1. The class list comes from conformance/model.ts (CLASSES),
// so classes added there (observed, kernel-crash) are read without touching this file.
import { z } from "zod";
import { CLASSES } from "../../conformance/model.ts";
import { completionShape, headerShape, int, num, str } from "./header.ts";

/** Conformance schema versions this memreg reads. */
export const CONFORMANCE_VERSIONS = [1] as const;

const Class = z.enum(CLASSES as unknown as [typeof CLASSES[number], ...typeof CLASSES[number][]]);
const Value = z.union([str, num, z.boolean()]);
const Accept = z.union([z.array(Value), z.object({ not: z.array(Value) })]);

export const CaseResultSchema = z.object({
  id: str,
  group: str,
  title: str,
  /** Any string: a report renders rule ids this version of memreg no longer (or not yet) knows. */
  rule: str,
  source: str,
  ruleText: str.optional(),
  level: z.enum(["must", "observe"]),
  setup: str.optional(),
  provoke: str.optional(),
  class: Class,
  expected: z.array(z.record(str, Accept)),
  observed: z.record(str, Value),
  mismatches: z.array(str).optional(),
  reason: str.optional(),
  deviation: z.object({ verdict: z.enum(["acceptable", "bug"]), reason: str, evidence: str }).optional(),
  durationMs: num,
  notes: z.array(str).optional(),
  pid: int.optional(),
});

const RunInfoSchema = z.object({
  cases: str.nullable(),
  isolate: z.boolean(),
  strict: z.boolean(),
  profile: z.object({ driver: str, file: str }).nullable(),
  port: int,
  gidIndex: int.nullable(),
  stepDeadlineMs: num,
  caseDeadlineMs: num,
  wallMs: num,
  finishedAt: str,
});

export const SuiteDocSchema = z.object({
  ...headerShape,
  kind: z.literal("conformance"),
  ...completionShape,
  run: RunInfoSchema,
  // Partial: documents written before a class existed have no count for it.
  counts: z.partialRecord(Class, int),
  exitCode: int,
  results: z.array(CaseResultSchema),
});

export type SuiteIn = z.infer<typeof SuiteDocSchema>;
export type CaseIn = z.infer<typeof CaseResultSchema>;

/** The records of the .jsonl stream a conformance run writes while it goes on. */
export const SuiteRecords = {
  header: z.object({ ...headerShape, kind: z.literal("conformance") }),
  case: CaseResultSchema,
  end: z.object({ file: str }),
};
