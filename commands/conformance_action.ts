// The `memreg conformance` run (commands/conformance.ts declares its options): the suite here, in the testbed
// under crash survival or as one side of a pair; --fuzz and --replay; then the documents and outputs. The run
// itself and its result file are the engine's (conformance/run.ts, conformance/fuzz/session.ts); without an RDMA
// device the run goes to the testbed under crash survival (conformance/survive.ts, conformance/fuzz/survive.ts).
import { type DeviceOptions, ensureDevice, pairRoleOf, userPaths } from "./options.ts";
import type { PairCliOptions } from "../oob/role.ts";
import { UsageError } from "../common/mod.ts";
import { jsonLinesPath, writeText } from "../record/stream.ts";
import { interruption } from "../record/result_file.ts";
import { CASES } from "../conformance/cases/index.ts";
import { selectCases } from "../conformance/select.ts";
import type { Severity } from "../conformance/severity.ts";
import { loadProfile, type Profile } from "../conformance/profile.ts";
import { runConformance } from "../conformance/run.ts";
import type { SuiteDoc } from "../conformance/doc.ts";
import type { CaseDef, CaseResult, CaseRun } from "../conformance/model.ts";
import { surviveInTestbed } from "../conformance/survive.ts";
import { emitCases } from "../conformance/emit_cases.ts";
import { wantsTapes } from "../conformance/emit_c.ts";
import { writeDossiers } from "../conformance/dossier.ts";
import { outputDir } from "../common/output.ts";
import {
  checkRunDir,
  fuzzExitCode,
  fuzzHere,
  readReplay,
  replayHere,
  runDir,
} from "../conformance/fuzz/session.ts";
import type { FuzzDoc } from "../conformance/fuzz/doc.ts";
import { fuzzInTestbed, replayInTestbed } from "../conformance/fuzz/survive.ts";
import { formatFuzz, formatReplay } from "../reports/fuzz.ts";
import { hasRdmaDevice, inTestbed } from "../testbed/vm.ts";
import { formatTable } from "../reports/conformance/table.ts";
import { formatMarkdown } from "../reports/conformance/markdown.ts";
import { detail } from "../reports/conformance/summary.ts";
import { NOT_IN_PAIR, notInPair } from "./conformance.ts";

/** What commander hands `conformance`'s action. */
export interface ConformanceOptions extends DeviceOptions, PairCliOptions {
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

/** --list: one line per case (id, level, rule, title), in columns. */
export function formatList(defs: readonly CaseDef[]): string {
  const w = Math.max(...defs.map((d) => d.id.length));
  return defs.map((d) => `${d.id.padEnd(w)}  ${d.level.padEnd(7)}  ${d.rule.padEnd(17)}  ${d.title}`).join(
    "\n",
  );
}

/** Where the run happens: the testbed under crash survival (no device here), or the device here. */
function testbedHost(o: ConformanceOptions): boolean {
  return !o.survivor && o.testbed && !hasRdmaDevice() && !inTestbed();
}

/** --server / --connect: what a run split between two processes cannot do (bad input, before anything runs). */
function checkPair(o: ConformanceOptions): void {
  const pair = o.server || o.connect !== undefined || o.slurm;
  if (!pair) return;
  for (const [flag, key] of Object.entries(NOT_IN_PAIR)) if (o[key]) throw notInPair(flag);
}

/** Runs `memreg conformance` with its parsed options; resolves to the exit status. */
export async function conformance(o: ConformanceOptions): Promise<number> {
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
  if (o.fuzz && o.out) checkRunDir(o.out);
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
  // The XML writer is loaded only for --junit.
  if (o.junit) writeText(o.junit, (await import("../reports/conformance/junit.ts")).formatJunit(doc));
  if (o.summary) writeText(o.summary, formatMarkdown(doc));
  console.log(formatTable(doc));
  console.error(`results: ${out} (streamed: ${jsonLinesPath(out)})`);
  // The renderer (and its document validation) is loaded only when a report is written.
  if (o.html) console.error(`report: ${(await import("../reports/write.ts")).writeHtmlReport(out)}`);
  return doc.exitCode;
}
