// `memreg bench` end to end: header, empty-cycle overhead, the strategy matrix, revocation checks, regcost,
// optional perftest calibration. Every record is streamed as a JSON line as soon as it exists; the final JSON
// document and the ranked table come at the end.
import { Context } from "../ffi/mod.ts";
import { defaultOutPath, runHeader } from "../record/header.ts";
import { JsonLines, jsonLinesPath, writeJson } from "../record/stream.ts";
import type { BenchConfig } from "./config.ts";
import { fmtSize } from "../common/mod.ts";
import { Rig } from "./rig.ts";
import { measureOverhead } from "./overhead.ts";
import { type PointKey, type PointResult, runPoint } from "./point.ts";
import { lateAccess, type LateAccessResult } from "./revocation.ts";
import { type RegcostResult, runRegcost } from "./regcost.ts";
import { makeStrategy } from "./strategies/mod.ts";
import { newHistogram } from "./stats.ts";
import { progress } from "./progress.ts";
import { type Calibration, runCalibration } from "./calibrate.ts";
import { Verifier } from "./verify.ts";
import { type BenchDoc, SCHEMA_VERSION, type StrategyInfo } from "./doc.ts";

export function matrix(
  cfg: Pick<BenchConfig, "pages" | "depths" | "ops" | "sizes" | "strategies">,
): PointKey[] {
  const keys: PointKey[] = [];
  for (const pages of cfg.pages) {
    for (const depth of cfg.depths) {
      for (const op of cfg.ops) {
        for (const size of cfg.sizes) {
          for (const strategy of cfg.strategies) keys.push({ strategy, op, size, pages, depth });
        }
      }
    }
  }
  return keys;
}

export function strategyInfo(cfg: BenchConfig): StrategyInfo[] {
  return cfg.strategies.map((name) => {
    const s = makeStrategy(name);
    return { name, revokes: s.revokes, keysValidBetweenIos: !s.revokes, notice: s.notice, note: s.note };
  });
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
}

export async function runBench(cfg: BenchConfig, device?: string, quiet = false): Promise<BenchOutcome> {
  using ctx = Context.open(device);
  const header = runHeader("bench", SCHEMA_VERSION, ctx);
  const out = cfg.out ?? defaultOutPath("bench", ctx.name);
  using lines = new JsonLines(jsonLinesPath(out));
  lines.write({ record: "header", ...header, config: cfg });
  using rig = new Rig(ctx);
  const overhead = measureOverhead(rig);
  lines.write({ record: "overhead", ...overhead });

  const keys = matrix(cfg);
  const revoking = strategyInfo(cfg).filter((s) => s.revokes).map((s) => s.name);
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
  try {
    for (const k of keys) {
      const what = `${k.strategy} ${k.op} ${fmtSize(k.size)} ${k.pages} qd${k.depth}`;
      bar.step(what);
      const p = runPoint(rig, k, cfg, hist);
      points.push(p);
      lines.write({ record: "point", ...p });
      bar.done(
        `${what}: ${
          p.status === "ok"
            ? `${p.iops.toFixed(1)} IO/s, p50 ${(p.latency.p50Ns / 1000).toFixed(1)} µs`
            : `${p.status}: ${p.reason?.message}`
        }`,
      );
    }
    if (cfg.revocationCheck) {
      for (const name of revoking) {
        bar.step(`late access ${name}`);
        const supported = points.some((p) => p.strategy === name && p.status === "ok");
        if (!supported) {
          bar.done(`late access ${name}: skipped (strategy did not run)`);
          continue;
        }
        const c = await lateAccess(rig, name, cfg.ops[0], cfg);
        checks.push(c);
        lines.write({ record: "revocation", ...c });
        bar.done(`late access ${name}: ${c.status}`);
      }
    }
    if (cfg.regcost) {
      bar.step("regcost");
      regcost = runRegcost(rig, {
        maxBytes: cfg.regcostMaxBytes,
        pages: cfg.pages,
        budgetMs: cfg.regcostBudgetMs,
        samplesMin: 3,
        reference: cfg.reference,
        onProgress: bar.step,
      });
      lines.write({ record: "regcost", ...regcost });
      bar.done("regcost");
    }
    if (cfg.calibrate) {
      bar.step("calibration (perftest)");
      calibration = await runCalibration(rig, cfg, header.device, points);
      lines.write({ record: "calibration", ...calibration });
      bar.done("calibration");
    }
  } finally {
    bar.stop();
  }
  const doc: BenchDoc = {
    ...header,
    finishedAt: new Date().toISOString(),
    completed: true,
    interruptedBy: null,
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
  lines.write({ record: "end", file: out });
  return {
    out,
    doc,
    failed: points.filter((p) => p.status === "failed").length,
    notRevoked: checks.filter((c) => !c.revoked).length,
  };
}
