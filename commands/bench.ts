// `memreg bench`: the registration-strategy benchmarks. Options are checked before the testbed is booted; at the
// end the ranked table on stdout and the HTML report next to the JSON. The run itself lives in bench_action.ts,
// loaded only when bench runs: every other command starts without the engine (seconds in the testbed).
import type { Command } from "commander";
import { deviceOptions, pairOptions } from "./options.ts";
import { nonNegativeInt, positiveInt } from "../common/mod.ts";
import { DEFAULTS } from "../bench/config.ts";
import type { BenchCliOptions } from "./bench_action.ts";

/** Adds `bench` to the program. */
export function registerBench(program: Command): void {
  pairOptions(deviceOptions(
    program.command("bench").description("measure memory-registration strategies per I/O (and regcost)")
      .option(
        "--sizes <list>",
        `I/O sizes, e.g. 4k,64k,1m (default: ${DEFAULTS.sizes}; page layout: ${DEFAULTS.pageSizes})`,
      )
      .option(
        "--ops <list>",
        `peer operations: write, read (default: ${DEFAULTS.ops}; page layout: ${DEFAULTS.pageOps})`,
      )
      .option(
        "--strategies <list>",
        `strategies to run (default: every one of the layouts run: ${DEFAULTS.strategies})`,
      )
      .option("--depth <list>", "outstanding I/Os (queue depth), e.g. 1,4", DEFAULTS.depth)
      .option(
        "--reuse <pattern>",
        `buffer reuse / page draws: same, rotate (sequential), random (default: ${DEFAULTS.reuse}; page layout: ${DEFAULTS.pageReuse})`,
      )
      .option(
        "--layout <list>",
        "I/O memory: contiguous (one buffer per I/O), pages (4 KiB pages drawn from --pool)",
        DEFAULTS.layout,
      )
      .option("--pool <size>", "page layout: the pool of 4 KiB pages the I/Os draw from", DEFAULTS.pool)
      .option(
        "--working-set <list>",
        "run every point at each working set: buffer counts (8,64,512) or sizes (1m,64m; page layout: the pool)",
      )
      .option(
        "--sweep <list>",
        "the registration-cache sweep (rcache WRITE 16 KiB, random buffers): working sets as multiples of " +
          "--rcache-cap",
        DEFAULTS.sweep,
      )
      .option("--no-sweep", "skip the registration-cache sweep")
      .option(
        "--buffers <n>",
        "user buffers to rotate over / draw from",
        positiveInt("--buffers"),
        DEFAULTS.buffers,
      )
      .option(
        "--iterations <n>",
        "measured I/Os per point at most",
        positiveInt("--iterations"),
        DEFAULTS.iterations,
      )
      .option(
        "--duration <ms>",
        "time budget per repetition",
        positiveInt("--duration"),
        DEFAULTS.durationMs,
      )
      .option(
        "--warmup <n>",
        "warm-up I/Os per point (not recorded)",
        nonNegativeInt("--warmup"),
        DEFAULTS.warmup,
      )
      .option(
        "--reps <n>",
        "repetitions per point (their spread is recorded)",
        positiveInt("--reps"),
        DEFAULTS.reps,
      )
      .option(
        "--rep-min-ios <n>",
        "I/Os a repetition completes even past --duration",
        positiveInt("--rep-min-ios"),
        DEFAULTS.repMinIos,
      )
      .option("--hugepages", "also run every point on 2 MiB pages")
      .option("--rcache-cap <size>", "rcache pinned-bytes cap", DEFAULTS.rcacheCap)
      .option("--verify <mode>", "data checks per I/O: sampled, full", DEFAULTS.verify)
      .option("--no-regcost", "skip the registration-cost curve")
      .option("--regcost-max <size>", "largest regcost registration", DEFAULTS.regcostMax)
      .option(
        "--regcost-budget <ms>",
        "time per regcost measurement, for memreg and again for the C reference",
        positiveInt("--regcost-budget"),
        DEFAULTS.regcostBudgetMs,
      )
      .option("--no-reference", "skip the C reference loops timed next to regcost's own")
      .option("--no-revocation-check", "skip the late-access check of revoking strategies")
      .option("--calibrate", "run perftest next to the global strategy and report the ratios")
      .option(
        "--regscale",
        "registration at scale instead of the matrix: cost vs what is registered, threads",
      )
      .option("--regscale-probes <list>", "probe sizes registered at each step", DEFAULTS.regscaleProbes)
      .option("--regscale-max <size>", "largest background registered (default: what the limits allow)")
      .option(
        "--regscale-mrs <n>",
        "most background MRs",
        positiveInt("--regscale-mrs"),
        DEFAULTS.regscaleMrs,
      )
      .option("--regscale-workers <list>", "concurrent workers, e.g. 1,2,4 (default: 1, 2, 4, … the cores)")
      .option(
        "--regscale-budget <ms>",
        "time per probe and step (and per worker count)",
        positiveInt("--regscale-budget"),
        DEFAULTS.regscaleBudgetMs,
      )
      .option("--seed <n>", "seed of the random reuse pattern", positiveInt("--seed"), DEFAULTS.seed)
      .option("--out <file>", "result JSON (default: results/bench-<device>-<date>.json)")
      .option("--no-html", "do not write the HTML report next to the JSON")
      .option("--quiet", "no progress output"),
    true,
  )).action(async (opts: BenchCliOptions) => (await import("./bench_action.ts")).bench(opts));
}
