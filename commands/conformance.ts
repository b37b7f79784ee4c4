// `memreg conformance`: runs the invalidation error-case suite on an RDMA device and classifies each case;
// `--fuzz` and `--replay` run the model-based fuzzer. Exit 0 only when every case matches its expectations
// (pass, known deviation or unsupported); 1 otherwise; 2 for bad input. The JSON document, its stream, the
// HTML report and the optional JUnit/Markdown files; C programs with --emit-c. The run itself and its result
// file are the engine's (conformance/run.ts, conformance/fuzz/session.ts); without an RDMA device the run goes
// to the testbed under crash survival (conformance/survive.ts, conformance/fuzz/survive.ts).
import { type Command, Option } from "commander";
import {
  type DeviceOptions,
  deviceOptions,
  ensureDevice,
  pairOptions,
  pairRoleOf,
  userPaths,
} from "./options.ts";
import type { PairCliOptions } from "../oob/role.ts";
import { nonNegativeInt, parseDuration, positiveInt, UsageError } from "../common/mod.ts";
import { jsonLinesPath, writeText } from "../record/stream.ts";
import { interruption } from "../record/result_file.ts";
import { CASES } from "../conformance/cases/index.ts";
import { selectCases } from "../conformance/select.ts";
import { parseSeverity, SEVERITIES, type Severity } from "../conformance/severity.ts";
import { loadProfile, type Profile } from "../conformance/profile.ts";
import { runConformance } from "../conformance/run.ts";
import type { SuiteDoc } from "../conformance/doc.ts";
import type { CaseDef, CaseResult, CaseRun } from "../conformance/model.ts";
import { surviveInTestbed } from "../conformance/survive.ts";
import { emitCases } from "../conformance/emit_cases.ts";
import { wantsTapes } from "../conformance/emit_c.ts";
import { writeDossiers } from "../conformance/dossier.ts";
import { outputDir } from "../common/output.ts";
import { fuzzExitCode, fuzzHere, readReplay, replayHere, runDir } from "../conformance/fuzz/session.ts";
import type { FuzzDoc } from "../conformance/fuzz/doc.ts";
import { fuzzInTestbed, replayInTestbed } from "../conformance/fuzz/survive.ts";
import { formatFuzz, formatReplay } from "../reports/fuzz.ts";
import { hasRdmaDevice, inTestbed } from "../testbed/vm.ts";
import { formatTable } from "../reports/conformance/table.ts";
import { formatMarkdown } from "../reports/conformance/markdown.ts";
import { formatJunit } from "../reports/conformance/junit.ts";
import { detail } from "../reports/conformance/summary.ts";
import { writeHtmlReport } from "../reports/write.ts";

interface ConformanceOptions extends DeviceOptions, PairCliOptions {
  cases?: string;
  list?: boolean;
  port: number;
  gid?: number;
  isolate?: boolean;
  strict?: boolean;
  profile?: string;
  out?: string;
  junit?: string;
  summary?: string;
  html: boolean;
  stepDeadline: number;
  caseDeadline: number;
  allowKernelCrash?: boolean;
  /** A recorded deviation at or above this severity fails the run, even one the profile lists. */
  failOn?: Severity;
  emitC?: string;
  /** Write one Markdown report per deviation (with its C reproducer) into this directory. */
  dossier?: string;
  fuzz?: boolean;
  seed?: number;
  budget: number;
  sequences?: number;
  replay?: string;
  /** Hidden: the guest of a crash-surviving host appends to this stream and writes no documents. */
  survivor?: string;
  /** Hidden: attach tapes to the results (the host emits the C programs). */
  tape?: boolean;
  /** Hidden: the first fuzz sequence (a run continued after a crash). */
  from?: number;
}

/** Risk line of --allow-kernel-crash, for --help. */
const KERNEL_CRASH_HELP =
  "also run the cases that can crash the kernel under test (mw2.local_inv_twice panics rdma_rxe): on a real " +
  "host this can take the whole machine down, with other users' work and unsaved data; the testbed survives " +
  "it (the VM reboots, the case is classified kernel-crash, the run goes on) and sets this itself";

/** --list: one line per case (id, level, rule, title), in columns. */
export function formatList(defs: readonly CaseDef[]): string {
  const w = Math.max(...defs.map((d) => d.id.length));
  return defs.map((d) => `${d.id.padEnd(w)}  ${d.level.padEnd(7)}  ${d.rule.padEnd(17)}  ${d.title}`).join(
    "\n",
  );
}

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
      .option("--out <file>", "JSON result file (default: results/conformance-<device>-<time>.json)")
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
    Deno.exitCode = await conformance(opts);
  });
}

/** Where the run happens: the testbed under crash survival (no device here), or the device here. */
function testbedHost(o: ConformanceOptions): boolean {
  return !o.survivor && o.testbed && !hasRdmaDevice() && !inTestbed();
}

/** What a conformance run split between two processes cannot do: each option and where commander puts it. */
const NOT_IN_PAIR = {
  "--fuzz": "fuzz",
  "--replay": "replay",
  "--isolate": "isolate",
  "--emit-c": "emitC",
  "--dossier": "dossier",
  "--pairs": "pairs",
} as const satisfies Record<string, keyof ConformanceOptions>;

const notInPair = (flag: string) =>
  new UsageError(`${flag}: a conformance run of two processes does not take it`);

/** --server / --connect: what a run split between two processes cannot do (bad input, before anything runs). */
function checkPair(o: ConformanceOptions): void {
  const pair = o.server || o.connect !== undefined || o.slurm;
  if (!pair) return;
  for (const [flag, key] of Object.entries(NOT_IN_PAIR)) if (o[key]) throw notInPair(flag);
}

/**
 * The same refusal for `testbed --pair conformance …`, from its arguments, before either guest boots (inside,
 * each side would refuse only after a boot of minutes).
 */
export function checkPairArgs(args: string[]): void {
  for (const flag of Object.keys(NOT_IN_PAIR)) {
    if (args.some((a) => a === flag || a.startsWith(`${flag}=`))) throw notInPair(flag);
  }
}

async function conformance(o: ConformanceOptions): Promise<number> {
  checkPair(o);
  if (o.fuzz || o.replay) return await fuzzOrReplay(o);
  const defs = selectCases(CASES, o.cases);
  if (o.list) {
    console.log(formatList(defs));
    return 0;
  }
  const profile = o.profile ? loadProfile(o.profile) : undefined;
  if (o.dossier) outputDir(o.dossier, "--dossier");
  const tape = wantsTapes(o);
  const role = await pairRoleOf(o);
  if (!role && testbedHost(o)) {
    const { doc, out } = await surviveInTestbed(defs, {
      ...o,
      isolate: !!o.isolate,
      strict: !!o.strict,
      cases: o.cases ?? null,
      profilePath: o.profile,
      profile,
      tape,
      paths: userPaths(),
      onResult: (r, i, n) => r.class === "kernel-crash" && progress(r, i, n),
    });
    return await finish(doc, out, o, defs.length);
  }
  if (!o.survivor && !role) await ensureDevice(o);
  const { doc, out, exitCode } = await runConformance(defs, {
    port: o.port,
    gidIndex: o.gid,
    stepDeadlineMs: o.stepDeadline,
    caseDeadlineMs: o.caseDeadline,
    tape,
    device: o.device,
    cases: o.cases ?? null,
    isolate: !!o.isolate,
    strict: !!o.strict,
    allowKernelCrash: !!o.allowKernelCrash,
    failOn: o.failOn,
    profile,
    out: o.out,
    survivor: o.survivor,
    role,
    onResult: progress,
  });
  // In the guest the host writes the documents.
  return out === null ? exitCode : await finish(doc, out, o, defs.length);
}

/** The outputs of a written document, and the exit of a run a signal stopped. */
async function finish(doc: SuiteDoc, out: string, o: ConformanceOptions, total: number): Promise<number> {
  const code = await writeOutputs(doc, out, o);
  const stopped = interruption({
    by: doc.interruptedBy,
    byPeer: doc.interruptedByPeer,
    role: doc.pair?.role,
    progress: `${doc.results.length} of ${total} cases`,
    out,
  });
  if (stopped) throw stopped;
  return code;
}

function progress(r: CaseResult, i: number, n: number): void {
  console.error(`[${i + 1}/${n}] ${r.id}: ${r.class}${r.class === "pass" ? "" : ` (${detail(r)})`}`);
}

/** --fuzz / --replay: on the device here (or in the guest), else in the testbed surviving crashes. */
async function fuzzOrReplay(o: ConformanceOptions): Promise<number> {
  if (o.fuzz && o.replay) throw new UsageError("--fuzz and --replay: one or the other");
  if (o.cases) throw new UsageError("--cases does not go with --fuzz or --replay");
  if (o.dossier) {
    throw new UsageError(
      "--dossier goes with a suite run; for a fuzz run's findings: memreg report --dossier <dir> <fuzz.json>",
    );
  }
  if (o.replay) readReplay(o.replay); // a bad file is bad input here, before any testbed boots
  const profile: Profile | undefined = o.profile ? loadProfile(o.profile) : undefined;
  const seed = o.seed ?? Date.now() % 1_000_000;
  const cli = { ...o, strict: !!o.strict, profilePath: o.profile, profile, paths: userPaths() };
  if (testbedHost(o)) {
    if (o.replay) {
      const { code, crash } = await replayInTestbed({ ...cli, replay: o.replay });
      if (!crash) return code;
      console.log(
        `${crash.what === "process" ? "process" : `kernel ${crash.what}`}: ${
          [crash.panicLine, crash.rip].filter(Boolean).join(" / ")
        }`,
      );
      if (crash.callTrace.length) console.log(`call trace: ${crash.callTrace.join(" < ")}`);
      return 1;
    }
    const { doc, out } = await fuzzInTestbed({ ...cli, seed, budgetMs: o.budget, maxSequences: o.sequences });
    return fuzzFinish(doc, out, fuzzExitCode(doc));
  }
  if (!inTestbed() && !o.allowKernelCrash) {
    throw new UsageError(
      `${
        o.fuzz ? "--fuzz" : "--replay"
      } on this host's RDMA device can crash its kernel (random invalidation ` +
        "sequences have panicked rdma_rxe); add --allow-kernel-crash to accept that risk, or run it in the " +
        "testbed (on a machine without an RDMA device), where a crash is a finding and the run goes on",
    );
  }
  if (!o.survivor) await ensureDevice(o);
  const fixture = { port: o.port, gidIndex: o.gid, stepDeadlineMs: o.stepDeadline };
  if (o.replay) {
    const r = await replayHere(o.replay, { ...fixture, ...cli });
    console.log(formatReplay(r));
    return r.divergence ? 1 : 0;
  }
  if (!o.survivor) {
    console.error(
      `fuzz seed ${seed}, budget ${o.budget / 1000} s${
        o.sequences ? `, sequences 0–${o.sequences - 1}` : ""
      }`,
    );
  }
  const { doc, out, exitCode } = await fuzzHere({
    ...fixture,
    ...cli,
    seed,
    budgetMs: o.budget,
    maxSequences: o.sequences,
    from: o.from,
  });
  // In the guest the host writes the document: the exit status tells it whether a signal ended this boot.
  return doc && out ? fuzzFinish(doc, out, exitCode) : exitCode;
}

/** Prints a fuzz document; the exit status of its findings, or the interruption's (130 / 143) with one line. */
function fuzzFinish(doc: FuzzDoc, out: string, code: number): number {
  console.log(formatFuzz(doc));
  console.error(`results: ${out} (replay files: ${runDir(out)}/)`);
  const stopped = interruption({
    by: doc.interruptedBy,
    progress: `${doc.summary.sequences} sequences`,
    out,
  });
  if (stopped) throw stopped;
  return code;
}

async function writeOutputs(doc: SuiteDoc, out: string, o: ConformanceOptions): Promise<number> {
  if (o.emitC) {
    const files = emitCases(o.emitC, doc.results as CaseRun[]);
    console.error(`C programs: ${files.length} in ${o.emitC} (see its README.md)`);
  }
  if (o.dossier) {
    const ds = await writeDossiers(o.dossier, [{ path: out, doc }]);
    console.error(`dossiers: ${ds.length} in ${o.dossier} (index: ${o.dossier}/README.md)`);
  }
  if (o.junit) writeText(o.junit, formatJunit(doc));
  if (o.summary) writeText(o.summary, formatMarkdown(doc));
  console.log(formatTable(doc));
  console.error(`results: ${out} (streamed: ${jsonLinesPath(out)})`);
  if (o.html) console.error(`report: ${writeHtmlReport(out)}`);
  return doc.exitCode;
}
