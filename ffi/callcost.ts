// Measures what one call through the active FFI path costs: ibv_poll_cq on an empty CQ, the cheapest real verb.
import { buildHelper, fastVerbs } from "./fastpath.ts";
import type { CQ } from "./cq.ts";

/** Which FFI path a run used (and why) and what one call through it costs. */
export interface FfiPathRecord {
  path: "native" | "fnptr";
  reason: string;
  /** ns per ibv_poll_cq call on an empty CQ, median of 5 runs. */
  perCallNs: number;
  /** ns per clock read (the timestamp source of hot loops). */
  clockNs: number;
}

/** Measures ns per ibv_poll_cq call on the empty `cq` through the active FFI path (median of 5 runs of `calls`). */
export function measureCallCost(cq: CQ, calls = 20_000): FfiPathRecord {
  const fast = fastVerbs();
  const runs: number[] = [];
  const clocks: number[] = [];
  for (let r = 0; r < 5; r++) {
    let t0 = fast.nowNs();
    for (let i = 0; i < calls; i++) fast.pollCq(cq.ptr, 1, cq.wcPtr);
    runs.push((fast.nowNs() - t0) / calls);
    t0 = fast.nowNs();
    for (let i = 0; i < calls; i++) fast.nowNs();
    clocks.push((fast.nowNs() - t0) / calls);
  }
  const median = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
  return {
    path: fast.kind,
    reason: fast.reason,
    perCallNs: Math.round(median(runs) * 10) / 10,
    clockNs: Math.round(median(clocks) * 10) / 10,
  };
}

/** What a call costs through each FFI mechanism, measured on the same trivial function. */
export interface MechanismCost {
  /** ns per call of a trivial helper function through a Deno.dlopen symbol (the fast path's mechanism). */
  dlopenNs: number;
  /** ns per call of the same function through Deno.UnsafeFnPointer (the fallback's mechanism). */
  fnPointerNs: number;
}

/** The bare cost of the two FFI call mechanisms, on the same C function; null without a C compiler. */
export function measureMechanism(calls = 200_000): MechanismCost | null {
  let path: string;
  try {
    path = buildHelper();
  } catch {
    return null;
  }
  // The same symbol twice: as a callable (dlopen fast call) and as a static whose value is its address.
  const lib = Deno.dlopen(path, {
    memreg_abi: { type: "pointer" },
  });
  try {
    const fnp = new Deno.UnsafeFnPointer(lib.symbols.memreg_abi as Deno.PointerObject<never>, {
      parameters: [],
      result: "i32",
    });
    const viaDlopen = Deno.dlopen(path, { memreg_abi: { parameters: [], result: "i32" } });
    const time = (f: () => number) => {
      for (let i = 0; i < 1000; i++) f(); // warm up (JIT, fast-call specialisation)
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) f();
      return Math.round(((performance.now() - t0) * 1e6) / calls * 10) / 10;
    };
    const out = { dlopenNs: time(viaDlopen.symbols.memreg_abi), fnPointerNs: time(() => fnp.call()) };
    viaDlopen.close();
    return out;
  } finally {
    lib.close();
  }
}
