// `memreg conformance --fuzz` and `--replay FILE` on the device here: a fuzz run or one replayed sequence,
// streaming its records (to the crash-surviving host's stream in the testbed: survive.ts), and the document.
import { basename, dirname, join } from "node:path";
import { runHeader } from "../../record/header.ts";
import { JsonLines, jsonLinesPath, writeJson } from "../../record/stream.ts";
import { UsageError } from "../../common/mod.ts";
import { stopRequested } from "../../common/signals.ts";
import { openDevice } from "../suite.ts";
import { loadProfile, type Profile, profileFor } from "../profile.ts";
import { emitAll, type EmitWhat, wantsTapes } from "../emit_c.ts";
import type { FixtureOptions } from "../fixture/mod.ts";
import { runSequence } from "./exec.ts";
import { deviceCaps } from "../runner.ts";
import { crashSignatures, fuzz, knownSignatures, type ReplayFile } from "./run.ts";
import { describe, type Step } from "./steps.ts";
import { FUZZ_SCHEMA_VERSION, type FuzzDoc, fuzzDoc, type ReplayOutcome } from "./doc.ts";

export interface FuzzCliOptions extends FixtureOptions {
  device?: string;
  seed: number;
  budgetMs: number;
  from?: number;
  /** Stop before this sequence index (see FuzzOptions.maxSequences). */
  maxSequences?: number;
  strict: boolean;
  profile?: Profile;
  out: string | undefined;
  emitC?: string;
  /** Record each finding's tape (under crash survival the host asks for them with --tape and emits the C). */
  tape?: boolean;
  /** Under crash survival: the host's stream to append to (the host writes the documents). */
  survivor?: string;
}

/** Replay files and C programs of a run go next to its document: results/x.json → results/x/. */
export function runDir(out: string): string {
  return join(dirname(out), basename(out).replace(/\.json$/, ""));
}

function openStream(o: { survivor?: string; out: string }): { lines: JsonLines; fresh: boolean } {
  if (o.survivor) {
    let fresh = true;
    try {
      fresh = Deno.statSync(o.survivor).size === 0;
    } catch {
      // the host made it; a missing file is a fresh stream too
    }
    return { lines: new JsonLines(o.survivor, { append: true }), fresh };
  }
  return { lines: new JsonLines(jsonLinesPath(o.out)), fresh: true };
}

/** A fuzz run on the device here; the document (null under crash survival: the host writes it). */
export async function fuzzHere(o: FuzzCliOptions & { out: string }): Promise<FuzzDoc | null> {
  using ctx = openDevice(o);
  const header = runHeader("fuzz", FUZZ_SCHEMA_VERSION, ctx);
  const profile = o.strict ? null : o.profile ?? profileFor(ctx.name);
  const { lines, fresh } = openStream(o);
  try {
    lines.write({ record: fresh ? "header" : "boot", mode: "fuzz", ...header });
    const dir = runDir(o.out);
    const summary = await fuzz(ctx, {
      ...o,
      profile,
      kernel: header.host.kernel,
      dir,
      tape: wantsTapes(o),
      record: (r) => lines.write(r),
    });
    lines.write({
      record: "summary",
      ...summary,
      findings: summary.findings.map((f) => ({ ...f, tape: undefined })),
    });
    if (o.survivor) return null; // each finding's tape is already in the stream

    // A signal stopped the run early (fuzz() saw the request): the document says so.
    const doc = fuzzDoc(header, summary, profile, { interruptedBy: stopRequested() });
    writeJson(o.out, doc);
    lines.write({ record: "end", file: o.out, completed: doc.completed, interruptedBy: doc.interruptedBy });
    if (o.emitC) {
      emitFindings(o.emitC, summary.findings.map((f) => ({ ...f, tape: f.tape!, facts: f.facts! })));
    }
    return doc;
  } finally {
    lines.close();
  }
}

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
  const stream = o.survivor ? openStream({ survivor: o.survivor, out: "" }) : null;
  stream?.lines.write({ record: stream.fresh ? "header" : "boot", mode: "replay", ...header });
  const profile = o.strict ? null : o.profile ?? profileFor(ctx.name);
  const known = knownSignatures(profile, header.host.kernel);
  try {
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
      beforeStep: (step, p) =>
        stream?.lines.write({ record: "at", step, rule: p?.rule, situation: p?.situation }),
      onTapeStep: stream ? (step) => stream.lines.write({ record: "tape", step }) : undefined,
    });
    const d = res.divergence;
    stream?.lines.write({ record: "replayed", signature: d?.signature ?? null, facts: res.facts });
    if (o.emitC) emitFindings(o.emitC, [{ ...r, facts: res.facts, tape: res.tape }]);
    return {
      replay: r,
      records: res.records,
      divergence: d,
      knownCase: d && known.has(d.signature) ? known.get(d.signature)!.case : null,
    };
  } finally {
    stream?.lines.close();
  }
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

export function loadProfileOption(path?: string): Profile | undefined {
  return path ? loadProfile(path) : undefined;
}
