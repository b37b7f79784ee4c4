// The bench options as `memreg bench` gets them with nothing on its command line (what parseConfig takes), with
// any of them replaced: for host tests that plan a run without a device.
import { DEFAULTS, type RawOptions } from "../../bench/config.ts";

/** The default bench options, `o` replacing any of them. */
export function benchOptions(o: Partial<RawOptions> = {}): RawOptions {
  return {
    depth: DEFAULTS.depth,
    layout: DEFAULTS.layout,
    pool: DEFAULTS.pool,
    sweep: DEFAULTS.sweep,
    buffers: DEFAULTS.buffers,
    iterations: DEFAULTS.iterations,
    duration: DEFAULTS.durationMs,
    warmup: DEFAULTS.warmup,
    reps: DEFAULTS.reps,
    repMinIos: DEFAULTS.repMinIos,
    rcacheCap: DEFAULTS.rcacheCap,
    verify: DEFAULTS.verify,
    regcost: true,
    regcostMax: DEFAULTS.regcostMax,
    regcostBudget: DEFAULTS.regcostBudgetMs,
    reference: true,
    revocationCheck: true,
    seed: DEFAULTS.seed,
    ...o,
  };
}
