// Point keys for device tests: contiguous buffers by default, as the matrix would make them.
import type { PointKey } from "../../bench/point.ts";
import {
  type BenchConfig,
  DEFAULTS,
  type Op,
  parseConfig,
  type RawOptions,
  type StrategyName,
} from "../../bench/config.ts";

export function pointKey(
  strategy: StrategyName,
  op: Op,
  size: number,
  depth = 1,
  o: Partial<PointKey> = {},
): PointKey {
  return {
    strategy,
    op,
    size,
    pages: "4k",
    depth,
    layout: "contiguous",
    reuse: "rotate",
    buffers: 4,
    sweep: false,
    ...o,
  };
}

/** A bench config for device tests that drive points directly: short points, one repetition, no regcost. */
export function testConfig(over: Partial<RawOptions> = {}): BenchConfig {
  return parseConfig({
    ...DEFAULTS,
    duration: 2000,
    warmup: 1,
    reps: 1,
    repMinIos: 1,
    regcost: false,
    regcostBudget: DEFAULTS.regcostBudgetMs,
    reference: false,
    revocationCheck: true,
    ...over,
  });
}
