// Crash survival: on a machine without an RDMA device, conformance runs in the testbed under this host-side
// orchestrator. The guest streams each result to a .jsonl file on the host's disk (durably: a record written
// before a kernel crash survives it). When the guest kernel panics, oopses or hangs, the case in flight is
// classified `kernel-crash` with the console's evidence, the testbed boots again, and the run goes on with
// the next case: one result document and one stream for the whole run.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runInTestbedResult, type TestbedResult } from "../testbed/vm.ts";
import { forwardedEnv, prepareTestbed } from "../testbed/relaunch.ts";
import type { UserPath } from "../testbed/shares.ts";
import { readJsonLines } from "../record/stream.ts";
import type { RunHeader } from "../record/header.ts";
import { ResultFile } from "../record/result_file.ts";
import { KnownError } from "../common/mod.ts";
import { SIGNAL_EXIT, signalOfExit, type StopSignal } from "../common/signals.ts";
import type { TapeStep } from "./tape.ts";
import type { Severity } from "./severity.ts";
import type { CaseDef, CaseResult, CaseRun, CrashEvidence } from "./model.ts";
import { applyProfile, baseResult, caseDeadline } from "./runner.ts";
import { FIXTURE_RETRY } from "./fixture/mod.ts";
import { type Profile, profileFor } from "./profile.ts";
import {
  type BootRecord,
  countClasses,
  exitCodeFor,
  SCHEMA_VERSION,
  selectedIds,
  type SuiteDoc,
  withoutTapes,
} from "./doc.ts";
import type { ConsoleCrash } from "../testbed/crash.ts";
import { transportName, TransportType } from "../ffi/constants.ts";

/** A conformance run under crash survival: the cases, the result file, the guest's options and the boot. */
export interface SurviveOptions {
  /** The cases to run. */
  defs: readonly CaseDef[];
  /** The run's result file (opened fresh): the guests append to its stream; the caller finishes it. */
  file: ResultFile;
  /** The conformance options for the guest, without --cases (e.g. ["--port", "1", "--isolate"]). */
  guestArgs: string[];
  /** An explicit profile (--profile); otherwise the built-in one matching the device. */
  profile?: Profile;
  /** Ignore profiles: every deviation is a failure. */
  strict: boolean;
  /** Boots a testbed with a command (testbed/vm.ts runInTestbedResult, or a stand-in in tests). */
  boot: (argv: string[]) => Promise<TestbedResult>;
  /** What goes in run.cases / isolate / … of the document. */
  run: Omit<SuiteDoc["run"], "wallMs" | "finishedAt" | "boots" | "profile">;
  /** Sees each result as the host learns it. */
  onResult?: (r: CaseResult, index: number, total: number) => void;
  /** At most this many boots (a guard against a testbed that fails before any case). */
  maxBoots?: number;
}

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

/** The guest command for the cases still to run. */
export function guestCommand(ids: string[], stream: string, guestArgs: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    CLI,
    "conformance",
    "--no-testbed",
    "--survivor",
    stream,
    "--allow-kernel-crash",
    "--cases",
    ids.join(","),
    ...guestArgs,
  ];
}

/** Whether the run's device (from its header, once a boot wrote one) is iWARP: its cases' iWARP rules apply. */
function iwarpRun(header: RunHeader | null): boolean {
  return header?.device.transport === transportName(TransportType.IWARP);
}

/** The kernel-crash result of the case that was running when the kernel went down. */
export function crashResult(
  def: CaseDef,
  crash: ConsoleCrash,
  kernel: string,
  boot: number,
  durationMs: number,
  iwarp = false,
): CaseResult {
  const evidence: CrashEvidence = { ...crash, kernel, boot };
  const what = crash.kind === "hang" ? "kernel hang (no progress)" : `kernel ${crash.kind}`;
  const reason = [what, crash.panicLine, crash.rip].filter(Boolean).join(": ");
  return {
    ...baseResult(def, iwarp),
    class: "kernel-crash",
    observed: { crash: crash.kind },
    reason,
    crash: evidence,
    durationMs,
  };
}

/** Runs `defs` in as many testbed boots as crashes make necessary; builds one document from the stream. */
export async function runSurviving(o: SurviveOptions): Promise<SuiteDoc> {
  const t0 = performance.now();
  // The guests run elsewhere (their working directory is not this one).
  const stream = resolve(o.file.stream);
  const done = new Map<string, CaseResult>();
  const boots: BootRecord[] = [];
  let header: RunHeader | null = null;
  const maxBoots = o.maxBoots ?? o.defs.length + 2;
  let lastCode = 0;
  const report = (r: CaseResult) => o.onResult?.(r, done.size - 1, o.defs.length);

  for (let boot = 1; boot <= maxBoots; boot++) {
    const todo = o.defs.filter((d) => !done.has(d.id));
    if (todo.length === 0) break;
    const started = performance.now();
    const res = await o.boot(guestCommand(todo.map((d) => d.id), stream, o.guestArgs));
    lastCode = res.code;
    const before = done.size;
    for (const rec of readJsonLines(stream)) {
      if ((rec.record === "header" || rec.record === "boot") && !header) header = rec as unknown as RunHeader;
      if (rec.record === "case" && !done.has(rec.id as string)) {
        const { record: _, ...r } = rec;
        done.set(r.id as string, r as unknown as CaseResult);
        report(r as unknown as CaseResult);
      }
    }
    const finished = done.size - before;
    const crash = res.console.crash;
    const ended: BootRecord["ended"] = crash
      ? crash.kind
      : signalOfExit(res.code)
      ? "interrupted"
      : res.code === 0 || res.code === 1
      ? "completed"
      : "failed";
    boots.push({ kernel: res.kernel, cases: finished, ended, warnings: res.console.warnings });
    if (ended === "interrupted") break;
    const inFlight = o.defs.find((d) => !done.has(d.id));
    if (crash && inFlight) {
      const kernel = header?.host.kernel ?? res.kernel;
      const profile = o.strict ? null : o.profile ?? (header ? profileFor(header.device.name) : null);
      const r = applyProfile(
        crashResult(inFlight, crash, kernel, boot, Math.round(performance.now() - started), iwarpRun(header)),
        profile,
        o.strict,
        kernel,
      );
      o.file.write({ record: "case", ...r });
      done.set(r.id, r);
      report(r);
      continue;
    }
    // The guest process died of a signal (a provider's NULL dereference in user space, say) during a case:
    // that case crashed, the kernel did not; the next boot goes on with the rest.
    const signal = res.code > 128 && res.code < 160 ? res.code - 128 : 0;
    if (signal && inFlight && finished + done.size > 0) {
      const r = applyProfile(
        {
          ...baseResult(inFlight, iwarpRun(header)),
          class: "crashed",
          observed: { crash: "process" },
          reason: `the process running it died of signal ${signal}${signal === 11 ? " (SIGSEGV)" : ""}`,
          durationMs: Math.round(performance.now() - started),
        },
        o.strict ? null : o.profile ?? (header ? profileFor(header.device.name) : null),
        o.strict,
        header?.host.kernel ?? res.kernel,
      );
      o.file.write({ record: "case", ...r });
      done.set(r.id, r);
      report(r);
      continue;
    }
    // No crash: the guest ended by itself. Cases it did not report (it failed before them) are errors.
    if (finished === 0 || ended !== "completed") {
      for (const d of o.defs.filter((d) => !done.has(d.id))) {
        const r: CaseResult = {
          ...baseResult(d, iwarpRun(header)),
          class: "error",
          observed: {},
          reason: `not run: the testbed ended (exit ${res.code}) without a result for it and without a crash`,
          durationMs: 0,
        };
        o.file.write({ record: "case", ...r });
        done.set(d.id, r);
        report(r);
      }
    }
  }
  const results = o.defs.flatMap((d) => done.get(d.id) ?? []);
  if (!header) throw new KnownError("crash survival: no testbed boot got as far as the run header");
  const profile = o.strict ? null : o.profile ?? profileFor(header.device.name);
  const interrupted = boots.at(-1)?.ended === "interrupted";
  const interruptedBy: StopSignal | null = interrupted ? signalOfExit(lastCode) : null;
  return {
    ...header,
    kind: "conformance",
    schemaVersion: SCHEMA_VERSION,
    selected: selectedIds(o.defs),
    completed: results.length === o.defs.length && !interrupted,
    interruptedBy,
    run: {
      ...o.run,
      allowKernelCrash: true,
      boots,
      profile: profile ? { driver: profile.driver, file: profile.path?.replace(/^.*\//, "") ?? "" } : null,
      wallMs: Math.round(performance.now() - t0),
      finishedAt: new Date().toISOString(),
    },
    counts: countClasses(results),
    exitCode: interruptedBy ? SIGNAL_EXIT[interruptedBy] : exitCodeFor(results, o.run.failOn),
    results,
  };
}

/** Beyond the slowest case's deadline, how long a guest may be silent before it counts as hung (an
 * --isolate child's start in the emulated guest included). */
export const STALL_MARGIN_MS = 120_000;

/** What a crash-surviving host takes from the user's command line for the guest and the boot. */
export interface GuestCli {
  /** The testbed kernel to boot (--kernel). */
  kernel?: string;
  /** The RDMA device (--device). */
  device?: string;
  /** The port number (--port). */
  port: number;
  /** The GID index (--gid). */
  gid?: number;
  /** The longest wait for one completion (ms). */
  stepDeadline: number;
  /** Ignore profiles (--strict). */
  strict: boolean;
  /** The --profile file, handed to the guest. */
  profilePath?: string;
  /** The --profile file's profile, for the host's classification of crashes. */
  profile?: Profile;
  /** The paths the user gave (shared into the guest; refused before the boot when it cannot serve them). */
  paths?: UserPath[];
}

/** What a crash-surviving conformance host takes from the user's command line. */
export interface SurviveCli extends GuestCli {
  /** The document's path (--out); a default under results/ when absent. */
  out?: string;
  /** The longest time for one case (ms). */
  caseDeadline: number;
  /** Each case in its own child process. */
  isolate: boolean;
  /** The --cases patterns, or null for all. */
  cases: string | null;
  /** Attach tapes (for --emit-c). */
  tape: boolean;
  /** --fail-on: recorded in the document, it sets its exit code (the guest is not told). */
  failOn?: Severity;
  /** Sees each result as the host learns it. */
  onResult?: SurviveOptions["onResult"];
}

/** The conformance options a crash-surviving guest gets from the user's (device, fixture, profile). */
export function guestOptions(o: GuestCli): string[] {
  return [
    ...["--port", String(o.port), "--step-deadline", String(o.stepDeadline)],
    ...(o.gid !== undefined ? ["--gid", String(o.gid)] : []),
    ...(o.device ? ["--device", o.device] : []),
    ...(o.strict ? ["--strict"] : []),
    ...(o.profilePath ? ["--profile", resolve(o.profilePath)] : []),
  ];
}

/**
 * The testbed under crash watch, after what the relaunch refuses before a boot: each boot runs argv with the
 * user's paths shared and `oops=panic`, and a guest silent for stallMs is hung.
 */
export async function watchedTestbed(o: GuestCli, stallMs: number) {
  const { kernel, shares } = await prepareTestbed(o);
  const boot = (argv: string[]) =>
    runInTestbedResult(argv, {
      kernel: kernel.version,
      env: forwardedEnv(),
      quiet: true,
      shares,
      watchKernel: true,
      stallMs,
    });
  return { kernel, boot };
}

/**
 * No RDMA device here: the run goes to the testbed under crash survival. Each boot runs the cases still to
 * do; a kernel crash or hang classifies the case in flight and boots again. Writes the document and the
 * stream's end; returns the document and where it went.
 */
export async function surviveInTestbed(
  defs: CaseDef[],
  o: SurviveCli,
): Promise<{ doc: SuiteDoc; out: string }> {
  // A guest that prints nothing for longer than the slowest case may take is hung.
  const stallMs = Math.max(...defs.map((d) => caseDeadline(d, o.caseDeadline))) + STALL_MARGIN_MS;
  const { kernel, boot } = await watchedTestbed(o, stallMs);
  console.error(
    `no RDMA device present: running in the testbed (QEMU, kernel ${kernel.version}), surviving ` +
      "kernel crashes",
  );
  using file = ResultFile.open({ out: o.out, kind: "conformance", device: `${o.device ?? "rxe0"}-testbed` });
  const guestArgs = [
    ...guestOptions(o),
    ...["--case-deadline", String(o.caseDeadline)],
    ...(o.isolate ? ["--isolate"] : []),
    ...(o.tape ? ["--tape"] : []),
  ];
  const doc = await runSurviving({
    defs,
    file,
    guestArgs,
    profile: o.profile,
    strict: o.strict,
    boot,
    run: {
      cases: o.cases,
      isolate: o.isolate,
      strict: o.strict,
      port: o.port,
      gidIndex: o.gid ?? null,
      stepDeadlineMs: o.stepDeadline,
      caseDeadlineMs: o.caseDeadline,
      qpRetry: FIXTURE_RETRY,
      ...(o.failOn ? { failOn: o.failOn } : {}),
    },
    onResult: o.onResult,
  });
  // A crashed case's tape is what its steps streamed before the kernel went down.
  const recs = readJsonLines(file.stream);
  for (const r of (doc.results as CaseRun[]).filter((r) => r.class === "kernel-crash" && !r.tape)) {
    const steps = recs.filter((x) => x.record === "tape" && x.id === r.id).map((x) => x.step as TapeStep);
    if (steps.length) r.tape = { separatePd: !!defs.find((d) => d.id === r.id)?.separatePd, steps };
  }
  return { doc, out: file.finish(withoutTapes(doc), doc) };
}
