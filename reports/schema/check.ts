// Compile-time proof that the validators and the writers describe the same documents (`deno check` fails
// otherwise). Two directions:
//   1. every document a writer can produce is accepted by the schema (Writes<…> below), and
//   2. the schema has exactly the writer's fields with the writer's types, once optionality and readonly-ness
//      are set aside (Same<…>): readers are optional where older documents lack a field, writers always write
//      it. A field added to a writer and not here, or here and not in a writer, breaks the build.
// The only deliberate difference: the reader takes any rule id (string), the writer's type is the id union.
import type { BenchDoc } from "../../bench/doc.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import type { CaseResult } from "../../conformance/model.ts";
import type { BenchIn } from "./bench.ts";
import type { SuiteIn } from "./conformance.ts";

/** Required, mutable, undefined-free, recursively: the shape without its optionality. */
type Norm<T> = T extends readonly (infer U)[] ? Norm<U>[]
  : T extends object ? { -readonly [K in keyof T]-?: Norm<Exclude<T[K], undefined>> }
  : T;
type Identical<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Same<A, B> = Identical<Norm<A>, Norm<B>>;
type Plain<T> = T extends readonly (infer U)[] ? Plain<U>[]
  : T extends object ? { -readonly [K in keyof T]: Plain<T[K]> }
  : T;
type Writes<W, R> = Plain<W> extends R ? true : false;
const proof = <_T extends true>() => {};

// Bench schema version 2 fields announced for the lead's issue 11 (BRIEFING) and not yet written by bench/:
// the reader knows them already. Delete this block when bench/ writes version 2.
type Range = { min: number; median: number; max: number };
type V2Latency = { p50CiNs?: [number, number] };
type PendingV2<D extends BenchDoc> = Omit<D, "results" | "regcost"> & {
  results: (Omit<D["results"][number], "reps" | "split" | "latency"> & {
    reps: (D["results"][number]["reps"][number] & { p50Ns?: number })[];
    split: D["results"][number]["split"] & { exposeVerbNs?: number; revokeVerbNs?: number };
    latency: D["results"][number]["latency"] & V2Latency;
    spread?: {
      method: "reps";
      n: number;
      confidence: number;
      iops: Range;
      p50Ns: Range;
      bytesPerSec: Range;
    };
  })[];
  regcost:
    | null
    | Omit<NonNullable<D["regcost"]>, "mr" | "mw"> & {
      method?: string;
      reference?: { ran: boolean; reason?: string };
      mr: (Omit<NonNullable<D["regcost"]>["mr"][number], "reg" | "dereg"> & {
        reg?: BenchDoc["results"][number]["latency"] & V2Latency;
        dereg?: BenchDoc["results"][number]["latency"] & V2Latency;
        reference?: {
          reg: BenchDoc["results"][number]["latency"] & V2Latency;
          dereg: BenchDoc["results"][number]["latency"] & V2Latency;
        } | null;
        ratio?: { reg: number; dereg: number } | null;
      })[];
      mw: (Omit<NonNullable<D["regcost"]>["mw"][number], "latency"> & {
        latency?: BenchDoc["results"][number]["latency"] & V2Latency;
        reference?: (BenchDoc["results"][number]["latency"] & V2Latency) | null;
        ratio?: number | null;
      })[];
    };
};
type WrittenBench = PendingV2<BenchDoc>;

type WrittenCase = Omit<CaseResult, "rule"> & { rule: string };
type WrittenSuite = Omit<SuiteDoc, "results"> & { results: WrittenCase[] };

proof<Writes<BenchDoc, BenchIn>>();
proof<Same<WrittenBench, BenchIn>>();
proof<Writes<WrittenSuite, SuiteIn>>();
proof<Same<WrittenSuite, SuiteIn>>();
