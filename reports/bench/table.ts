// The concise end-of-run table: per (op, pages, depth) and size, the strategies ranked by I/O rate, then what
// did not run and why, the revocation checks, and the regcost curve.
import { fmtSize } from "../../common/mod.ts";
import { rankPerSize } from "../../bench/stats.ts";
import type { PointResult } from "../../bench/point.ts";
import type { LateAccessResult } from "../../bench/revocation.ts";
import type { RegcostResult } from "../../bench/regcost.ts";

const us = (ns: number) => (ns / 1000).toFixed(ns < 10_000 ? 1 : 0);

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(" ")
    .trimEnd();
}

export function strategyTable(points: PointResult[]): string {
  const ok = points.filter((p) => p.status === "ok");
  const lines: string[] = [];
  const W = [8, 12, 9, 9, 9, 9, 9, 9, 8, 12];
  let header = "";
  for (const g of rankPerSize(ok)) {
    const h = `${g.key.op}, ${g.key.pages} pages, depth ${g.key.depth}`;
    if (h !== header) {
      header = h;
      lines.push("", h);
      lines.push(
        row(
          ["size", "strategy", "IO/s", "MB/s", "p50 µs", "p99 µs", "expose", "revoke", "cpu/IO", "vs best"],
          W,
        ),
      );
    }
    const best = g.ranked[0].iops;
    g.ranked.forEach((p, i) =>
      lines.push(row([
        i === 0 ? fmtSize(p.size) : "",
        p.strategy,
        p.iops.toFixed(p.iops < 100 ? 1 : 0),
        p.mbPerSec.toFixed(1),
        us(p.latency.p50Ns),
        us(p.latency.p99Ns),
        us(p.split.exposeNs),
        us(p.split.revokeNs),
        p.cpu.perIoUs.toFixed(0),
        i === 0 ? "best" : `${(p.iops / best * 100).toFixed(0)}%`,
      ], W))
    );
  }
  const notRun = new Map<string, string>();
  for (const p of points.filter((p) => p.status !== "ok")) {
    const key = `${p.strategy} ${p.status}`;
    if (!notRun.has(key)) notRun.set(key, p.reason?.message ?? "");
  }
  if (notRun.size) {
    lines.push("", "not run:");
    for (const [k, why] of notRun) lines.push(`  ${k}: ${why}`);
  }
  if (lines.length) {
    lines.push("", "expose/revoke: mean µs per I/O; cpu/IO: user+system µs per I/O (getrusage)");
  }
  return lines.join("\n");
}

export function revocationTable(checks: LateAccessResult[]): string {
  if (!checks.length) return "";
  return [
    "",
    "late access with the revoked key:",
    ...checks.map((c) =>
      `  ${c.strategy.padEnd(11)} ${c.op.padEnd(5)} → ${c.status}${c.revoked ? "" : "   <-- NOT REVOKED"}`
    ),
  ].join("\n");
}

export function regcostTable(r: RegcostResult | null): string {
  if (!r) return "";
  const lines = ["", "regcost: ibv_reg_mr / ibv_dereg_mr p50 µs (ns per page)"];
  const groups = new Map<string, typeof r.mr>();
  for (const m of r.mr) {
    groups.set(`${m.access}, ${m.pages} pages`, [...(groups.get(`${m.access}, ${m.pages} pages`) ?? []), m]);
  }
  for (const [g, ms] of groups) {
    const first = ms.find((m) => m.status !== "ok");
    if (ms.every((m) => m.status !== "ok")) {
      lines.push(`  ${g}: ${first?.status}: ${first?.reason?.message}`);
      continue;
    }
    lines.push(`  ${g}`);
    for (const m of ms) {
      lines.push(
        m.status === "ok"
          ? `    ${fmtSize(m.size).padEnd(8)} reg ${
            us(m.reg!.p50Ns).padStart(9)
          } (${m.regNsPerPage})  dereg ${us(m.dereg!.p50Ns).padStart(9)} (${m.deregNsPerPage})`
          : `    ${fmtSize(m.size).padEnd(8)} ${m.status}: ${m.reason?.message}`,
      );
    }
  }
  for (const w of r.mw) {
    lines.push(
      `  ${w.verb.padEnd(52)} ${
        w.status === "ok" ? `p50 ${us(w.latency!.p50Ns)} µs` : `${w.status}: ${w.reason?.message}`
      }`,
    );
  }
  return lines.join("\n");
}

/** Everything a finished bench document prints: strategies, revocation checks, regcost, calibration. */
export function benchReport(doc: {
  results: PointResult[];
  revocation: LateAccessResult[];
  regcost: RegcostResult | null;
  calibration: { summary: string } | null;
}): string {
  const text = strategyTable(doc.results) + revocationTable(doc.revocation) + regcostTable(doc.regcost);
  return doc.calibration ? `${text}\n${doc.calibration.summary}` : text;
}
