// The bench options as the command line's defaults give them, with overrides: parseConfig's input in tests.
import { DEFAULTS, type RawOptions } from "../../bench/config.ts";

/** RawOptions of a default command line, with `o` over them. */
export const rawOptions = (o: Partial<RawOptions> = {}): RawOptions => ({
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
});
