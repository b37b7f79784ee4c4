// Runs cases: capabilities first, a fresh fixture per case, a deadline per case, everything released after,
// and a classification. Profiles and --strict are applied by the caller (the same for --isolate children).
import type { Context } from "../ffi/mod.ts";
import type { CapSet } from "./caps.ts";
import {
  CaseTimeout,
  Fixture,
  type FixtureOptions,
  NeedsOneProcess,
  StepFailed,
  Unsupported,
} from "./fixture/mod.ts";
import { compare } from "./outcome.ts";
import { KnownError } from "../common/mod.ts";
import { RULES } from "./rules.ts";
import {
  crashDeviation,
  type Deviation,
  matchDeviation,
  processCrashDeviation,
  type Profile,
} from "./profile.ts";
import { type CaseDef, type CaseResult, type Classification, forTransport, groupOf } from "./model.ts";

/** How cases are run: the fixture's options, deadlines and what to keep. */
export interface CaseOptions extends FixtureOptions {
  caseDeadlineMs: number;
  /** Attach each case's tape to its result (for --emit-c). */
  tape?: boolean;
  /** Makes the case's fixture (a split one, conformance/pair.ts); default: a loopback in this process. */
  fixture?: (def: CaseDef) => Promise<Fixture>;
}

/** Why a case that needs both ends in one process is not run by a two-process run. */
export const NEEDS_ONE_PROCESS = "not run: needs both ends in one process";

/** The capabilities of the device that cases can ask for (conformance/caps.ts). */
export { deviceCaps } from "./caps.ts";

/**
 * The parts of a result that come from the case's definition, as checked on the device's transport (`iwarp`:
 * the case's iWARP rule and outcomes where it has them).
 */
export function baseResult(
  caseDef: CaseDef,
  iwarp = false,
): Omit<CaseResult, "class" | "observed" | "durationMs"> {
  const def = forTransport(caseDef, iwarp);
  return {
    id: def.id,
    group: groupOf(def.id),
    title: def.title,
    rule: def.rule,
    source: RULES[def.rule].source,
    ruleText: RULES[def.rule].text,
    ...(def.also?.length ? { also: def.also.map((rule) => ({ rule, source: RULES[rule].source })) } : {}),
    level: def.level,
    setup: def.setup,
    provoke: def.provoke,
    expected: def.expect ?? [],
  };
}

/** The case's own deadline where it needs a longer one than the run's. */
export function caseDeadline(def: CaseDef, runDeadlineMs: number): number {
  return Math.max(def.deadlineMs ?? 0, runDeadlineMs);
}

/** Runs one case in this process. */
export async function runCase(
  ctx: Context,
  caseDef: CaseDef,
  caps: CapSet,
  opts: CaseOptions,
): Promise<CaseResult> {
  // Results and the comparison both read the rule and outcomes of the device's transport.
  const def = forTransport(caseDef, caps.has("IWARP"));
  const t0 = performance.now();
  const done = (cls: Classification, extra: Partial<CaseResult> = {}): CaseResult => ({
    ...baseResult(def),
    class: cls,
    observed: {},
    durationMs: Math.round(performance.now() - t0),
    ...extra,
  });
  const lacking = caps.lacking(def.needs ?? []);
  if (lacking) return done("unsupported", { reason: lacking });

  let f: Fixture;
  try {
    f = opts.fixture ? await opts.fixture(def) : new Fixture(ctx, opts, def.separatePd);
  } catch (e) {
    if (e instanceof NeedsOneProcess) {
      return done("unsupported", { reason: `${NEEDS_ONE_PROCESS} (${e.message})` });
    }
    if (opts.fixture && e instanceof KnownError) throw e; // the other process is gone: the run ends
    return done("error", { reason: `fixture: ${(e as Error).message}` });
  }
  const outcome = await runWithDeadline(f, def, caseDeadline(def, opts.caseDeadlineMs));
  let cleanup: string | undefined;
  try {
    f.close();
  } catch (e) {
    cleanup = (e as Error).message;
  }
  const observed = { ...f.facts };
  const notes = f.notes.length ? { notes: f.notes } : {};
  const tape = opts.tape ? { tape: f.tape() } : {};
  const r = done(outcome.cls, { observed, ...outcome.extra, ...notes, ...tape });
  // Releasing what a case made is the harness's job: failing to is a harness fault, whatever the case said.
  if (cleanup) return { ...r, class: "error", reason: [r.reason, cleanup].filter(Boolean).join("; ") };
  return r;
}

async function runWithDeadline(
  f: Fixture,
  def: CaseDef,
  deadlineMs: number,
): Promise<{ cls: Classification; extra?: Partial<CaseResult> }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A case that throws before its first await (a synchronous body) rejects like any other.
  const run = Promise.resolve().then(() => def.run(f)).then(() => null, (e) => e as Error);
  const expired = new Promise<"expired">((r) => timer = setTimeout(() => r("expired"), deadlineMs));
  let err = await Promise.race([run, expired]);
  clearTimeout(timer);
  if (err === "expired") {
    // Stop the case's waits and let it unwind before its objects are released under it.
    f.abort();
    err = (await run) ?? new CaseTimeout(`the case ran past its ${deadlineMs} ms deadline`);
  }
  if (err instanceof NeedsOneProcess) {
    return { cls: "unsupported", extra: { reason: `${NEEDS_ONE_PROCESS} (${err.message})` } };
  }
  if (err instanceof Unsupported) return { cls: "unsupported", extra: { reason: err.message } };
  if (err instanceof CaseTimeout) return { cls: "timeout", extra: { reason: err.message } };
  if (err instanceof StepFailed) return { cls: "fail", extra: { mismatches: [err.message] } };
  if (err) return { cls: "error", extra: { reason: `${err.name}: ${err.message}` } };
  if (def.level === "observe") return { cls: "observed" };
  const m = compare(def.expect ?? [], f.facts);
  return m ? { cls: "fail", extra: { mismatches: m } } : { cls: "pass" };
}

/**
 * A failing case whose facts match a deviation of the profile becomes `known` (not under --strict); a
 * `kernel-crash` or `crashed` case keeps its class and carries the profile's crash deviation if there is one.
 */
export function applyProfile(
  r: CaseResult,
  profile: Profile | null,
  strict: boolean,
  kernel: string,
): CaseResult {
  if (strict || !["fail", "kernel-crash", "crashed"].includes(r.class)) return r;
  const d = r.class === "fail"
    ? matchDeviation(profile, r.id, r.observed, kernel)
    : r.class === "crashed"
    ? processCrashDeviation(profile, r.id, kernel)
    : crashDeviation(profile, r.id, kernel);
  if (!d) return r;
  const deviation = { verdict: d.verdict, reason: d.reason, evidence: d.evidence };
  return r.class === "fail" ? { ...r, class: "known", deviation } : { ...r, deviation };
}

/**
 * A case that can take the kernel down, not run because nothing here survives that (a real host without
 * --allow-kernel-crash): `known` when the profile records the crash (a failure under --strict), otherwise
 * `unsupported` with the reason and the flag that runs it.
 */
export function notRunResult(def: CaseDef, d: Deviation | null, strict: boolean, iwarp = false): CaseResult {
  const r = { ...baseResult(def, iwarp), observed: {}, durationMs: 0 };
  const why = `not run: provoking it can crash the kernel (${d?.reason ?? def.risk}); ` +
    "--allow-kernel-crash runs it (the testbed survives a crash: it reboots and goes on)";
  if (!d) return { ...r, class: "unsupported", reason: why };
  const deviation = { verdict: d.verdict, reason: d.reason, evidence: d.evidence };
  return strict
    ? { ...r, class: "fail", mismatches: [why] }
    : { ...r, class: "known", reason: why, deviation };
}
