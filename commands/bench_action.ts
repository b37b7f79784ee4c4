// The `memreg bench` run (commands/bench.ts declares its options): one process or one side of a pair, then the
// ranked table, the HTML report and the exit status.
import { type DeviceOptions, ensureDevice, pairRoleOf } from "./options.ts";
import type { PairCliOptions } from "../oob/role.ts";
import { UsageError } from "../common/mod.ts";
import { parseConfig, type RawOptions } from "../bench/config.ts";
import { runBench } from "../bench/run.ts";
import { jsonLinesPath } from "../record/stream.ts";
import { interruption } from "../record/result_file.ts";
import { benchReport } from "../reports/bench/table.ts";

/** What commander hands `bench`'s action. */
export type BenchCliOptions = DeviceOptions & RawOptions & PairCliOptions & {
  quiet?: boolean;
  html: boolean;
};

/** Runs `memreg bench` with its parsed options. */
export async function bench(opts: BenchCliOptions): Promise<void> {
  const cfg = parseConfig(opts);
  const role = await pairRoleOf(opts);
  if (role && cfg.regscale) {
    throw new UsageError("--regscale runs in one process; leave out the pair options");
  }
  if (role && cfg.calibrate) {
    throw new UsageError(
      "--calibrate runs perftest in one process; with two hosts run ib_write_bw between them",
    );
  }
  if (!role) await ensureDevice(opts);
  const r = role
    // Two processes' plumbing (and its message schemas) is loaded only for a pair.
    ? await (await import("../bench/pair/run.ts")).runBenchPair(cfg, role, opts.device, opts.quiet)
    : await runBench(cfg, opts.device, opts.quiet);
  console.log(benchReport(r.doc));
  console.log(`\nresults: ${r.out} (streamed: ${jsonLinesPath(r.out)})`);
  // The renderer (and its document validation) is loaded only when a report is written.
  if (opts.html) console.log(`report: ${(await import("../reports/write.ts")).writeHtmlReport(r.out)}`);
  const stopped = interruption({
    by: r.interruptedBy,
    byPeer: r.interruptedByPeer,
    role: r.doc.pair?.role,
    progress: r.progress,
    out: r.out,
  });
  if (stopped) throw stopped;
  if (r.failed || r.notRevoked) {
    console.error(
      `memreg: ${r.failed} point(s) failed, ${r.notRevoked} revocation check(s) did not revoke`,
    );
    Deno.exitCode = 1;
  }
}
