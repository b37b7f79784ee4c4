// The fuzz loop: seeded sequences run on the device and the model; each new divergence is shrunk and written
// as a replay file. Divergences the profile already explains are counted, not reported again.
import { join } from "node:path";
import type { Context } from "../../ffi/mod.ts";
import type { FixtureOptions } from "../fixture/mod.ts";
import type { Facts } from "../model.ts";
import type { Tape } from "../tape.ts";
import { type Deviation, deviationsFor, type Profile } from "../profile.ts";
import { writeJson } from "../../record/stream.ts";
import { runSequence, type SequenceResult } from "./exec.ts";
import { shrink } from "./shrink.ts";
import { stopRequested } from "../../common/signals.ts";
import { guardOutput } from "../../common/output.ts";
import { deviceCaps } from "../runner.ts";
import { describe, generate, type Step } from "./steps.ts";
import type { Prediction } from "./model.ts";

/** A new divergence the run found: the rule it breaks, how often, and its shrunk sequence. */
export interface Finding {
  signature: string;
  rule: string;
  situation: string;
  expected: readonly string[];
  observed: string;
  /** How many sequences showed it. */
  count: number;
  /** The first sequence that did (its index under the seed). */
  sequence: number;
  /** The shrunk sequence and the step in it that diverges. */
  steps: Step[];
  /** Index in `steps` of the diverging step. */
  step: number;
  /** Shrinking reached a sequence no step can be removed from. */
  minimal: boolean;
  shrinkTries: number;
  /** The replay file (relative to the run's directory). */
  file?: string;
  /** The facts and tape of a rerun of the shrunk sequence (with --emit-c). */
  facts?: Facts;
  tape?: Tape;
}

/** A divergence the profile explains, and how often the run met it. */
export interface KnownCount {
  signature: string;
  count: number;
  /** The profile entry that explains it. */
  case: string;
  verdict: string;
}

/** What a run (or one sequence of it) did. */
export interface Counts {
  sequences: number;
  steps: number;
  /** Steps not run: ill-typed where they came (an object the device had freed). */
  skipped: number;
  /** Steps whose outcome the spec leaves open (never reported as divergences). */
  open: number;
  /** operation → outcome class → count. */
  coverage: Record<string, Record<string, number>>;
}

/** What a whole fuzz run did: its counts, new findings and known divergences met. */
export interface FuzzSummary extends Counts {
  seed: number;
  budgetMs: number;
  /** The run stops before this sequence index (--sequences), if it was given. */
  maxSequences?: number;
  /** The first sequence index run (a run continued after a crash starts later). */
  from: number;
  findings: Finding[];
  known: KnownCount[];
  wallMs: number;
}

/** How a fuzz run goes: seed, budget, sequence range, profile, and where its output goes. */
export interface FuzzOptions extends FixtureOptions {
  seed: number;
  budgetMs: number;
  /** Start at this sequence index (continuing a run). */
  from?: number;
  /** Stop before this sequence index: the same sequences whatever the machine's speed (with the budget). */
  maxSequences?: number;
  profile: Profile | null;
  kernel: string;
  /** Where replay files go (a directory). */
  dir: string;
  /** Streams progress: a record before each sequence and step (crash survival), and each finding. */
  record?: (r: { record: string } & Record<string, unknown>) => void;
  /** Attach tapes to findings (for --emit-c). */
  tape?: boolean;
}

/** A summary with nothing counted yet. */
export function emptySummary(seed: number, budgetMs: number, from = 0, maxSequences?: number): FuzzSummary {
  return {
    seed,
    budgetMs,
    ...(maxSequences !== undefined ? { maxSequences } : {}),
    from,
    sequences: 0,
    steps: 0,
    skipped: 0,
    open: 0,
    coverage: {},
    findings: [],
    known: [],
    wallMs: 0,
  };
}

/** The profile's fuzz signatures that apply on this kernel, with the deviation that explains each. */
export function knownSignatures(profile: Profile | null, kernel: string): Map<string, Deviation> {
  const out = new Map<string, Deviation>();
  for (const d of deviationsFor(profile, kernel)) for (const sig of d.fuzz ?? []) out.set(sig, d);
  return out;
}

/** The signatures among `known` of steps that take the kernel or the process down: such steps are held back. */
export function crashSignatures(known: Iterable<string>): Set<string> {
  return new Set([...known].filter((s) => /\|(process-)?crash$/.test(s)));
}

/** How often a run says how far it got (the testbed host also takes this as the sign the guest lives). */
const PROGRESS_MS = 20_000;

/**
 * Runs generated sequences until the budget, --sequences or a stop request ends the run; shrinks and writes a
 * replay file for each new divergence, and returns the summary.
 */
export async function fuzz(ctx: Context, o: FuzzOptions): Promise<FuzzSummary> {
  const t0 = performance.now();
  const deadline = t0 + o.budgetMs;
  const known = knownSignatures(o.profile, o.kernel);
  const knownCrashes = crashSignatures(known.keys());
  const sum = emptySummary(o.seed, o.budgetMs, o.from ?? 0, o.maxSequences);
  const findings = new Map<string, Finding>();
  const knownCounts = new Map<string, KnownCount>();
  const knownSet = new Set(known.keys());
  const caps = deviceCaps(ctx);
  let said = performance.now();
  // A line at least every PROGRESS_MS, shrinking included: the testbed host reads silence as a hang.
  const heartbeat = () => {
    if (performance.now() - said < PROGRESS_MS) return;
    said = performance.now();
    console.error(
      // After a crash's reboot this boot's counts start again: the line says where the boot started.
      `fuzz: ${o.from ? `from sequence ${o.from} (after a reboot): ` : ""}${sum.sequences} sequences, ` +
        `${sum.steps} steps, ${findings.size} new divergence(s), ` +
        `${Math.round((deadline - said) / 1000)} s left`,
    );
  };
  const run = (steps: Step[], seq: number | null) => {
    heartbeat();
    return runSequence(ctx, steps, {
      ...o,
      knownCrashes,
      known: knownSet,
      caps,
      beforeStep: seq === null
        ? undefined
        : (step, p) => o.record?.({ record: "at", sequence: seq, step, ...sig(p) }),
    });
  };
  // The budget, or SIGINT/SIGTERM: the sequence (or shrinking) in flight ends the run, what it found is kept.
  const over = () => performance.now() >= deadline || stopRequested() !== null;
  for (let seq = o.from ?? 0; !over() && seq < (o.maxSequences ?? Infinity); seq++) {
    const steps = generate(o.seed, seq);
    o.record?.({ record: "sequence", sequence: seq });
    const res = await run(steps, seq);
    const counts = countsOf(res);
    addCounts(sum, counts);
    // Known deviations met on the way (and a held-back crash) are counted, not reported again.
    const met = [...res.known.map((k) => k.signature), ...(res.knownCrash ? [res.knownCrash] : [])];
    const knownHere = met.map((sig) => ({
      signature: sig,
      count: 1,
      case: known.get(sig)!.case,
      verdict: known.get(sig)!.verdict,
    }));
    for (const k of knownHere) addKnown(knownCounts, k);
    // Each sequence's counts are streamed: a crash in a later one loses none of them.
    o.record?.({ record: "done", sequence: seq, ...counts, known: knownHere });
    const hit = res.divergence?.signature;
    if (!hit) continue;
    const prior = findings.get(hit);
    if (prior) {
      prior.count++;
      continue;
    }
    const f = await shrinkFinding(steps, res, seq, (c) => run(c, null), over);
    findings.set(hit, f);
    f.file = writeReplay(o, f);
    if (o.tape) {
      const again = await run(f.steps, null);
      f.facts = again.facts;
      f.tape = again.tape;
    }
    o.record?.({ record: "finding", ...f, tape: undefined });
    // The tape goes out with its finding: a boot that a later sequence panics must not take it along.
    if (f.tape) o.record?.({ record: "tape", signature: f.signature, tape: f.tape, facts: f.facts });
  }
  sum.findings = [...findings.values()];
  sum.known = [...knownCounts.values()];
  sum.wallMs = Math.round(performance.now() - t0);
  return sum;
}

function sig(p: Prediction | null) {
  return p ? { rule: p.rule, situation: p.situation } : {};
}

/** The counts of one sequence's step records. */
export function countsOf(res: Pick<SequenceResult, "records">): Counts {
  const c: Counts = { sequences: 1, steps: 0, skipped: 0, open: 0, coverage: {} };
  for (const r of res.records) {
    if (r.cls === "skipped") {
      c.skipped++;
      continue;
    }
    c.steps++;
    if (r.prediction?.accept === "open") c.open++;
    const row = c.coverage[r.op] ??= {};
    row[r.cls] = (row[r.cls] ?? 0) + 1;
  }
  return c;
}

/** Adds `c` into `into`, coverage included. */
export function addCounts(into: Counts, c: Counts): void {
  into.sequences += c.sequences;
  into.steps += c.steps;
  into.skipped += c.skipped;
  into.open += c.open;
  for (const [op, row] of Object.entries(c.coverage)) {
    const r = into.coverage[op] ??= {};
    for (const [k, n] of Object.entries(row)) r[k] = (r[k] ?? 0) + n;
  }
}

/** Adds a known divergence's count into the map, by signature. */
export function addKnown(into: Map<string, KnownCount>, k: KnownCount): void {
  const have = into.get(k.signature);
  if (have) have.count += k.count;
  else into.set(k.signature, { ...k });
}

/**
 * Shrinks the prefix up to the diverging step to a minimal sequence with the same divergence. Held-back known
 * crash steps go first, so even a cut-short shrink never carries one into a replay.
 */
export async function shrinkFinding(
  steps: readonly Step[],
  res: Pick<SequenceResult, "divergence" | "records">,
  seq: number,
  run: (steps: Step[]) => Promise<SequenceResult>,
  until: number | (() => boolean),
): Promise<Finding> {
  const div = res.divergence!;
  let prefix = steps.slice(0, div.step + 1);
  const ran = prefix.filter((_, i) => res.records[i]?.cls !== "known-crash");
  if (ran.length < prefix.length && (await run(ran)).divergence?.signature === div.signature) prefix = ran;
  // The candidate must show the same new divergence (known ones it meets on the way do not count).
  const r = await shrink(
    prefix,
    async (c) => (await run(c)).divergence?.signature === div.signature,
    until,
  );
  // Where the divergence is in the shrunk sequence.
  const last = await run(r.items);
  return {
    signature: div.signature,
    rule: div.rule,
    situation: div.situation,
    expected: div.expected,
    observed: div.observed,
    count: 1,
    sequence: seq,
    steps: r.items,
    step: last.divergence?.step ?? r.items.length - 1,
    minimal: r.minimal,
    shrinkTries: r.tries,
  };
}

/** A replay file: the shrunk sequence, what it showed, and how to run it again. */
export interface ReplayFile {
  tool: "memreg";
  kind: "fuzz-replay";
  version: 1;
  seed: number;
  sequence: number;
  kernel: string;
  signature: string;
  rule: string;
  situation: string;
  expected: readonly string[];
  observed: string;
  /** The step (index in steps) that diverges. */
  step: number;
  steps: Step[];
  /** The steps in words. */
  described: string[];
}

function writeReplay(o: FuzzOptions, f: Finding): string {
  const n = [...f.situation.matchAll(/[a-z0-9]+/gi)].map((m) => m[0]).join("-");
  const file = `${f.rule}--${n}--${f.observed.replace(/[^a-z0-9-]/gi, "_")}.json`;
  const replay: ReplayFile = {
    tool: "memreg",
    kind: "fuzz-replay",
    version: 1,
    seed: o.seed,
    sequence: f.sequence,
    kernel: o.kernel,
    signature: f.signature,
    rule: f.rule,
    situation: f.situation,
    expected: f.expected,
    observed: f.observed,
    step: f.step,
    steps: f.steps,
    described: f.steps.map(describe),
  };
  // A folder the run cannot write (its check before the run passed) is one line naming it, not an OS error.
  guardOutput(o.dir, "replay folder", () => writeJson(join(o.dir, file), replay));
  return file;
}
