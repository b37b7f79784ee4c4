// The steps every `memreg bench` run walks, in one process (bench/run.ts) or as one side of a pair
// (bench/pair/run.ts): header, empty-cycle overhead, the matrix of points, the late-access checks, regcost,
// calibration, the document and the end record. The step sequence, the progress bar, stop handling and the
// result file live here once; a StepRunner says how each step runs on its side.
import type { RunHeader } from "../record/header.ts";
import { ResultFile } from "../record/result_file.ts";
import { fmtSize } from "../common/mod.ts";
import type { StopSignal } from "../common/signals.ts";
import { type BenchConfig, type Layout, LAYOUT_STRATEGIES, matrix } from "./config.ts";
import type { Overhead } from "./overhead.ts";
import type { PointKey, PointResult } from "./point.ts";
import { lateAccessKey, type LateAccessResult } from "./revocation.ts";
import { type RegcostResult, runRegcost } from "./regcost.ts";
import { type Calibration, calibrationRecord } from "./calibrate.ts";
import type { RegscalePart, RegscaleResult } from "./regscale.ts";
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
  notRevoked: number;
  /** Why the calibration failed (its record's reason), or null: it ran, or was not asked for. */
  calibrationFailed: string | null;
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
    notRevoked: doc.revocation.filter((c) => !c.revoked).length,
    calibrationFailed: doc.calibration?.reason?.message ?? null,
    interruptedBy: doc.interruptedBy,
    ...(doc.interruptedByPeer !== undefined ? { interruptedByPeer: doc.interruptedByPeer } : {}),
    points: doc.results.length,
    of,
    progress: progressOf(doc, of),
  };
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

/** Thrown from regcost's progress callback when a signal asks the run to stop. */
export class RegcostStopped extends Error {}

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
      samplesMin: 3,
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
  /** A line of the side's own after a point's (a rig that could not be rebuilt), or null. */
  afterPoint(what: string): string | null;
  /** A revoking strategy's late access (`index` continues the matrix's). */
  lateAccess(index: number, key: PointKey): Promise<OrStopped<LateAccessResult>>;
  /** Regcost; null when the pair's server had none to send. */
  regcost(step: (what: string) => void): Promise<OrStopped<RegcostResult | null>>;
  /** The perftest calibration; absent where the side has none (a pair). A failure is its record's reason. */
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
      const note = side.afterPoint(what);
      if (note !== null) bar.done(note);
    }
    if (cfg.revocationCheck) {
      for (const [j, { name, layout }] of revoking.entries()) {
        if (!go()) break;
        const what = `late access ${name}${layout === "pages" ? " (page layout)" : ""}`;
        bar.step(what);
        // Both sides of a pair know which points ran: the results are the same on both.
        if (!points.some((p) => p.strategy === name && p.layout === layout && p.status === "ok")) {
          bar.done(`${what}: skipped (strategy did not run)`);
          continue;
        }
        const c = await side.lateAccess(keys.length + j, lateAccessKey(name, cfg.ops[0], layout));
        if (c === STOPPED) {
          stopped = true;
          break;
        }
        checks.push(c);
        file.write({ record: "revocation", ...c });
        bar.done(`${what}: ${c.status}`);
      }
    }
    if (cfg.regcost && go()) {
      bar.step(side.regcostLabel);
      const rc = await side.regcost(bar.step);
      if (rc === STOPPED) stopped = true;
      else {
        regcost = rc;
        if (regcost) file.write({ record: "regcost", ...regcost });
        bar.done("regcost");
      }
    }
    if (calibrate && go()) {
      bar.step("calibration (perftest)");
      // A calibration that fails is recorded as failed, as a point is; the steps after it and the document
      // go on. runCalibration records its own failures with what it measured; this catches any other side's.
      calibration = await calibrate(points).catch((e) => {
        if (side.stoppedBy(e)) throw e;
        return calibrationRecord(head.device.name, null, [], [], e);
      });
      file.write({ record: "calibration", ...calibration });
      bar.done(calibration.reason ? `calibration failed: ${calibration.reason.message}` : "calibration");
    }
    if (regscaleRun && go()) {
      bar.step("regscale");
      const say = (line: string) => o.quiet || console.error(line);
      // Each curve is streamed as it ends (a run killed mid-sweep keeps the curves before); the whole record,
      // also of a sweep a signal cut short, at its end.
      const part = (p: RegscalePart) => {
        const { part: kind, ...rest } = p;
        file.write({ record: `regscale-${kind}`, ...rest });
      };
      regscale = await regscaleRun(bar.step, say, part);
      file.write({ record: "regscale", ...regscale });
      bar.done("regscale");
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
