// `memreg bench` end to end: header, empty-cycle overhead, the strategy matrix, revocation checks, regcost,
// optional perftest calibration. Every record is streamed as a JSON line as soon as it exists; the final JSON
// document and the ranked table come at the end.
import { Context, type DeviceAttr } from "../ffi/mod.ts";
import { defaultOutPath, runHeader } from "../record/header.ts";
import { JsonLines, jsonLinesPath, writeJson } from "../record/stream.ts";
import { type BenchConfig, type Layout, LAYOUT_STRATEGIES, matrix } from "./config.ts";
import { fmtSize } from "../common/mod.ts";
import { Rig } from "./rig.ts";
import { measureOverhead } from "./overhead.ts";
import { failureOf, type PointKey, type PointResult, runPoint } from "./point.ts";
import { lateAccess, type LateAccessResult } from "./revocation.ts";
import { type RegcostResult, runRegcost } from "./regcost.ts";
import { makeStrategy } from "./strategies/mod.ts";
import { newHistogram } from "./stats.ts";
import { progress } from "./progress.ts";
import { type Calibration, runCalibration } from "./calibrate.ts";
import { Verifier } from "./verify.ts";
import { type BenchDoc, plannedPoints, SCHEMA_VERSION, type StrategyInfo } from "./doc.ts";
import { checkLimits } from "./limits.ts";
import { type StopSignal, watchStop } from "../common/signals.ts";

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

export function verificationNote(cfg: BenchConfig): string {
  const v = new Verifier(cfg.verify);
  return cfg.verify === "full"
    ? "every byte of every I/O checked against an xorshift pattern (O(size) per I/O, inside the wall-clock figures)"
    : `sampled: a 32-bit stamp of the I/O's sequence number at every 4 KiB of the transfer plus its last word ` +
      `(${v.checkedPerIo(4096).count} words per 4 KiB I/O), checked by the receiver of the data on every I/O`;
}

export interface BenchOutcome {
  out: string;
  doc: BenchDoc;
  failed: number;
  notRevoked: number;
  /** The signal that stopped the run early (the document then says completed: false). */
  interruptedBy: StopSignal | null;
  /** A pair's run stopped because the other side got a signal: that one (bench/pair.ts). */
  interruptedByPeer?: StopSignal | null;
  points: number;
  of: number;
}

/** errno values of a create verb that mean a resource ran out: a device limit, host memory, RLIMIT_MEMLOCK. */
const EXHAUSTED = new Set(["ENOMEM", "ENOSPC", "EAGAIN", "EMFILE", "ENFILE", "EDQUOT"]);
const CREATE_VERBS: Record<string, [keyof DeviceAttr, string]> = {
  ibv_reg_mr: ["maxMr", "max_mr"],
  ibv_reg_mr_iova2: ["maxMr", "max_mr"],
  ibv_alloc_mw: ["maxMw", "max_mw"],
  ibv_create_qp: ["maxQp", "max_qp"],
  ibv_create_cq: ["maxCq", "max_cq"],
  ibv_alloc_pd: ["maxPd", "max_pd"],
};

/**
 * A point whose create verb ran out of a resource is `limited`, not `failed`: the device's max_mr / max_mw /
 * max_qp (shared with every process on the device) or host memory. rxe answers EINVAL at its limits, so EINVAL
 * counts too once the same strategy ran fine earlier in this run (its arguments are known to be good).
 */
export function markLimited(p: PointResult, ranBefore: ReadonlySet<string>, dev: DeviceAttr): void {
  const verb = p.reason?.verb, errno = p.reason?.errno ?? "";
  if (p.status !== "failed" || !verb || !(verb in CREATE_VERBS)) return;
  if (!EXHAUSTED.has(errno) && !(errno === "EINVAL" && ranBefore.has(p.strategy))) return;
  const [attr, name] = CREATE_VERBS[verb];
  p.status = "limited";
  p.reason = {
    ...p.reason!,
    message: `${p.reason!.message} (a limit was reached: device ${name} ${dev[attr]})`,
  };
}

/** What the progress line calls a point. */
export function pointLabel(k: PointKey): string {
  return `${k.strategy} ${k.op} ${fmtSize(k.size)} ${
    k.layout === "pages" ? `page list (pool ${fmtSize(k.buffers * 4096)})` : k.pages
  } qd${k.depth}${k.sweep ? ` sweep ${k.buffers} buffers` : ""}`;
}

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

export async function runBench(cfg: BenchConfig, device?: string, quiet = false): Promise<BenchOutcome> {
  checkLimits(cfg);
  using stop = await watchStop("finishing the current point, then writing the results");
  using ctx = Context.open(device);
  const header = { ...runHeader("bench", SCHEMA_VERSION, ctx), planned: plannedPoints(cfg) };
  const out = cfg.out ?? defaultOutPath("bench", ctx.name);
  using lines = new JsonLines(jsonLinesPath(out));
  lines.write({ record: "header", ...header, config: cfg });
  using rig = new Rig(ctx);
  const overhead = measureOverhead(rig);
  lines.write({ record: "overhead", ...overhead });

  const keys = matrix(cfg);
  const revoking = strategyInfo(cfg).filter((s) => s.revokes);
  const bar = progress(
    keys.length + (cfg.revocationCheck ? revoking.length : 0) + (cfg.regcost ? 1 : 0) +
      (cfg.calibrate ? 1 : 0),
    quiet,
  );
  const hist = newHistogram();
  const points: PointResult[] = [];
  const checks: LateAccessResult[] = [];
  let regcost: RegcostResult | null = null;
  let calibration: Calibration | null = null;
  const told = new Set<string>(), ranBefore = new Set<string>();
  try {
    for (const k of keys) {
      if (stop.signal) break;
      const what = pointLabel(k);
      bar.step(what);
      const p = runPoint(rig, k, cfg, hist);
      markLimited(p, ranBefore, rig.dev);
      if (p.status === "ok") ranBefore.add(p.strategy);
      points.push(p);
      lines.write({ record: "point", ...p });
      bar.done(pointLine(p, what, told));
      // A point that hit a limit may have left the rig without QPs (max_qp): rebuild it for the next one.
      if (rig.broken) {
        try {
          rig.recover();
        } catch (e) {
          bar.done(`the rig could not be rebuilt after ${what}: ${failureOf(e).message}`);
        }
      }
    }
    if (cfg.revocationCheck) {
      for (const { name, layout } of revoking) {
        if (stop.signal) break;
        const what = `late access ${name}${layout === "pages" ? " (page layout)" : ""}`;
        bar.step(what);
        const supported = points.some((p) => p.strategy === name && p.layout === layout && p.status === "ok");
        if (!supported) {
          bar.done(`${what}: skipped (strategy did not run)`);
          continue;
        }
        const c = await lateAccess(rig, name, cfg.ops[0], cfg, layout);
        checks.push(c);
        lines.write({ record: "revocation", ...c });
        bar.done(`${what}: ${c.status}`);
      }
    }
    if (cfg.regcost && !stop.signal) {
      bar.step("regcost");
      try {
        regcost = runRegcost(rig, {
          maxBytes: cfg.regcostMaxBytes,
          pages: cfg.pages,
          budgetMs: cfg.regcostBudgetMs,
          samplesMin: 3,
          reference: cfg.reference,
          onProgress: (what) => {
            // Regcost is one long step: a signal abandons it at its next measurement (what it holds is released).
            if (stop.signal) throw new RegcostStopped();
            bar.step(what);
          },
        });
        lines.write({ record: "regcost", ...regcost });
        bar.done("regcost");
      } catch (e) {
        if (!(e instanceof RegcostStopped)) throw e;
      }
    }
    if (cfg.calibrate && !stop.signal) {
      bar.step("calibration (perftest)");
      calibration = await runCalibration(rig, cfg, header.device, points);
      lines.write({ record: "calibration", ...calibration });
      bar.done("calibration");
    }
  } finally {
    bar.stop();
  }
  const interruptedBy = stop.signal;
  const doc: BenchDoc = {
    ...header,
    finishedAt: new Date().toISOString(),
    completed: interruptedBy === null,
    interruptedBy,
    config: cfg,
    overhead: { ...overhead, ffiPerCallNs: header.ffi.perCallNs, clockNs: header.ffi.clockNs },
    verification: verificationNote(cfg),
    strategies: strategyInfo(cfg),
    results: points,
    revocation: checks,
    regcost,
    calibration,
  };
  writeJson(out, doc);
  lines.write({ record: "end", file: out, completed: doc.completed, interruptedBy });
  return {
    out,
    doc,
    failed: points.filter((p) => p.status === "failed").length,
    notRevoked: checks.filter((c) => !c.revoked).length,
    interruptedBy,
    points: points.length,
    of: keys.length,
  };
}

/** Thrown from regcost's progress callback when a signal asks the run to stop (bench/pair.ts does too). */
export class RegcostStopped extends Error {}
