// Bench configuration: the knobs of the matrix, parsed and checked before any device or testbed is touched,
// so bad input costs one line and exit 2, never a VM boot.
import { parseSize, UsageError } from "../common/mod.ts";

export const STRATEGY_NAMES = [
  "reg-per-io",
  "bounce",
  "rcache",
  "mw1",
  "mw2-local",
  "mw2-remote",
  "odp",
  "odp-implicit",
  "rereg",
  "global",
] as const;
export type StrategyName = typeof STRATEGY_NAMES[number];
export type Op = "write" | "read";
export type Reuse = "same" | "rotate" | "random";
export type PageKindName = "4k" | "2m";

export interface BenchConfig {
  sizes: number[];
  ops: Op[];
  strategies: StrategyName[];
  depths: number[];
  reuse: Reuse;
  /** How many distinct user buffers the exposer cycles over (rotate / random). */
  buffers: number;
  /** Measured I/Os per point at most (the time budget usually ends a point first). */
  iterations: number;
  /** Time budget per point and repetition, ms. */
  durationMs: number;
  warmup: number;
  reps: number;
  /** I/Os a repetition completes even past its time budget, so that its rate means something. */
  repMinIos: number;
  pages: PageKindName[];
  rcacheCapBytes: number;
  verify: "sampled" | "full";
  regcost: boolean;
  regcostMaxBytes: number;
  /** Time budget per regcost measurement and side (memreg, C reference), ms. */
  regcostBudgetMs: number;
  /** Run the C reference loops next to regcost's own (ffi/timed.ts). */
  reference: boolean;
  calibrate: boolean;
  revocationCheck: boolean;
  seed: number;
  out?: string;
}

export const DEFAULTS = {
  sizes: "4k,16k,64k,256k,1m,4m,8m",
  ops: "write,read",
  strategies: STRATEGY_NAMES.join(","),
  depth: "1",
  reuse: "rotate",
  buffers: 8,
  iterations: 100_000,
  // Five repetitions of 240 ms: the same 1.2 s per point as one long run, but with a spread: [min, max] of five
  // is a distribution-free 94 % confidence interval for the median (1 − 2·0.5^5). A repetition of a large I/O
  // may hold a single I/O under emulation (8 MiB takes ~0.5 s there): then the spread is the I/Os' own.
  durationMs: 240,
  warmup: 4,
  reps: 5,
  repMinIos: 1,
  rcacheCap: "16m",
  regcostMax: "256m",
  regcostBudgetMs: 300,
  verify: "sampled",
  seed: 1,
} as const;

function list<T extends string>(text: string, allowed: readonly T[], what: string): T[] {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${what}: empty list`);
  for (const i of items) {
    if (!allowed.includes(i as T)) {
      throw new UsageError(`${what}: unknown '${i}' (one of: ${allowed.join(", ")})`);
    }
  }
  return [...new Set(items as T[])];
}

function intList(text: string, what: string, max: number): number[] {
  return [
    ...new Set(
      text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n <= 0 || n > max) {
          throw new UsageError(`${what}: '${s}' is not an integer in 1..${max}`);
        }
        return n;
      }),
    ),
  ];
}

export interface RawOptions {
  sizes: string;
  ops: string;
  strategies: string;
  depth: string;
  reuse: string;
  buffers: number;
  iterations: number;
  duration: number;
  warmup: number;
  reps: number;
  repMinIos: number;
  hugepages?: boolean;
  rcacheCap: string;
  verify: string;
  regcost: boolean;
  regcostMax: string;
  regcostBudget: number;
  reference: boolean;
  calibrate?: boolean;
  revocationCheck: boolean;
  seed: number;
  out?: string;
}

/** Largest single I/O: the advert carries the length as u32, and rxe/most HCAs cap a message at 2 GiB. */
export const MAX_IO = 1024 ** 3;
export const MAX_DEPTH = 64;

export function parseConfig(o: RawOptions): BenchConfig {
  const sizes = [...new Set(o.sizes.split(",").filter((s) => s.trim()).map((s) => parseSize(s, "--sizes")))];
  if (sizes.length === 0) throw new UsageError("--sizes: empty list");
  for (const s of sizes) {
    if (s > MAX_IO) throw new UsageError(`--sizes: ${s} exceeds the 1 GiB per-I/O limit`);
  }
  sizes.sort((a, b) => a - b);
  const reuse = list(o.reuse, ["same", "rotate", "random"] as const, "--reuse")[0];
  const verify = list(o.verify, ["sampled", "full"] as const, "--verify")[0];
  const depths = intList(o.depth, "--depth", MAX_DEPTH).sort((a, b) => a - b);
  if (o.buffers < Math.max(...depths)) {
    throw new UsageError(
      `--buffers (${o.buffers}) must be at least the largest --depth (${Math.max(...depths)})`,
    );
  }
  const regcostMaxBytes = parseSize(o.regcostMax, "--regcost-max");
  if (regcostMaxBytes > 16 * 1024 ** 3) throw new UsageError("--regcost-max: at most 16g");
  return {
    sizes,
    ops: list(o.ops, ["write", "read"] as const, "--ops"),
    strategies: list(o.strategies, STRATEGY_NAMES, "--strategies"),
    depths,
    reuse,
    buffers: o.buffers,
    iterations: o.iterations,
    durationMs: o.duration,
    warmup: o.warmup,
    reps: o.reps,
    repMinIos: o.repMinIos,
    pages: o.hugepages ? ["4k", "2m"] : ["4k"],
    rcacheCapBytes: parseSize(o.rcacheCap, "--rcache-cap"),
    verify,
    regcost: o.regcost,
    regcostMaxBytes,
    regcostBudgetMs: o.regcostBudget,
    reference: o.reference,
    calibrate: !!o.calibrate,
    revocationCheck: o.revocationCheck,
    seed: o.seed,
    out: o.out,
  };
}
