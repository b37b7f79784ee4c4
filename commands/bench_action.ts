// The `memreg bench` run (commands/bench.ts declares its options): one process or one side of a pair, then the
// ranked table, the HTML report and the exit status.
import { deviceList, type DeviceOptions, ensureDevice, pairRoleOf } from "./options.ts";
import type { PairCliOptions } from "../oob/role.ts";
import { UsageError } from "../common/mod.ts";
import { parseConfig, type RawOptions } from "../bench/config.ts";
import { runBenchDevices } from "../bench/run.ts";
import type { BenchOutcome } from "../bench/matrix.ts";
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
  const devices = deviceList(opts.device);
  if (role && devices.length > 1) {
    throw new UsageError(
      `--device ${opts.device}: a pair runs one device per side; side by side runs in one process`,
    );
  }
  if (!role) await ensureDevice(opts, true);
  const runs = role
    // Two processes' plumbing (and its message schemas) is loaded only for a pair.
    ? [await (await import("../bench/pair/run.ts")).runBenchPair(cfg, role, opts.device, opts.quiet)]
    : await runBenchDevices(cfg, devices, opts.quiet);
  for (const r of runs) await show(r, opts.html);
  // Every device of a side-by-side run stops on the same signal: one line per document.
  const stops = runs.map((r) =>
    interruption({
      by: r.interruptedBy,
      byPeer: r.interruptedByPeer,
      role: r.doc.pair?.role,
      progress: `${r.progress}${runs.length > 1 ? ` on ${r.doc.device.name}` : ""}`,
      out: r.out,
    })
  ).filter((s) => s !== null);
  for (const s of stops.slice(0, -1)) console.error(`memreg: ${s.message}`);
  if (stops.length) throw stops.at(-1);
  for (const r of runs) {
    const on = runs.length > 1 ? `${r.doc.device.name}: ` : "";
    if (r.failed || r.notRevoked) {
      console.error(
        `memreg: ${on}${r.failed} point(s) failed, ${r.notRevoked} revocation check(s) did not revoke`,
      );
      Deno.exitCode = 1;
    }
    // A step that failed as a whole (late access, regcost, calibration, regscale) is recorded in the document
    // like a failed point, and like one it fails the run's exit status: one line each, naming the step.
    for (const line of r.stepsFailed) {
      console.error(`memreg: ${on}${line}`);
      Deno.exitCode = 1;
    }
  }
}

/** A run's ranked table, where its document is, and its HTML report. */
async function show(r: BenchOutcome, html: boolean): Promise<void> {
  console.log(benchReport(r.doc));
  console.log(`\nresults: ${r.out} (streamed: ${jsonLinesPath(r.out)})`);
  // The renderer (and its document validation) is loaded only when a report is written.
  if (html) console.log(`report: ${(await import("../reports/write.ts")).writeHtmlReport(r.out)}`);
}
