// `memreg conformance --fuzz` and `--replay FILE` on the device here: a fuzz run or one replayed sequence,
// streaming its records (to the crash-surviving host's stream in the testbed: survive.ts), and the document.
import { defaultOutPath, runHeader } from "../../record/header.ts";
import { ResultFile } from "../../record/result_file.ts";
import { outStem } from "../../record/stream.ts";
import { UsageError } from "../../common/mod.ts";
import { statOrNull } from "../../common/output.ts";
import { SIGNAL_EXIT, stopRequested, watchStop } from "../../common/signals.ts";
import { openDevice } from "../suite.ts";
import { type Profile, profileFor } from "../profile.ts";
import { emitAll, type EmitWhat, wantsTapes } from "../emit_c.ts";
import type { FixtureOptions } from "../fixture/mod.ts";
import { runSequence } from "./exec.ts";
import { deviceCaps } from "../runner.ts";
import { crashSignatures, fuzz, knownSignatures, type ReplayFile } from "./run.ts";
import { describe, type Step } from "./steps.ts";
import { FUZZ_SCHEMA_VERSION, type FuzzDoc, fuzzDoc, type ReplayOutcome } from "./doc.ts";

/** A fuzz run on the device here, as the command line asks for it. */
export interface FuzzCliOptions extends FixtureOptions {
  device?: string;
  seed: number;
  budgetMs: number;
  from?: number;
  /** Stop before this sequence index (see FuzzOptions.maxSequences). */
  maxSequences?: number;
  strict: boolean;
  profile?: Profile;
  /** The document's path (--out); a default under results/ when absent. */
  out?: string;
  /** Write each finding as a C program into this folder. */
  emitC?: string;
  /** Record each finding's tape (under crash survival the host asks for them with --tape and emits the C). */
  tape?: boolean;
  /** Under crash survival: the host's stream to append to (the host writes the documents). */
  survivor?: string;
}

/**
 * The folder of a run's replay files, next to its document: the --out less a trailing `.json`, plus `.replay`
 * (results/x.json → results/x.replay/, as results/x → results/x.replay/), the rule that names its stream
 * (record/stream.ts jsonLinesPath: results/x.jsonl): never the document's own name, whatever --out is.
 */
export function runDir(out: string): string {
  return `${outStem(out)}.replay`;
}

/**
 * Checks, before the run, that a run writing `out` can make its replay folder (it is made only when a finding
 * needs it): not an existing file. Throws a UsageError naming --out otherwise.
 */
export function checkRunDir(out: string): void {
  const dir = runDir(out);
  const st = statOrNull(dir);
  if (st && !st.isDirectory) {
    throw new UsageError(`--out ${out}: its replay folder ${dir} is a file, not a directory`);
  }
}

/** 1 when a fuzz document has findings or crashes no profile explains, else 0. */
export function fuzzExitCode(doc: FuzzDoc): number {
  return doc.summary.findings.length || (doc.crashes ?? []).some((c) => !c.known) ? 1 : 0;
}

/** The stream of a run here: its own result file, or the crash-surviving host's stream (records only). */
function openFile(o: { survivor?: string; out?: string; device?: string }): ResultFile {
  return o.survivor
    ? ResultFile.streamOnly(o.survivor)
    : ResultFile.open({ out: o.out, kind: "fuzz", device: o.device ?? "device" });
}

/** What a fuzz run here leaves the command: its document and path (null in the guest), and the exit status. */
export interface FuzzHereOutcome {
  doc: FuzzDoc | null;
  out: string | null;
  exitCode: number;
}

/**
 * A fuzz run on the device here, stopped early by SIGINT / SIGTERM. Under crash survival it only streams to the
 * host's file (the host writes the document): its exit status tells the host a signal ended this boot.
 */
export async function fuzzHere(o: FuzzCliOptions): Promise<FuzzHereOutcome> {
  using stop = await watchStop("finishing the current sequence, then writing the results");
  using ctx = openDevice(o);
  const header = runHeader("fuzz", FUZZ_SCHEMA_VERSION, ctx);
  const profile = o.strict ? null : o.profile ?? profileFor(ctx.name);
  using file = openFile(o);
  // Replay files go next to the document (the host's, under crash survival).
  const out = file.out ?? o.out ?? defaultOutPath("fuzz", o.device ?? "device");
  checkRunDir(out);
  file.write({ record: file.fresh ? "header" : "boot", mode: "fuzz", ...header });
  const summary = await fuzz(ctx, {
    ...o,
    profile,
    kernel: header.host.kernel,
    dir: runDir(out),
    tape: wantsTapes(o),
    record: (r) => file.write(r),
  });
  file.write({
    record: "summary",
    ...summary,
    findings: summary.findings.map((f) => ({ ...f, tape: undefined })),
  });
  // Under crash survival each finding's tape is already in the stream.
  if (o.survivor) return { doc: null, out: null, exitCode: stop.signal ? SIGNAL_EXIT[stop.signal] : 0 };

  // A signal stopped the run early (fuzz() saw the request): the document says so.
  const doc = fuzzDoc(header, summary, profile, { interruptedBy: stopRequested() });
  file.finish(doc, doc);
  if (o.emitC) {
    emitFindings(o.emitC, summary.findings.map((f) => ({ ...f, tape: f.tape!, facts: f.facts! })));
  }
  return { doc, out, exitCode: fuzzExitCode(doc) };
}

/** Reads a --replay file; a file that is not one is bad input (exit 2). */
export function readReplay(path: string): ReplayFile {
  let r: ReplayFile;
  try {
    r = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new UsageError(`--replay ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  if (r?.kind !== "fuzz-replay" || !Array.isArray(r.steps)) {
    throw new UsageError(`--replay ${path}: not a memreg fuzz replay file`);
  }
  return r;
}

/** What a replay did: each step with its prediction and class, the divergence, the one recorded. */
/** --replay FILE: the sequence once on the device here. */
export async function replayHere(
  path: string,
  o: FixtureOptions & {
    device?: string;
    survivor?: string;
    strict: boolean;
    profile?: Profile;
    emitC?: string;
  },
): Promise<ReplayOutcome> {
  const r = readReplay(path);
  using ctx = openDevice(o);
  const header = runHeader("fuzz", FUZZ_SCHEMA_VERSION, ctx);
  using stream = o.survivor ? ResultFile.streamOnly(o.survivor) : null;
  stream?.write({ record: stream.fresh ? "header" : "boot", mode: "replay", ...header });
  const profile = o.strict ? null : o.profile ?? profileFor(ctx.name);
  const known = knownSignatures(profile, header.host.kernel);
  const res = await runSequence(ctx, r.steps, {
    ...o,
    caps: deviceCaps(ctx),
    // Past the deviations the profile explains, as the fuzz run that found the sequence went (else a
    // known one before it stops the replay short of its own divergence or crash); its own always stops it.
    known: new Set([...known.keys()].filter((s) => s !== r.signature)),
    // Steps the profile says crash were held back in the run that found the sequence, and are here too; its
    // own step a replay runs, a crash or not: that is what it is asked to show.
    knownCrashes: crashSignatures(known.keys()),
    ownStep: r.step,
    beforeStep: (step, p) => stream?.write({ record: "at", step, rule: p?.rule, situation: p?.situation }),
    onTapeStep: stream ? (step) => stream.write({ record: "tape", step }) : undefined,
  });
  const d = res.divergence;
  stream?.write({ record: "replayed", signature: d?.signature ?? null, facts: res.facts });
  if (o.emitC) emitFindings(o.emitC, [{ ...r, facts: res.facts, tape: res.tape }]);
  return {
    replay: r,
    records: res.records,
    divergence: d,
    knownCase: d && known.has(d.signature) ? known.get(d.signature)!.case : null,
  };
}

/** C programs for findings (each with the tape of a run of its shrunk sequence). */
export function emitFindings(
  dir: string,
  findings: {
    signature: string;
    rule: string;
    situation: string;
    expected: readonly string[];
    observed: string;
    steps: Step[];
    step: number;
    facts: Record<string, unknown>;
    tape: EmitWhat["tape"];
  }[],
): string[] {
  return emitAll(
    dir,
    findings.map((f) => ({
      name: `fuzz--${f.rule}--${f.situation}`,
      summary:
        `${f.signature}: step ${f.step} (${describe(f.steps[f.step])}) expected ${f.expected.join("|")}, ` +
        `observed ${f.observed}; steps: ${f.steps.map(describe).join("; ")}`,
      facts: f.facts,
      tape: f.tape,
    })),
  );
}
