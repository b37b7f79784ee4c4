// Bench configuration: the knobs of the matrix, parsed and checked before any device or testbed is touched,
// so bad input costs one line and exit 2, never a VM boot.
import { parseSize, UsageError } from "../common/mod.ts";
import type { PointKey } from "./point.ts";

/** Every strategy, in the order they run and are listed. */
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
  // Page layout only.
  "remap-reg",
  "reg-per-page",
  "mw2-span",
  "dv-page-list",
] as const;
/** A strategy by name. */
export type StrategyName = typeof STRATEGY_NAMES[number];
/** The peer's RDMA operation on the exposer's memory. */
export type Op = "write" | "read";
/** How the I/Os draw their buffers (or pages): always the same, in turn, at random. */
export type Reuse = "same" | "rotate" | "random";
/** The page size of the exposed memory: 4 KiB or 2 MiB huge pages. */
export type PageKindName = "4k" | "2m";

/**
 * How an I/O's memory looks: `contiguous`, one buffer of the I/O's size (from a set of --buffers); `pages`, a
 * logical region broken up into 4 KiB pages drawn from a pool (--pool), as page-cache pages are.
 */
export const LAYOUT_NAMES = ["contiguous", "pages"] as const;
/** A memory layout by name (LAYOUT_NAMES). */
export type Layout = typeof LAYOUT_NAMES[number];

/** The strategies each layout has, in the order they run and are listed. */
export const LAYOUT_STRATEGIES: Record<Layout, readonly StrategyName[]> = {
  contiguous: STRATEGY_NAMES.slice(0, 10),
  pages: ["global", "remap-reg", "reg-per-page", "bounce", "mw2-span", "rcache", "odp", "dv-page-list"],
};

/** A working set as given: a number of buffers (a plain integer), or bytes (a size with a unit). */
export type WorkingSet = { buffers: number } | { bytes: number };

/** The default run's registration-cache sweep: one strategy, op, size and layout across working sets. */
export interface Sweep {
  strategy: StrategyName;
  op: Op;
  size: number;
  layout: Layout;
  reuse: Reuse;
  /** Buffers per point, well inside to far beyond the cache's cap. */
  buffers: number[];
}

/** A bench run's settings, parsed and checked (the document's `config`). */
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
  /** Layouts in the matrix; ops, sizes and reuse of the page layout are pageOps, pageSizes and pageReuse. */
  layouts: Layout[];
  pageOps: Op[];
  pageSizes: number[];
  /** Page draws: rotate = sequential pages, random = each page anywhere in the pool, same = fixed per slot. */
  pageReuse: Reuse;
  /** The page layout's pool of 4 KiB pages (the page-cache stand-in), bytes. */
  poolBytes: number;
  /** --working-set: every point runs at each (contiguous: buffers, page layout: the pool); null: one. */
  workingSets: WorkingSet[] | null;
  /** The registration-cache sweep the run adds; null when off (--no-sweep, --working-set, or not selected). */
  sweep: Sweep | null;
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
  /** `--regscale`: the registration-at-scale sweep instead of the matrix and regcost (absent: off). */
  regscale?: RegscaleConfig | null;
}

/** `--regscale`'s settings: the sweep's ask (bench/regscale_plan.ts) and its time per measurement. */
export interface RegscaleConfig {
  probes: number[];
  pages: PageKindName[];
  /** Largest background, bytes; null: what the limits allow. */
  maxBytes: number | null;
  maxMrs: number;
  workers: number[] | null;
  /** Time per probe and step, per side; per worker count in the concurrent phase. */
  budgetMs: number;
}

/** The defaults of the bench options, as the command line spells them. */
export const DEFAULTS = {
  sizes: "4k,16k,64k,256k,1m,4m,8m",
  layout: "contiguous,pages",
  // The page layout's own defaults (used where --ops / --sizes / --reuse are not given): the sizes an RPC or
  // block upper layer moves as page lists, with pages scattered over the pool as page-cache pages are; the
  // peer WRITEs into them (an NFS READ reply, an NVMe-oF read), which keeps the default run under 10 minutes.
  pageOps: "write",
  pageSizes: "64k,1m",
  pageReuse: "random",
  pool: "64m",
  // The registration-cache sweep: rcache WRITEs of 16 KiB, random buffers, from 1/16 of the cap to 16 times it.
  sweep: "1/16,1,4,16",
  sweepSize: "16k",
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
  // --regscale: probes of a page, a huge page and a large buffer; at most 16384 background MRs (max_mr is
  // often 2^19 or more: a sweep to it takes minutes under emulation); 100 ms per probe and step and side.
  regscaleProbes: "4k,2m,64m",
  regscaleMrs: 16384,
  regscaleBudgetMs: 100,
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

/** The bench options as the command line gives them (strings where the user types a list or size). */
export interface RawOptions {
  /** Absent: each layout's default sizes (DEFAULTS.sizes, DEFAULTS.pageSizes). */
  sizes?: string;
  /** Absent: each layout's default ops (DEFAULTS.ops, DEFAULTS.pageOps). */
  ops?: string;
  /** Absent: every strategy of the layouts run (a named one must run in one of them). */
  strategies?: string;
  depth: string;
  /** Absent: rotate for contiguous buffers, random page draws for the page layout. */
  reuse?: string;
  layout: string;
  pool: string;
  workingSet?: string;
  /** Fractions of the cache cap the sweep's working sets are, or false (--no-sweep). */
  sweep: string | false;
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
  regscale?: boolean;
  regscaleProbes?: string;
  regscaleMax?: string;
  regscaleMrs?: number;
  regscaleWorkers?: string;
  regscaleBudget?: number;
}

/** Largest single I/O: the advert carries the length as u32, and rxe/most HCAs cap a message at 2 GiB. */
export const MAX_IO = 1024 ** 3;
/** Deepest queue: the rig has this many slots. */
export const MAX_DEPTH = 64;

function sizeList(text: string, what = "--sizes"): number[] {
  const sizes = [...new Set(text.split(",").filter((s) => s.trim()).map((s) => parseSize(s, what)))];
  if (sizes.length === 0) throw new UsageError(`${what}: empty list`);
  for (const s of sizes) {
    if (s > MAX_IO) throw new UsageError(`${what}: ${s} exceeds the 1 GiB per-I/O limit`);
  }
  return sizes.sort((a, b) => a - b);
}

/** "8,64,512" (buffers) or "1m,64m" (bytes), mixed as given; a plain integer is a count. */
export function parseWorkingSets(text: string, what = "--working-set"): WorkingSet[] {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${what}: empty list`);
  const out = items.map((s): WorkingSet => {
    if (/^\d+$/.test(s)) {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what}: '${s}' is not a buffer count`);
      return { buffers: n };
    }
    return { bytes: parseSize(s, what) };
  });
  const key = (w: WorkingSet) => "buffers" in w ? `n${w.buffers}` : `b${w.bytes}`;
  return [...new Map(out.map((w) => [key(w), w])).values()];
}

/** "1/16,1/4,1,2" → fractions of the cache cap. */
function fractions(text: string, what: string): number[] {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${what}: empty list`);
  return items.map((s) => {
    const m = s.match(/^(\d+)(?:\/(\d+))?$/);
    const v = m ? Number(m[1]) / Number(m[2] ?? 1) : NaN;
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new UsageError(`${what}: '${s}' is not a multiple of the cache cap (e.g. 1/4, 1, 16)`);
    }
    return v;
  });
}

/** Buffers of `size` bytes (4 KiB-aligned) that a working set holds. */
export function buffersOf(w: WorkingSet, size: number): number {
  if ("buffers" in w) return w.buffers;
  return Math.floor(w.bytes / (Math.ceil(size / 4096) * 4096));
}

/** The run's settings from the command line options; throws UsageError on a bad one. */
export function parseConfig(o: RawOptions): BenchConfig {
  const sizes = sizeList(o.sizes ?? DEFAULTS.sizes);
  const pageSizes = sizeList(o.sizes ?? DEFAULTS.pageSizes);
  const reuses = ["same", "rotate", "random"] as const;
  const reuse = list(o.reuse ?? DEFAULTS.reuse, reuses, "--reuse")[0];
  const pageReuse = list(o.reuse ?? DEFAULTS.pageReuse, reuses, "--reuse")[0];
  const layouts = list(o.layout, LAYOUT_NAMES, "--layout");
  const strategies = list(o.strategies ?? DEFAULTS.strategies, STRATEGY_NAMES, "--strategies");
  const stray = o.strategies === undefined
    ? []
    : strategies.filter((s) => !layouts.some((l) => LAYOUT_STRATEGIES[l].includes(s)));
  if (stray.length) {
    throw new UsageError(
      `--strategies: ${stray.join(", ")} ${stray.length > 1 ? "run" : "runs"} in none of the layouts ` +
        `${layouts.join(", ")} (${
          layouts.map((l) => `${l}: ${LAYOUT_STRATEGIES[l].join(", ")}`).join("; ")
        })`,
    );
  }
  const verify = list(o.verify, ["sampled", "full"] as const, "--verify")[0];
  const depths = intList(o.depth, "--depth", MAX_DEPTH).sort((a, b) => a - b);
  if (o.buffers < Math.max(...depths)) {
    throw new UsageError(
      `--buffers (${o.buffers}) must be at least the largest --depth (${Math.max(...depths)})`,
    );
  }
  const regcostMaxBytes = parseSize(o.regcostMax, "--regcost-max");
  if (regcostMaxBytes > 16 * 1024 ** 3) throw new UsageError("--regcost-max: at most 16g");
  const ops = list(o.ops ?? DEFAULTS.ops, ["write", "read"] as const, "--ops");
  const pageOps = list(o.ops ?? DEFAULTS.pageOps, ["write", "read"] as const, "--ops");
  const poolBytes = parseSize(o.pool, "--pool");
  const rcacheCapBytes = parseSize(o.rcacheCap, "--rcache-cap");
  if (layouts.includes("pages")) {
    const odd = pageSizes.filter((s) => s % 4096);
    if (odd.length) {
      throw new UsageError(`--sizes: the page layout moves whole 4 KiB pages (${odd.join(", ")} is not)`);
    }
    const need = Math.max(...depths) * pageSizes.at(-1)!;
    if (poolBytes % 4096 || poolBytes < need) {
      throw new UsageError(
        `--pool (${o.pool}) must be whole 4 KiB pages and hold --depth × the largest page-layout size (${need})`,
      );
    }
  }
  const workingSets = o.workingSet === undefined ? null : parseWorkingSets(o.workingSet);
  let sweep: Sweep | null = null;
  if (o.sweep !== false) {
    const size = parseSize(DEFAULTS.sweepSize);
    const cap = Math.floor(rcacheCapBytes / size);
    const buffers = [
      ...new Set(
        fractions(o.sweep, "--sweep").map((f) => Math.max(Math.max(...depths), Math.round(cap * f))),
      ),
    ].sort((a, b) => a - b);
    // The sweep belongs to runs that measure rcache WRITEs on contiguous buffers and do not sweep already.
    if (
      !workingSets && strategies.includes("rcache") && ops.includes("write") && layouts.includes("contiguous")
    ) sweep = { strategy: "rcache", op: "write", size, layout: "contiguous", reuse: "random", buffers };
  }
  const regscale = o.regscale ? regscaleConfig(o) : null;
  return {
    sizes,
    ops,
    // --regscale runs instead of the matrix, the sweep and regcost: none of them is planned.
    strategies: regscale ? [] : strategies,
    depths,
    reuse,
    buffers: o.buffers,
    iterations: o.iterations,
    durationMs: o.duration,
    warmup: o.warmup,
    reps: o.reps,
    repMinIos: o.repMinIos,
    pages: o.hugepages ? ["4k", "2m"] : ["4k"],
    layouts,
    pageOps,
    pageSizes,
    pageReuse,
    poolBytes,
    workingSets,
    sweep: regscale ? null : sweep,
    rcacheCapBytes,
    verify,
    regcost: o.regcost && !regscale,
    regcostMaxBytes,
    regcostBudgetMs: o.regcostBudget,
    reference: o.reference,
    calibrate: !!o.calibrate && !regscale,
    revocationCheck: o.revocationCheck && !regscale,
    seed: o.seed,
    out: o.out,
    ...(regscale ? { regscale } : {}),
  };
}

/** --regscale's settings from the options; throws UsageError on a bad one. */
function regscaleConfig(o: RawOptions): RegscaleConfig {
  const probes = sizeList(o.regscaleProbes ?? DEFAULTS.regscaleProbes, "--regscale-probes");
  const maxMrs = o.regscaleMrs ?? DEFAULTS.regscaleMrs;
  if (!Number.isSafeInteger(maxMrs) || maxMrs < 1) throw new UsageError("--regscale-mrs: at least 1");
  return {
    probes,
    pages: o.hugepages ? ["4k", "2m"] : ["4k"],
    maxBytes: o.regscaleMax === undefined ? null : parseSize(o.regscaleMax, "--regscale-max"),
    maxMrs,
    workers: o.regscaleWorkers === undefined ? null : intList(o.regscaleWorkers, "--regscale-workers", 256)
      .sort((a, b) => a - b),
    budgetMs: o.regscaleBudget ?? DEFAULTS.regscaleBudgetMs,
  };
}

/** What the matrix of a run depends on. */
export type MatrixConfig = Pick<
  BenchConfig,
  | "pages"
  | "depths"
  | "ops"
  | "sizes"
  | "strategies"
  | "layouts"
  | "pageOps"
  | "pageSizes"
  | "reuse"
  | "pageReuse"
  | "buffers"
  | "poolBytes"
  | "workingSets"
  | "sweep"
>;

/**
 * The points of a run, in the order they run: per layout (the page layout on 4 KiB pages only), page size,
 * depth, op, size, strategy (the layout's, in its order) and working set; then the registration-cache sweep.
 * A working set too small for the depth's I/Os in flight is left out.
 */
export function matrix(cfg: MatrixConfig): PointKey[] {
  const keys: PointKey[] = [];
  for (const layout of cfg.layouts) {
    const paged = layout === "pages";
    const strategies = LAYOUT_STRATEGIES[layout].filter((s) => cfg.strategies.includes(s));
    const reuse = paged ? cfg.pageReuse : cfg.reuse;
    for (const pages of paged ? ["4k" as const] : cfg.pages) {
      for (const depth of cfg.depths) {
        for (const op of paged ? cfg.pageOps : cfg.ops) {
          for (const size of paged ? cfg.pageSizes : cfg.sizes) {
            const units = Math.ceil(size / 4096);
            // Page layout: the working set is the pool, in pages; a count means that many I/Os' worth.
            const sets = cfg.workingSets?.map((w) =>
              paged ? buffersOf(w, 4096) * ("buffers" in w ? units : 1) : buffersOf(w, size)
            ) ??
              [paged ? cfg.poolBytes / 4096 : reuse === "same" ? depth : cfg.buffers];
            for (const strategy of strategies) {
              for (const buffers of sets) {
                if (buffers < depth * (paged ? units : 1)) {
                  continue;
                }
                keys.push({ strategy, op, size, pages, depth, layout, reuse, buffers, sweep: false });
              }
            }
          }
        }
      }
    }
  }
  const w = cfg.sweep;
  if (w) {
    for (const buffers of w.buffers) {
      keys.push({
        strategy: w.strategy,
        op: w.op,
        size: w.size,
        pages: "4k",
        depth: cfg.depths[0],
        layout: w.layout,
        reuse: w.reuse,
        buffers,
        sweep: true,
      });
    }
  }
  return keys;
}
