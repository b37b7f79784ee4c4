// The measurer's own cost per I/O: an empty cycle does what the engine does around the verbs (four clock
// reads, one histogram record, one empty poll of each CQ) and nothing else. Subtract it mentally from small
// I/O latencies; it is recorded in every result file.
import { fastVerbs } from "../ffi/mod.ts";
import { newHistogram } from "./stats.ts";
import type { Rig } from "./rig.ts";

/** The empty-cycle overhead record. */
export interface Overhead {
  /** ns per empty cycle, median of 5 runs. */
  emptyCycleNs: number;
  cycles: number;
}

/** The median ns of an empty cycle on this rig (5 runs of `cycles`). */
export function measureOverhead(rig: Rig, cycles = 20_000): Overhead {
  const clock = fastVerbs();
  const hist = newHistogram();
  // One process polls both ends' CQs per cycle, a pair's end its own (bench/engine.ts): the same here.
  const [cqB, cqA] = rig.cqs;
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = clock.nowNs();
    for (let i = 0; i < cycles; i++) {
      const t0 = clock.nowNs();
      clock.nowNs();
      cqB.poll();
      clock.nowNs();
      cqA?.poll();
      hist.recordValue(Math.max(1, Math.round(clock.nowNs() - t0)));
    }
    runs.push((clock.nowNs() - start) / cycles);
  }
  runs.sort((a, b) => a - b);
  return { emptyCycleNs: Math.round(runs[2] * 10) / 10, cycles };
}
