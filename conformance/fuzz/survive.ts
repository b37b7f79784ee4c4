// Crash survival for the fuzzer: the host boots the testbed, the guest fuzzes and streams a durable record
// before every sequence and step, so when the guest kernel panics, oopses or hangs the host knows the step
// that did it. That crash is a finding like any other: its sequence is shrunk (each try a fresh boot, within
// the run's budget) and written as a replay file; then the run goes on with the next sequence.
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestbedResult } from "../../testbed/vm.ts";
import { type GuestCli, guestOptions, STALL_MARGIN_MS, watchedTestbed } from "../survive.ts";
import { JsonLines, readJsonLines, writeJson } from "../../record/stream.ts";
import type { RunHeader } from "../../record/header.ts";
import { ResultFile } from "../../record/result_file.ts";
import { type Profile, profileFor } from "../profile.ts";
import { shrink } from "./shrink.ts";
import { signalOfExit, type StopSignal } from "../../common/signals.ts";
import { describe, generate, opName, type Slot, type Step } from "./steps.ts";
import { runDir } from "./session.ts";
import { type CrashFinding, type FuzzDoc, fuzzDoc } from "./doc.ts";
import {
  addCounts,
  addKnown,
  type Counts,
  emptySummary,
  type Finding,
  type KnownCount,
  knownSignatures,
  type ReplayFile,
} from "./run.ts";
import type { Tape, TapeStep } from "../tape.ts";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));

/** A fuzz run under crash survival: the run's options, its result file, and how the testbed boots. */
export interface FuzzSurviveOptions {
  /** The fuzz seed. */
  seed: number;
  /** The time budget (boots and crash shrinking included). */
  budgetMs: number;
  /** Stop before this sequence index. */
  maxSequences?: number;
  /** The run's result file (opened fresh): the guests append to its stream; the caller finishes it. */
  file: ResultFile & { readonly out: string };
  /** An explicit profile (--profile); otherwise the built-in one matching the device. */
  profile?: Profile;
  /** Ignore profiles: every deviation is a finding. */
  strict: boolean;
  /** Options for the guest besides the fuzz ones (--port, --step-deadline, …). */
  guestArgs: string[];
  /** Write each finding as a C program into this folder. */
  emitC?: string;
  /** Boots the testbed with a command (watching its kernel). */
  boot: (argv: string[]) => Promise<TestbedResult>;
  /** The guest's command line up to the conformance options. */
  guestCli: string[];
}

/** How long shrinking one crash may take (each try is a boot): the rest of the budget is for fuzzing. */
const CRASH_SHRINK_MS = 180_000;

/** A boot takes this long before the guest fuzzes (measured: 20–40 s under TCG); below it, no new boot. */
const BOOT_MS = 45_000;

/** Steps that make or change the objects step `k` works on (their slots, and the MRs their binds use). */
export function dependencySlice(steps: readonly Step[], k: number): Step[] {
  const mr = new Set<Slot>(), mw = new Set<Slot>();
  const addTarget = (t: { mw: Slot } | { mr: Slot }) => ("mw" in t ? mw.add(t.mw) : mr.add(t.mr));
  const touch = (s: Step): boolean => {
    switch (s.op) {
      case "reg":
      case "dereg":
        return mr.has(s.mr);
      case "alloc":
      case "dealloc":
      case "unbind":
        return mw.has(s.mw);
      case "bind":
        if (mw.has(s.mw)) mr.add(s.mr);
        return mw.has(s.mw);
      case "localInv":
      case "sendInv":
        return "mw" in s.target ? mw.has(s.target.mw) : mr.has(s.target.mr);
      default:
        return false;
    }
  };
  const last = steps[k];
  if ("target" in last) addTarget(last.target);
  if ("mw" in last && typeof last.mw === "number") mw.add(last.mw);
  if ("mr" in last && typeof last.mr === "number") mr.add(last.mr);
  const keep = new Set<number>([k]);
  for (let j = k - 1; j >= 0; j--) if (touch(steps[j])) keep.add(j);
  return steps.filter((_, i) => keep.has(i));
}

interface BootOutcome {
  res: TestbedResult;
  records: Record<string, unknown>[];
}

/**
 * Fuzzes in as many testbed boots as crashes make necessary, shrinking each new crash with probe boots; builds
 * the document from the stream (the caller writes it).
 */
export async function fuzzSurviving(o: FuzzSurviveOptions): Promise<FuzzDoc> {
  const t0 = performance.now();
  const deadline = t0 + o.budgetMs;
  const stream = resolve(o.file.stream);
  const dir = runDir(o.file.out);
  let consumed = 0;
  /** A boot (the run's or a crash-shrinking probe's) ended by the user's SIGINT/SIGTERM: no further boot. */
  let interruptedBy: StopSignal | null = null;
  const boot = async (argv: string[], file = stream): Promise<BootOutcome> => {
    const res = await o.boot(argv);
    interruptedBy ??= signalOfExit(res.code);
    const all = readJsonLines(file);
    const records = file === stream ? all.slice(consumed) : all;
    if (file === stream) consumed = all.length;
    return { res, records };
  };
  const summary = emptySummary(o.seed, o.budgetMs, 0, o.maxSequences);
  const crashes: CrashFinding[] = [];
  const findings = new Map<string, Finding>();
  const knownCounts = new Map<string, KnownCount>();
  const boots: NonNullable<FuzzDoc["run"]["boots"]> = [];
  const tapes: { signature: string; tape: Tape; facts: Record<string, unknown> }[] = [];
  let header: RunHeader | null = null;
  let from = 0;
  while (!interruptedBy && deadline - performance.now() > BOOT_MS && from < (o.maxSequences ?? Infinity)) {
    const budget = Math.round(deadline - performance.now() - BOOT_MS);
    const argv = [
      ...o.guestCli,
      "--fuzz",
      "--seed",
      String(o.seed),
      "--budget",
      `${Math.max(1, Math.round(budget / 1000))}s`,
      "--from",
      String(from),
      ...(o.maxSequences !== undefined ? ["--sequences", String(o.maxSequences)] : []),
      "--out",
      resolve(o.file.out),
      "--survivor",
      stream,
      ...(o.emitC ? ["--tape"] : []),
      ...o.guestArgs,
    ];
    const { res, records } = await boot(argv);
    header ??= records.find((r) => r.record === "header" || r.record === "boot") as RunHeader | undefined ??
      null;
    let lastSeq = from - 1;
    let at: Record<string, unknown> | null = null;
    for (const r of records) {
      if (r.record === "sequence") {
        lastSeq = r.sequence as number;
        at = null;
      }
      if (r.record === "at") at = r;
      if (r.record === "done") {
        addCounts(summary, r as unknown as Counts);
        for (const k of (r.known ?? []) as KnownCount[]) addKnown(knownCounts, k);
      }
      if (r.record === "finding") {
        const f = r as unknown as Finding;
        const have = findings.get(f.signature);
        if (have) have.count += f.count;
        else findings.set(f.signature, f);
      }
      if (r.record === "tape") tapes.push(r as unknown as (typeof tapes)[number]);
    }
    const crash = crashOf(res);
    boots.push({
      kernel: res.kernel,
      ended: crash ? crash.what : res.code === 0 ? "completed" : `exit ${res.code}`,
      sequences: lastSeq - from + 1,
    });
    if (interruptedBy) break;
    if (!crash) break; // the guest finished its budget (or failed: nothing more to do)
    // The crashed sequence's steps up to the one in flight; everything before it was counted by the guest.
    const steps = generate(o.seed, lastSeq);
    const k = at ? (at.step as number) : steps.length - 1;
    const sig = `${at?.rule ?? "?"}|${at?.situation ?? "?"}|${crash.cls}`;
    const profile = o.strict ? null : o.profile ?? (header ? profileFor(header.device.name) : null);
    const known = knownSignatures(profile, header?.host.kernel ?? res.kernel);
    const finding: CrashFinding = {
      signature: sig,
      sequence: lastSeq,
      steps: steps.slice(0, k + 1),
      described: [],
      step: k,
      known: known.has(sig),
      evidence: { panicLine: crash.panicLine, rip: crash.rip, callTrace: crash.callTrace },
      what: crash.what,
      kernel: res.kernel,
    };
    if (!finding.known && !crashes.some((c) => c.signature === sig)) {
      // A crash may be a race that a probe does not always hit: its shrinking gets a bounded share.
      await shrinkCrash(o, finding, dir, Math.min(deadline, performance.now() + CRASH_SHRINK_MS));
    }
    finding.described = finding.steps.map(describe);
    crashes.push(finding);
    // The crashed sequence counts too: its steps up to the crash, the last one as a crash.
    addCounts(summary, {
      sequences: 1,
      steps: k + 1,
      skipped: 0,
      open: 0,
      coverage: { [opName(steps[k])]: { [crash.cls]: 1 } },
    });
    from = lastSeq + 1;
  }
  summary.wallMs = Math.round(performance.now() - t0);
  summary.findings = [...findings.values()];
  summary.known = [...knownCounts.values()];
  if (!header) throw new Error("fuzz: no testbed boot got as far as the run header");
  const profile = o.strict ? null : o.profile ?? profileFor(header.device.name);
  const doc = fuzzDoc(header, summary, profile, { interruptedBy, boots, crashes });
  if (o.emitC) {
    const { emitFindings } = await import("./session.ts");
    const withTapes = summary.findings.flatMap((f) => {
      const t = tapes.find((x) => x.signature === f.signature);
      return t ? [{ ...f, tape: t.tape, facts: t.facts }] : [];
    });
    const crashTapes = crashes.flatMap((c) => {
      const t = tapes.find((x) => x.signature === c.signature);
      return t
        ? [{
          ...c,
          rule: c.signature.split("|")[0],
          situation: c.signature.split("|")[1],
          expected: ["no crash"],
          observed: "crash",
          tape: t.tape,
          facts: t.facts,
        }]
        : [];
    });
    emitFindings(o.emitC, [...withTapes, ...crashTapes]);
  }
  return doc;

  /** Shrinks a crashing sequence, one boot per try; keeps the tape of the last crash seen. */
  async function shrinkCrash(o: FuzzSurviveOptions, f: CrashFinding, dir: string, deadline: number) {
    const probe = join(dir, "crash-probe.json");
    const probeStream = resolve(join(dir, "crash-probe.jsonl"));
    let lastTape: TapeStep[] = [];
    const crashes = async (steps: Step[]): Promise<boolean> => {
      if (interruptedBy || deadline - performance.now() < BOOT_MS) return false;
      writeJson(probe, replayOf(o, f, steps));
      new JsonLines(probeStream).close();
      const argv = [...o.guestCli, "--replay", resolve(probe), "--survivor", probeStream, ...o.guestArgs];
      const { res, records } = await boot(argv, probeStream);
      const at = records.filter((r) => r.record === "at").at(-1);
      const c = crashOf(res);
      const same = !!c && `${at?.rule}|${at?.situation}|${c.cls}` === f.signature;
      if (same) lastTape = records.filter((r) => r.record === "tape").map((r) => r.step as TapeStep);
      return same;
    };
    let cur = f.steps;
    const slice = dependencySlice(cur, cur.length - 1);
    if (slice.length < cur.length && await crashes(slice)) cur = slice;
    const r = await shrink(cur, crashes, deadline - BOOT_MS);
    f.steps = r.items;
    f.step = r.items.length - 1;
    f.file = `crash--${f.signature.split("|").slice(0, 2).join("--")}.json`;
    writeJson(join(dir, f.file), replayOf(o, f, f.steps));
    if (lastTape.length) {
      tapes.push({ signature: f.signature, tape: { separatePd: true, steps: lastTape }, facts: {} });
    }
  }
}

/**
 * How a boot ended, if by a crash: the guest kernel's (panic, oops, hang: class "crash") or the guest
 * process's (killed by a signal, a provider's NULL dereference say: class "process-crash").
 */
export function crashOf(
  res: TestbedResult,
): { cls: string; what: string; panicLine: string | null; rip: string | null; callTrace: string[] } | null {
  const c = res.console.crash;
  if (c) return { cls: "crash", what: c.kind, panicLine: c.panicLine, rip: c.rip, callTrace: c.callTrace };
  const signal = res.code > 128 && res.code < 160 ? res.code - 128 : 0;
  if (!signal) return null;
  const name = { 6: "SIGABRT", 7: "SIGBUS", 11: "SIGSEGV" }[signal] ?? `signal ${signal}`;
  return {
    cls: "process-crash",
    what: "process",
    panicLine: `the memreg process died of ${name}`,
    rip: null,
    callTrace: [],
  };
}

function replayOf(o: FuzzSurviveOptions, f: CrashFinding, steps: Step[]): ReplayFile {
  const [rule, situation] = f.signature.split("|");
  return {
    tool: "memreg",
    kind: "fuzz-replay",
    version: 1,
    seed: o.seed,
    sequence: f.sequence,
    kernel: f.kernel ?? "",
    signature: f.signature,
    rule,
    situation,
    expected: ["no crash"],
    observed: "crash",
    step: steps.length - 1,
    steps,
    described: steps.map(describe),
  };
}

/** What a crash-surviving fuzz host takes from the user's command line for the guest and the boot. */
export type FuzzCli = GuestCli;

/** The guest's conformance command line and options, and a boot that watches the guest kernel. */
async function testbedFor(o: FuzzCli) {
  // The guest prints progress at least every 20 s; silence far beyond the slowest step is a hang.
  const { kernel, boot } = await watchedTestbed(o, 8 * o.stepDeadline + STALL_MARGIN_MS);
  const guestCli = [Deno.execPath(), "run", "-A", CLI, "conformance", "--no-testbed"];
  return { kernel, guestArgs: guestOptions(o), guestCli, boot };
}

/** --fuzz on a machine without an RDMA device: in the testbed, surviving crashes. Writes the result file. */
export async function fuzzInTestbed(
  o: FuzzCli & { seed: number; budgetMs: number; maxSequences?: number; out?: string; emitC?: string },
): Promise<{ doc: FuzzDoc; out: string }> {
  const t = await testbedFor(o);
  console.error(
    `no RDMA device present: fuzzing in the testbed (QEMU, kernel ${t.kernel.version}), surviving ` +
      `kernel crashes; seed ${o.seed}, budget ${o.budgetMs / 1000} s`,
  );
  using file = ResultFile.open({ out: o.out, kind: "fuzz", device: `${o.device ?? "rxe0"}-testbed` });
  const doc = await fuzzSurviving({ ...o, ...t, file, emitC: o.emitC ? resolve(o.emitC) : undefined });
  return { doc, out: file.finish(doc, doc) };
}

/** --replay on a machine without an RDMA device: one boot, watching for a crash (exit code, crash). */
export async function replayInTestbed(
  o: FuzzCli & { replay: string; emitC?: string },
): Promise<{ code: number; crash: ReturnType<typeof crashOf> }> {
  const t = await testbedFor(o);
  console.error(
    `running the replay in the testbed (QEMU, kernel ${t.kernel.version}), watching for a crash`,
  );
  const res = await t.boot([
    ...t.guestCli,
    "--replay",
    resolve(o.replay),
    ...t.guestArgs,
    ...(o.emitC ? ["--emit-c", resolve(o.emitC)] : []),
  ]);
  return { code: res.code, crash: crashOf(res) };
}
