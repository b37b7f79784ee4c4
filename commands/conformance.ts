// `memreg conformance`: runs the invalidation error-case suite on an RDMA device and classifies each case;
// `--fuzz` and `--replay` run the model-based fuzzer. Exit 0 only when every case matches its expectations
// (pass, known deviation or unsupported); 1 otherwise; 2 for bad input. This module declares the options; the
// run (conformance_action.ts) is loaded only when the command runs, so other commands start without the suite.
import { type Command, Option } from "commander";
import { deviceOptions, pairOptions } from "./options.ts";
import { nonNegativeInt, parseDuration, positiveInt, UsageError } from "../common/mod.ts";
import { parseSeverity, SEVERITIES } from "../conformance/severity.ts";
import type { ConformanceOptions } from "./conformance_action.ts";

/** Risk line of --allow-kernel-crash, for --help. */
const KERNEL_CRASH_HELP =
  "also run the cases that can crash the kernel under test (mw2.local_inv_twice panics rdma_rxe): on a real " +
  "host this can take the whole machine down, with other users' work and unsaved data; the testbed survives " +
  "it (the VM reboots, the case is classified kernel-crash, the run goes on) and sets this itself";

/** Registers `memreg conformance` and its options on the program. */
export function registerConformance(program: Command): void {
  const cmd = pairOptions(deviceOptions(
    program.command("conformance")
      .description(
        "provoke the invalidation and local protection error cases (MR, local protection, MW type 1/2, QP, ODP) and classify each outcome",
      )
      .option("--cases <patterns>", "comma-separated case ids or globs, e.g. 'mw2.*,mr.write_*'")
      .option("--list", "list the selected cases (id, level, rule, title) and exit")
      .option("--port <n>", "port number", positiveInt("--port"), 1)
      .option(
        "--gid <index>",
        "GID index (default: the port's RoCE v2 IPv4-mapped entry)",
        nonNegativeInt("--gid"),
      )
      .option("--isolate", "run each case in its own child process (a crash becomes `crashed`)")
      .option("--strict", "ignore expectation profiles: every deviation is a failure")
      .option("--profile <file>", "expectation profile to apply instead of the built-in one for the driver")
      .option(
        "--out <file>",
        "JSON result file (default: results/conformance-<device>-<time>.json); next to it, named by the file " +
          "less a trailing .json: NAME.jsonl (the records as they come) and, with --fuzz, NAME.replay/ (replay files)",
      )
      .option("--junit <file>", "also write JUnit XML here")
      .option("--summary <file>", "also write a Markdown summary here")
      .option("--no-html", "do not write the HTML report next to the JSON")
      .option("--step-deadline <ms>", "longest wait for one completion", positiveInt("--step-deadline"), 5000)
      .option("--case-deadline <ms>", "longest time for one case", positiveInt("--case-deadline"), 30000)
      .option("--allow-kernel-crash", KERNEL_CRASH_HELP)
      .option(
        "--fail-on <severity>",
        `exit 1 when a deviation at or above this severity is recorded, even one the profile lists (${
          SEVERITIES.join(" > ")
        }; default: only deviations the profile does not list fail)`,
        (v) => parseSeverity(v),
      )
      .option(
        "--emit-c <dir>",
        "write each failing, known-bug and kernel-crash case (or fuzz finding) as a standalone C program " +
          "against libibverbs into dir, with a README saying how to build and run them",
      )
      .option(
        "--dossier <dir>",
        "write each deviation as a report for its maintainers into dir (rule, facts, kernels seen on, C " +
          "reproducer compiled and run, crash console, code path) and an index README.md by severity",
      )
      .option(
        "--fuzz",
        "model-based invalidation fuzzing: random well-typed sequences run on the device and on an executable " +
          "model of the rules; divergences are shrunk to minimal sequences and written as replay files",
      )
      .option(
        "--seed <n>",
        "fuzz seed (a run is deterministic for its seed; default: from the clock)",
        nonNegativeInt("--seed"),
      )
      .option(
        "--budget <time>",
        "fuzz time budget, e.g. 90s, 10m",
        (v) => parseDuration(v, "--budget"),
        600_000,
      )
      .option(
        "--sequences <n>",
        "fuzz sequences 0 to n-1 of the seed and stop (or at the budget, whichever comes first): the same run " +
          "on any machine, however fast",
        positiveInt("--sequences"),
      )
      .option("--replay <file>", "run a fuzz replay file once and say whether its divergence reproduces")
      .addOption(new Option("--survivor <stream>", "crash-survival guest: append to this stream").hideHelp())
      .addOption(new Option("--tape", "attach each case's tape to its result").hideHelp())
      .addOption(
        new Option("--from <n>", "first fuzz sequence").argParser(nonNegativeInt("--from")).hideHelp(),
      ),
  ));
  cmd.action(async (opts: ConformanceOptions) => {
    Deno.exitCode = await (await import("./conformance_action.ts")).conformance(opts);
  });
}

/** What a conformance run split between two processes cannot do: each option and where commander puts it. */
export const NOT_IN_PAIR = {
  "--fuzz": "fuzz",
  "--replay": "replay",
  "--isolate": "isolate",
  "--emit-c": "emitC",
  "--dossier": "dossier",
  "--pairs": "pairs",
} as const satisfies Record<string, keyof ConformanceOptions>;

/** The one line refusing `flag` in a two-process run. */
export const notInPair = (flag: string) =>
  new UsageError(`${flag}: a conformance run of two processes does not take it`);

/**
 * The same refusal for `testbed --pair conformance …`, from its arguments, before either guest boots (inside,
 * each side would refuse only after a boot of minutes).
 */
export function checkPairArgs(args: string[]): void {
  for (const flag of Object.keys(NOT_IN_PAIR)) {
    if (args.some((a) => a === flag || a.startsWith(`${flag}=`))) throw notInPair(flag);
  }
}
