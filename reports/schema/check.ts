// Compile-time proof that the validators and the writers describe the same documents (`deno check` fails
// otherwise). Two directions:
//   1. every document a writer can produce is accepted by the schema (Writes<…> below), and
//   2. the schema has exactly the writer's fields with the writer's types, once optionality and readonly-ness
//      are set aside (Same<…>): readers are optional where older documents lack a field, writers always write
//      it. A field added to a writer and not here, or here and not in a writer, breaks the build.
// The only deliberate difference: the reader takes any rule id (string, also in `also`), the writer's type is
// the id union.
import type { BenchDoc } from "../../bench/doc.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import type { CaseResult } from "../../conformance/model.ts";
import type { BenchIn } from "./bench.ts";
import type { SuiteIn } from "./conformance.ts";

/** Required, mutable, undefined-free, recursively: the shape without its optionality. */
type Norm<T> = T extends readonly unknown[] ? { -readonly [K in keyof T]: Norm<T[K]> }
  : T extends object ? { -readonly [K in keyof T]-?: Norm<Exclude<T[K], undefined>> }
  : T;
type Identical<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Same<A, B> = Identical<Norm<A>, Norm<B>>;
// Mapped over arrays and tuples alike (a tuple such as p50CiNs stays a tuple).
type Plain<T> = T extends readonly unknown[] ? { -readonly [K in keyof T]: Plain<T[K]> }
  : T extends object ? { -readonly [K in keyof T]: Plain<T[K]> }
  : T;
type Writes<W, R> = Plain<W> extends R ? true : false;
const proof = <_T extends true>() => {};

type WrittenCase = Omit<CaseResult, "rule" | "also"> & {
  rule: string;
  also?: { rule: string; source: string }[];
};
type WrittenSuite = Omit<SuiteDoc, "results"> & { results: WrittenCase[] };

proof<Writes<BenchDoc, BenchIn>>();
proof<Same<BenchDoc, BenchIn>>();
proof<Writes<WrittenSuite, SuiteIn>>();
proof<Same<WrittenSuite, SuiteIn>>();
