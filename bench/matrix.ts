// The steps every `memreg bench` run walks, in one process (bench/run.ts) or as one side of a pair
// (bench/pair/run.ts): header, empty-cycle overhead, the matrix of points, the late-access checks, regcost,
// calibration, regscale, the document and the end record. The step sequence, the progress bar, stop handling,
// a step's failure as a whole and the result file live here once; a StepRunner says how each step runs on its
// side.
import type { RunHeader } from "../record/header.ts";
import { ResultFile } from "../record/result_file.ts";
import { pairNumber } from "../record/pair.ts";
import { fmtSize } from "../common/mod.ts";
import type { StopSignal } from "../common/signals.ts";
import { type BenchConfig, type Layout, LAYOUT_STRATEGIES, matrix } from "./config.ts";
import type { Overhead } from "./overhead.ts";
import type { Failure, PointKey, PointResult } from "./point.ts";
import { lateAccessFailed, lateAccessKey, type LateAccessResult } from "./revocation.ts";
import { regcostRecord, type RegcostResult, RegcostStopped, runRegcost } from "./regcost.ts";
import { type Calibration, calibrationRecord } from "./calibrate.ts";
import {
  type RegscaleCurve,
  type RegscaleHead,
  type RegscalePart,
  regscaleRecord,
  type RegscaleResult,
  unplannedHead,
  type WorkerCurve,
} from "./regscale.ts";
import type { Rig } from "./rig.ts";
import { makeStrategy } from "./strategies/mod.ts";
import { progress } from "./progress.ts";
import { Verifier } from "./verify.ts";
import { type BenchDoc, plannedPoints, type StrategyInfo } from "./doc.ts";

/** The strategies of the run, one entry per layout each runs in. */
export function strategyInfo(cfg: Pick<BenchConfig, "strategies" | "layouts">): StrategyInfo[] {
  return cfg.layouts.flatMap((layout: Layout) =>
    LAYOUT_STRATEGIES[layout].filter((n) => cfg.strategies.includes(n)).map((name) => {
      const s = makeStrategy(name, layout);
      return {
        name,
        layout,
        revokes: s.revokes,
        keysValidBetweenIos: !s.revokes,
        keyEnd: s.keyEnd,
        notice: s.notice,
        note: s.note,
      };
    })
  );
}

/** The document's `verification`: how the data of every I/O was checked. */
export function verificationNote(cfg: BenchConfig): string {
  const v = new Verifier(cfg.verify);
  return cfg.verify === "full"
    ? "every byte of every I/O checked against an xorshift pattern (O(size) per I/O, inside the wall-clock figures)"
    : `sampled: a 32-bit stamp of the I/O's sequence number at every 4 KiB of the transfer plus its last word ` +
      `(${v.checkedPerIo(4096).count} words per 4 KiB I/O), checked by the receiver of the data on every I/O`;
}

/** What the progress line calls a point. */
export function pointLabel(k: PointKey): string {
  return `${k.strategy} ${k.op} ${fmtSize(k.size)} ${
    k.layout === "pages" ? `page list (pool ${fmtSize(k.buffers * 4096)})` : k.pages
  } qd${k.depth}${k.sweep ? ` sweep ${k.buffers} buffers` : ""}`;
}

/** The progress line of a finished point; null for an unsupported one whose reason was said already. */
export function pointLine(p: PointResult, what: string, told: Set<string>): string | null {
  if (p.status === "ok") {
    return `${what}: ${p.iops.toFixed(1)} IO/s, p50 ${(p.latency.p50Ns / 1000).toFixed(1)} µs`;
  }
  // The same reason for every point of a strategy (odp on a device without ODP) is said once.
  const key = `${p.strategy} ${p.status} ${p.reason?.message}`;
  if (p.status === "unsupported" && told.has(key)) return null;
  told.add(key);
  const later = p.status === "unsupported"
    ? ` (said once; later ${p.strategy} points are skipped quietly)`
    : "";
  return `${what}: ${p.status}: ${p.reason?.message}${later}`;
}

/** How a bench run ended, for the command: its document and what the exit status depends on. */
export interface BenchOutcome {
  out: string;
  doc: BenchDoc;
  failed: number;
  /** Late accesses that ran and did not revoke (a check that failed as a whole is in stepsFailed). */
  notRevoked: number;
  /** The steps after the matrix that failed as a whole, one line each: "calibration failed: …". */
  stepsFailed: string[];
  /** The signal that stopped the run early (the document then says completed: false). */
  interruptedBy: StopSignal | null;
  /** A pair's run stopped because the other side got a signal: that one (bench/pair/run.ts). */
  interruptedByPeer?: StopSignal | null;
  points: number;
  of: number;
  /** How far the run got, for the line a signal ends it with: "2 of 6 points", "regscale 1 of 5 curves". */
  progress: string;
}

/** The outcome of a written document (`of`: the points the matrix has). */
export function outcome(out: string, doc: BenchDoc, of: number): BenchOutcome {
  return {
    out,
    doc,
    failed: doc.results.filter((p) => p.status === "failed").length,
    notRevoked: doc.revocation.filter((c) => !c.revoked && !c.reason).length,
    stepsFailed: failedSteps(doc),
    interruptedBy: doc.interruptedBy,
    ...(doc.interruptedByPeer !== undefined ? { interruptedByPeer: doc.interruptedByPeer } : {}),
    points: doc.results.length,
    of,
    progress: progressOf(doc, of),
  };
}

/** The progress name of a late access, also its failure's; a merged document's names its pair. */
export function lateAccessLabel(c: { strategy: string; layout?: string; pair?: number }): string {
  return `late access ${c.strategy}${c.layout === "pages" ? " (page layout)" : ""}${
    c.pair !== undefined ? ` of pair ${c.pair}` : ""
  }`;
}

/** The one line of a step that failed as a whole: "regcost failed: ibv_reg_mr failed: ENOMEM (…)". */
export function failedLine(what: string, reason: Failure): string {
  return `${what} failed: ${reason.message.replace(/\s*\n\s*/g, " ")}`;
}

/**
 * The steps of a document that failed as a whole (their records say why), one line each. A merged Slurm
 * document: every pair's (its late accesses are tagged; its regcost and calibration are in `pairs`).
 */
export function failedSteps(
  doc: Pick<BenchDoc, "revocation" | "regcost" | "calibration" | "regscale" | "pairs">,
): string[] {
  type Run = Pick<BenchDoc, "regcost" | "calibration">;
  const runs: [string, Run][] = doc.pairs?.length
    ? doc.pairs.map((p, i) => [` of pair ${pairNumber(p, i)}`, p])
    : [["", doc]];
  const steps: [string, { reason?: Failure } | null | undefined][] = [
    ...doc.revocation.map((c): [string, typeof c] => [lateAccessLabel(c), c]),
    ...runs.flatMap(([of, r]): [string, { reason?: Failure } | null][] => [
      [`regcost${of}`, r.regcost],
      [`calibration${of}`, r.calibration],
    ]),
    ["regscale", doc.regscale],
  ];
  return steps.flatMap(([what, r]) => r?.reason ? [failedLine(what, r.reason)] : []);
}

/** How far a run got: its points, and the regscale curves that ended before a signal. */
export function progressOf(doc: Pick<BenchDoc, "results" | "regscale">, of: number): string {
  const parts = of ? [`${doc.results.length} of ${of} points`] : [];
  const rs = doc.regscale;
  if (rs) {
    const all = [...rs.curves, ...rs.workers];
    const ended = all.filter((c) => c.end.status !== "stopped").length;
    parts.push(`regscale ${ended} of ${all.length} curves`);
  } else if (rs === null) parts.push("regscale not started");
  return parts.join(", ") || "its start";
}

/** A step that did not run: this side or the peer was stopped by a signal. */
export const STOPPED = Symbol("stopped");
/** A step's result, or STOPPED. */
export type OrStopped<T> = T | typeof STOPPED;

/** The samples regcost takes at least per measurement and side. */
const REGCOST_SAMPLES_MIN = 3;

/** The record of a regcost that failed as a whole with `error` (a pair's server sends it as its figures). */
export function regcostFailed(cfg: BenchConfig, error: unknown): RegcostResult {
  const o = { samplesMin: REGCOST_SAMPLES_MIN, budgetMs: cfg.regcostBudgetMs };
  return regcostRecord(o, { ran: false, reason: "regcost failed before it measured" }, [], [], error);
}

/**
 * Regcost on `rig` with the run's settings; STOPPED when `stopped()` turns true at one of its measurements
 * (regcost is one long step: a signal abandons it there, and what it holds is released).
 */
export function measureRegcost(
  rig: Rig,
  cfg: BenchConfig,
  stopped: () => boolean,
  step: (what: string) => void,
): OrStopped<RegcostResult> {
  try {
    return runRegcost(rig, {
      maxBytes: cfg.regcostMaxBytes,
      pages: cfg.pages,
      budgetMs: cfg.regcostBudgetMs,
      samplesMin: REGCOST_SAMPLES_MIN,
      reference: cfg.reference,
      onProgress: (what) => {
        if (stopped()) throw new RegcostStopped();
        step(what);
      },
    });
  } catch (e) {
    if (e instanceof RegcostStopped) return STOPPED;
    throw e;
  }
}

/** How the run ended, as its side tells it after the steps (a pair: after its closing exchange). */
export interface StepsEnd {
  completed: boolean;
  interruptedBy: StopSignal | null;
  /** A pair's: the peer's signal (left out by one process). */
  interruptedByPeer?: StopSignal | null;
  /** What the peer handed over while winding down: the server's overhead and regcost. */
  overhead?: Overhead;
  regcost?: RegcostResult;
}

/** How the steps of a run are run on one side: in one process, or with the other process of a pair. */
export interface StepRunner {
  /** Where the overhead record goes: first (this side's own figures) or last (a pair's: the server's). */
  readonly overheadAtEnd: boolean;
  /** The progress label of the regcost step. */
  readonly regcostLabel: string;
  /** The side's rig is ready (after the header record): its empty-cycle overhead. */
  begin(): Overhead;
  /** true when the next step must not start (a signal; in a pair also the peer's stop). */
  stopping(): boolean;
  /** One point of the matrix (`index` in matrix order). */
  point(index: number, key: PointKey): Promise<OrStopped<PointResult>>;
  /**
   * After a point (`failed` false: the rig is rebuilt where the point left it broken) or a step that failed as
   * a whole (`failed`: rebuilt, since the step may have left its QPs in ERR): a line of the side's own (a rig
   * that could not be rebuilt), or null.
   */
  afterStep(what: string, failed: boolean): string | null;
  /** A revoking strategy's late access (`index` continues the matrix's). */
  lateAccess(index: number, key: PointKey): Promise<OrStopped<LateAccessResult>>;
  /** Regcost; null when the pair's server had none to send. */
  regcost(step: (what: string) => void): Promise<OrStopped<RegcostResult | null>>;
  /**
   * The perftest calibration; absent where the side has none (a pair). A step that throws is recorded as
   * failed by runSteps; one that fails part-way may instead return its record with the reason and what it
   * measured (runCalibration), as any step may.
   */
  calibrate?(points: PointResult[]): Promise<Calibration>;
  /**
   * --regscale; absent where the side has none (a pair). `say` prints a line (the plan) beside the bar; `part`
   * streams each part as it ends. A signal ends the sweep at its next step with what was measured.
   */
  regscale?(
    step: (what: string) => void,
    say: (line: string) => void,
    part: (p: RegscalePart) => void,
  ): Promise<RegscaleResult>;
  /** true for an error that means the peer stopped (this side then stops too), not a failure. */
  stoppedBy(e: unknown): boolean;
  /**
   * true for an error that ends the run rather than the step it came from (a pair's broken channel: the peer
   * is no longer in step, so no later step could run with it).
   */
  endsRun(e: unknown): boolean;
  /** After the steps (`stopped`: one of them did not run): the side's closing, and how the run ended. */
  end(stopped: boolean): Promise<StepsEnd>;
}

/** What a run's steps need besides its side. */
export interface StepsOptions {
  cfg: BenchConfig;
  /** The document's opening: the run header (a pair's names both sides). */
  head: RunHeader & { kind: "bench" };
  /** The device part of a default result path (results/bench-DEVICE-STAMP.json). */
  device: string;
  quiet: boolean;
  /** The document's `verification`. */
  verification: string;
  /** A side-by-side run's device: its progress lines say which (one line per step, never a bar). */
  label?: string;
}

/** Runs a bench run's steps on `side` and writes its stream, document and end record. */
export async function runSteps(o: StepsOptions, side: StepRunner): Promise<BenchOutcome> {
  const { cfg } = o;
  // What a reader of an incomplete document names as missing, without the engine (reports/ reads documents).
  const head = { ...o.head, planned: plannedPoints(cfg) };
  using file = ResultFile.open({ out: cfg.out, kind: "bench", device: o.device });
  file.write({ record: "header", ...head, config: cfg });
  let overhead = side.begin();
  if (!side.overheadAtEnd) file.write({ record: "overhead", ...overhead });

  const keys = matrix(cfg);
  const revoking = strategyInfo(cfg).filter((s) => s.revokes);
  const calibrate = cfg.calibrate && side.calibrate ? side.calibrate.bind(side) : null;
  const regscaleRun = cfg.regscale && side.regscale ? side.regscale.bind(side) : null;
  const bar = await progress(
    keys.length + (cfg.revocationCheck ? revoking.length : 0) + (cfg.regcost ? 1 : 0) + (calibrate ? 1 : 0) +
      (regscaleRun ? 1 : 0),
    o.quiet,
    o.label,
  );
  const points: PointResult[] = [];
  const checks: LateAccessResult[] = [];
  let regcost: RegcostResult | null = null;
  let calibration: Calibration | null = null;
  let regscale: RegscaleResult | null = null;
  const told = new Set<string>();
  let stopped = false;
  /** Whether the next step may start (false once this side or its peer stops). */
  const go = () => !(stopped ||= side.stopping());
  /**
   * One step after the matrix, its record streamed as `record`. A throw (not the peer's stop, nor a fault that
   * ends the run) is the step's failure as a whole: `failed` makes its record with the reason (the verb and
   * errno of a VerbsError). A record that says it failed (thrown, or returned so by the step with what it
   * measured, as runCalibration and runRegcost do) is one line, and the side rebuilds what the step may have
   * left in ERR; the run goes on. `line` says any other record (null: nothing to record).
   */
  const step = async <T extends { reason?: Failure }>(
    what: string,
    record: string,
    run: () => Promise<OrStopped<T | null>>,
    failed: (e: unknown) => T,
    line: (r: T | null) => string | null = () => null,
  ): Promise<OrStopped<T | null>> => {
    bar.step(what);
    let r: OrStopped<T | null>;
    try {
      r = await run();
    } catch (e) {
      if (side.stoppedBy(e) || side.endsRun(e)) throw e;
      r = failed(e);
    }
    if (r === STOPPED) {
      stopped = true;
      return r;
    }
    if (r) file.write({ record, ...r });
    const said = line(r);
    bar.done(r?.reason ? failedLine(what, r.reason) : said === null ? what : `${what}: ${said}`);
    // Thrown, or recorded with what it measured: either way its QPs may be in ERR.
    const note = r?.reason ? side.afterStep(what, true) : null;
    if (note !== null) bar.done(note);
    return r;
  };
  try {
    for (const [i, k] of keys.entries()) {
      if (!go()) break;
      const what = pointLabel(k);
      bar.step(what);
      const p = await side.point(i, k);
      if (p === STOPPED) {
        stopped = true;
        break;
      }
      points.push(p);
      file.write({ record: "point", ...p });
      bar.done(pointLine(p, what, told));
      const note = side.afterStep(what, false);
      if (note !== null) bar.done(note);
    }
    if (cfg.revocationCheck) {
      for (const [j, info] of revoking.entries()) {
        if (!go()) break;
        const key = lateAccessKey(info.name, cfg.ops[0], info.layout);
        // Both sides of a pair know which points ran: the results are the same on both.
        const ran = points.some((p) =>
          p.strategy === info.name && p.layout === info.layout && p.status === "ok"
        );
        const c = await step(
          lateAccessLabel({ strategy: info.name, layout: info.layout }),
          "revocation",
          () => ran ? side.lateAccess(keys.length + j, key) : Promise.resolve(null),
          (e) => lateAccessFailed(key, e),
          (c) => c ? c.status : "skipped (strategy did not run)",
        );
        if (c === STOPPED) break;
        if (c) checks.push(c);
      }
    }
    if (cfg.regcost && go()) {
      const rc = await step(
        side.regcostLabel,
        "regcost",
        () => side.regcost(bar.step),
        (e) => regcostFailed(cfg, e),
      );
      if (rc !== STOPPED) regcost = rc;
    }
    if (calibrate && go()) {
      const cal = await step(
        "calibration (perftest)",
        "calibration",
        () => calibrate(points),
        (e) => calibrationRecord(head.device.name, null, [], [], e),
      );
      if (cal !== STOPPED) calibration = cal;
    }
    if (regscaleRun && go()) {
      const say = (line: string) => o.quiet || console.error(line);
      // Each curve is streamed as it ends (a run killed mid-sweep keeps the curves before); the whole record,
      // also of a sweep a signal cut short, at its end. A sweep that fails as a whole keeps what was streamed.
      let plan: RegscaleHead | null = null;
      const curves: RegscaleCurve[] = [], workers: WorkerCurve[] = [];
      const part = (p: RegscalePart) => {
        if (p.part === "plan") plan = p.plan;
        else if (p.part === "curve") curves.push(p.curve);
        else workers.push(p.workers);
        const { part: kind, ...rest } = p;
        file.write({ record: `regscale-${kind}`, ...rest });
      };
      const t0 = Date.now();
      const rs = await step(
        "regscale",
        "regscale",
        () => regscaleRun(bar.step, say, part),
        (e) =>
          regscaleRecord(plan ?? unplannedHead(cfg.regscale!.budgetMs), curves, workers, Date.now() - t0, e),
      );
      if (rs !== STOPPED) regscale = rs;
    }
  } catch (e) {
    // A peer that said stop may go before this side reached a step where it looks: it stopped, not failed.
    if (!side.stoppedBy(e)) throw e;
    stopped = true;
  } finally {
    bar.stop();
  }
  const end = await side.end(stopped);
  if (end.overhead) overhead = end.overhead;
  if (end.regcost) {
    regcost = end.regcost;
    file.write({ record: "regcost", ...regcost });
  }
  if (side.overheadAtEnd) file.write({ record: "overhead", ...overhead });
  const { completed, interruptedBy, interruptedByPeer } = end;
  const doc: BenchDoc = {
    ...head,
    finishedAt: new Date().toISOString(),
    completed,
    interruptedBy,
    ...(interruptedByPeer !== undefined ? { interruptedByPeer } : {}),
    config: cfg,
    overhead: { ...overhead, ffiPerCallNs: head.ffi.perCallNs, clockNs: head.ffi.clockNs },
    verification: o.verification,
    strategies: strategyInfo(cfg),
    results: points,
    revocation: checks,
    regcost,
    calibration,
    ...(cfg.regscale ? { regscale } : {}),
  };
  const out = file.finish(doc, { completed, interruptedBy, interruptedByPeer });
  return outcome(out, doc, keys.length);
}
