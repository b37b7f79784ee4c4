// A whole run: open the device, write the header, run the selected cases (in process or isolated), apply the
// profile, and build the result document.
import { Context } from "../ffi/mod.ts";
import { type RunHeader, runHeader } from "../record/header.ts";
import { UsageError } from "../common/mod.ts";
import { type CaseDef, type CaseResult, forTransport } from "./model.ts";
import type { TapeStep } from "./tape.ts";
import { applyProfile, type CaseOptions, deviceCaps, notRunResult, runCase } from "./runner.ts";
import { runIsolated } from "./isolate.ts";
import { crashDeviation, type Profile, profileFor } from "./profile.ts";
import { countClasses, exitCodeFor, SCHEMA_VERSION, selectedIds, type SuiteDoc } from "./doc.ts";
import { SIGNAL_EXIT, stopRequested } from "../common/signals.ts";
import type { Severity } from "./severity.ts";
import { FIXTURE_RETRY } from "./fixture/mod.ts";

/** What a suite run needs: the device, the cases' options, the profile and the callbacks that stream it. */
export interface SuiteOptions extends CaseOptions {
  device?: string;
  cases: string | null;
  isolate: boolean;
  strict: boolean;
  /** Run the cases that can crash the kernel (the testbed survives it; a real host may not). */
  allowKernelCrash?: boolean;
  /** --fail-on: a deviation at or above this severity fails the run, even one the profile lists. */
  failOn?: Severity;
  /** Sees every tape step of a case that can crash the kernel, as it happens (crash survival streams it). */
  onRiskyTapeStep?: (id: string, step: TapeStep) => void;
  /** An explicit profile (--profile); otherwise the built-in one matching the device. */
  profile?: Profile;
  /** Called once the run header exists (before any case), e.g. to start streaming. */
  onHeader?: (header: RunHeader) => void;
  onResult?: (r: CaseResult, index: number, total: number) => void;
}

/** Opens the device and checks --port / --gid against it (bad values are usage errors). */
export function openDevice(o: { device?: string; port: number; gidIndex?: number }): Context {
  const ctx = Context.open(o.device);
  try {
    const ports = ctx.queryDevice().physPortCnt;
    if (o.port > ports) throw new UsageError(`--port ${o.port}: ${ctx.name} has ${ports} port(s)`);
    if (o.gidIndex !== undefined && !ctx.queryGid(o.port, o.gidIndex)) {
      throw new UsageError(`--gid ${o.gidIndex}: no GID at that index on ${ctx.name} port ${o.port}`);
    }
    return ctx;
  } catch (e) {
    ctx.close();
    throw e;
  }
}

/** Runs the cases in this process (or, with --isolate, each in a child) and returns the document. */
export async function runSuite(defs: readonly CaseDef[], o: SuiteOptions): Promise<SuiteDoc> {
  using ctx = openDevice(o);
  const t0 = performance.now();
  const header = { ...runHeader("conformance", SCHEMA_VERSION, ctx), selected: selectedIds(defs) };
  o.onHeader?.(header);
  const matched = o.profile ?? profileFor(ctx.name);
  const profile = o.strict ? null : matched;
  const caps = deviceCaps(ctx);
  const results: CaseResult[] = [];
  for (const [i, def] of defs.entries()) {
    if (stopRequested()) break; // SIGINT/SIGTERM: the cases run so far make the (interrupted) document
    // What can take the kernel down runs only where that is survived or explicitly allowed.
    const crash = crashDeviation(matched, def.id, header.host.kernel);
    const hold = (def.risk || crash) && !o.allowKernelCrash;
    const risky = (def.risk || crash) && o.onRiskyTapeStep;
    const opts = risky ? { ...o, onTapeStep: (s: TapeStep) => o.onRiskyTapeStep!(def.id, s) } : o;
    const r = hold ? notRunResult(def, crash, o.strict, caps.has("IWARP")) : applyProfile(
      o.isolate || def.isolate
        ? await runIsolated(forTransport(def, caps.has("IWARP")), { ...o, device: ctx.name })
        : await runCase(ctx, def, caps, opts),
      profile,
      o.strict,
      header.host.kernel,
    );
    // A child that the same Ctrl-C ended did not crash: its case was abandoned, not run.
    if (stopRequested() && (o.isolate || def.isolate) && (r.class === "crashed" || r.class === "timeout")) {
      break;
    }
    o.onResult?.(r, i, defs.length);
    results.push(r);
  }
  return suiteDoc(header, o, profile, results, t0, stopRequested());
}

/** The result document of a run's cases (the run's options, counts and exit code with them). */
export function suiteDoc(
  header: RunHeader & { kind: "conformance"; selected: string[] },
  o: Omit<SuiteOptions, "onResult">,
  profile: Profile | null,
  results: CaseResult[],
  t0: number,
  interruptedBy: "SIGINT" | "SIGTERM" | null,
  /** A run of two processes: whether it stopped early (a signal to either side), and the peer's signal. */
  pair?: { stopped: boolean; peer: "SIGINT" | "SIGTERM" | null },
): SuiteDoc {
  const signal = interruptedBy ?? pair?.peer ?? null;
  return {
    ...header,
    completed: interruptedBy === null && !pair?.stopped,
    interruptedBy,
    ...(pair ? { interruptedByPeer: pair.peer } : {}),
    run: {
      cases: o.cases,
      isolate: o.isolate,
      strict: o.strict,
      allowKernelCrash: !!o.allowKernelCrash,
      profile: profile ? { driver: profile.driver, file: profile.path?.replace(/^.*\//, "") ?? "" } : null,
      port: o.port,
      gidIndex: o.gidIndex ?? null,
      stepDeadlineMs: o.stepDeadlineMs,
      caseDeadlineMs: o.caseDeadlineMs,
      qpRetry: FIXTURE_RETRY,
      ...(o.failOn ? { failOn: o.failOn } : {}),
      wallMs: Math.round(performance.now() - t0),
      finishedAt: new Date().toISOString(),
    },
    counts: countClasses(results),
    exitCode: signal ? SIGNAL_EXIT[signal] : exitCodeFor(results, o.failOn),
    results,
  };
}
