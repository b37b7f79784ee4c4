// `bench --regscale` as the reports show it: the terminal table (per-page cost at 0, 1, 10 and 100 % of each
// curve, how it ended, where concurrency stops scaling) and the HTML section (cost per page against what is
// registered, log-log, and the aggregate rate against workers), each chart with the numbers behind it.
import type { RegscaleIn } from "../schema/bench.ts";
import { fmtCount, fmtNs, fmtSize, sig } from "../html/runtime.js";
import { type Cell, cell, type Figure, type Section, slug } from "../figure.ts";
import { esc } from "../html/page.ts";
import { failedHtml, failedText } from "./format.ts";

type Curve = RegscaleIn["curves"][number];
type Step = Curve["steps"][number];
type Probe = Step["probes"][number];

/** The shares of a curve a reader quotes. */
export const QUOTED = [0, 0.01, 0.1, 1] as const;

const GiB = 1024 ** 3;
const axisName = (c: Curve) =>
  c.axis === "bytes" ? `registered bytes, ${c.pages === "2m" ? "2 MiB" : "4 KiB"} pages` : "registered MRs";
const atText = (c: Curve, v: number) => c.axis === "bytes" ? fmtSize(v) : `${v} MRs`;

/** The step at share `f` of the planned sweep (the plan has 1 % and 10 % steps), if the curve got there. */
export function stepAt(c: Curve, f: number): Step | undefined {
  const max = c.planned.at(-1) ?? 0;
  const want = f === 0 ? c.planned[0] : f === 1 ? max : Math.floor(max * f);
  // The plan rounds 1 % and 10 % down to a page: the nearest planned step at or below the share.
  const planned = [...c.planned].reverse().find((v) => v <= want) ?? c.planned[0];
  return c.steps.find((s) => s.at === planned);
}

const probeOf = (s: Step | undefined, size: number): Probe | undefined =>
  s?.probes.find((p) => p.size === size && p.status === "ok");

/** Probe sizes measured anywhere on the curve, ascending. */
const probesOf = (c: Curve) =>
  [...new Set(c.steps.flatMap((s) => s.probes.map((p) => p.size)))].sort((a, b) => a - b);

/** How a curve ended, in words. */
export function endText(c: Curve): string {
  const e = c.end;
  if (e.status === "complete") {
    return `complete to ${atText(c, c.planned.at(-1) ?? 0)} (bounded by ${c.bound.by})`;
  }
  if (e.status === "limited") return `stopped by ${e.limit} at ${atText(c, e.at ?? 0)}: ${e.message}`;
  return `${e.status}${e.at !== undefined ? ` at ${atText(c, e.at)}` : ""}: ${e.message ?? ""}`;
}

/** "1.2 µs [1.1–1.3] n=40": a p50 with its interval and sample count. */
function p50Text(l: { p50Ns: number; p50CiNs?: [number, number]; count: number }): string {
  const ci = l.p50CiNs ? ` [${fmtNs(l.p50CiNs[0])}–${fmtNs(l.p50CiNs[1])}]` : "";
  return `${fmtNs(l.p50Ns)}${ci} n=${l.count}`;
}

/** The terminal lines of a regscale record ("" when there is none). */
export function regscaleTable(r: RegscaleIn | null | undefined): string {
  if (!r) return "";
  const lines = ["", "regscale: ibv_reg_mr p50 per page of the probe, at 0, 1, 10 and 100 % of each curve"];
  // One line for a sweep that failed as a whole; the curves that ended before it follow.
  if (r.reason) lines.push(`  ${failedText(r.reason)}`);
  if (r.reason && !r.curves.length && !r.workers.length) return lines.join("\n");
  if (!r.reference.ran) lines.push(`  C reference not run: ${r.reference.reason}`);
  for (const c of r.curves) {
    lines.push(`  cost vs ${axisName(c)}: ${endText(c)}`);
    for (const size of probesOf(c)) {
      const cells = QUOTED.map((f) => {
        const s = stepAt(c, f), p = probeOf(s, size);
        return `${f * 100} % (${s ? atText(c, s.at) : "-"}) ${p ? fmtNs(p.regNsPerPage) : "-"}${
          p?.reference ? ` C ${fmtNs(p.reference.reg.p50Ns / Math.max(1, perPage(c, size)))}` : ""
        }`;
      });
      lines.push(`    probe ${fmtSize(size)}: ${cells.join(" | ")}`);
    }
  }
  for (const w of r.workers) {
    if (!w.levels.length) {
      lines.push(`  workers, probe ${fmtSize(w.size)}: ${w.end.status}: ${w.end.message ?? ""}`);
      continue;
    }
    const levels = w.levels.map((l) =>
      `${l.workers}: ${fmtCount(l.regsPerSec)}/s ${sig(l.bytesPerSec / GiB)} GiB/s ×${l.speedup.toFixed(2)}`
    );
    lines.push(
      `  workers, probe ${fmtSize(w.size)}: ${levels.join(" | ")}; ${
        w.stopsScalingAt === null ? "scales to the last count" : `stops scaling at ${w.stopsScalingAt}`
      }${w.threadOverhead !== undefined ? `; one thread / JS loop p50 ×${w.threadOverhead.toFixed(2)}` : ""}${
        w.end.status !== "complete" ? `; ${w.end.status}: ${w.end.message}` : ""
      }`,
    );
  }
  return lines.join("\n");
}

/**
 * A regscale record in one line, for a site's index: the smallest probe's reg cost per page on the empty device
 * and at the bytes curve's last step (and how that curve ended), and where concurrency stopped scaling.
 */
export function regscaleHeadline(r: RegscaleIn): string {
  const parts: string[] = [];
  const c = r.curves.find((c) => c.axis === "bytes" && c.steps.length);
  const size = c && probesOf(c)[0];
  if (c && size !== undefined) {
    const first = probeOf(c.steps[0], size), last = c.steps.at(-1)!, end = probeOf(last, size);
    const how = c.end.status === "limited"
      ? ` (${c.end.limit})`
      : c.end.status === "complete"
      ? ` (bounded by ${c.bound.by})`
      : ` (${c.end.status})`;
    parts.push(
      `reg_mr ${fmtSize(size)} ${first ? fmtNs(first.regNsPerPage) : "-"}/page at ${
        atText(c, c.steps[0].at)
      } → ${end ? fmtNs(end.regNsPerPage) : "-"}/page at ${atText(c, last.at)}${how}`,
    );
  }
  const w = r.workers.find((w) => w.levels.length > 1);
  if (w) {
    parts.push(
      `${fmtSize(w.size)} workers ${
        w.stopsScalingAt === null
          ? `scale to ${w.levels.at(-1)!.workers}`
          : `stop scaling at ${w.stopsScalingAt}`
      }`,
    );
  }
  return parts.length ? `regscale: ${parts.join("; ")}` : "regscale: nothing measured";
}

const perPage = (c: Curve, size: number) => size / (c.pages === "2m" ? 2 * 1024 * 1024 : 4096);

/** The powers of two among the steps, and the last step where it does not crowd the one before. */
function ticksOf(at: number[]): number[] {
  const pow = at.filter((v) => Number.isInteger(Math.log2(v)));
  const last = at.at(-1);
  return last !== undefined && last > (pow.at(-1) ?? 0) * 1.5 ? [...pow, last] : pow;
}

/** Cost per page against what is registered: one chart per curve, log-log. */
function curveFigure(c: Curve): Figure | null {
  const sizes = probesOf(c);
  if (!c.steps.length || !sizes.length) return null;
  const ref = c.steps.some((s) => s.probes.some((p) => p.reference));
  // A log axis has no 0: the empty background is in the table (and the first step on the chart is the next).
  const shown = c.steps.filter((s) => s.at > 0);
  const series = (size: number, f: (p: Probe) => number | undefined) =>
    shown.map((s) => {
      const p = probeOf(s, size);
      return { x: s.at, y: p ? f(p) ?? null : null };
    });
  return {
    id: slug("regscale", c.axis, c.pages),
    spec: {
      title: `Registration cost per page vs ${axisName(c)}`,
      type: "line",
      x: {
        type: "logarithmic",
        title: c.axis === "bytes" ? "already registered (bytes)" : "already registered (MRs)",
        format: c.axis === "bytes" ? "size" : "count",
        // Ticks at the powers of two the sweep doubles through (not the 1 % and 10 % steps between them).
        ticks: ticksOf(shown.map((s) => s.at)),
        min: (shown[0]?.at ?? 1) / 1.3,
        max: (shown.at(-1)?.at ?? 1) * 1.3,
      },
      y: { type: "logarithmic", title: "ibv_reg_mr p50 per page", format: "ns" },
      datasets: sizes.flatMap((size, i) => [
        { label: `${fmtSize(size)} probe`, style: i, dash: [], data: series(size, (p) => p.regNsPerPage) },
        ...(ref
          ? [{
            label: `${fmtSize(size)} probe, C loop`,
            style: i,
            dash: [6, 3],
            data: series(size, (p) =>
              p.reference ? p.reference.reg.p50Ns / Math.max(1, perPage(c, size)) : undefined),
          }]
          : []),
      ]),
    },
    head: [
      c.axis === "bytes" ? "registered" : "MRs",
      "probe",
      "reg p50 [95 % CI] n",
      "per page",
      ...(ref ? ["C p50", "memreg / C"] : []),
      "dereg p50",
      "grow",
    ],
    rows: c.steps.flatMap((s) =>
      s.probes.map((p): Cell[] => {
        const head = [
          cell(atText(c, s.at), s.at),
          cell(fmtSize(p.size), p.size),
        ];
        if (p.status !== "ok" || !p.reg || !p.dereg) {
          return [...head, cell(`${p.status}: ${p.reason?.message ?? ""}`, null, "muted")];
        }
        return [
          ...head,
          cell(p50Text(p.reg), p.reg.p50Ns),
          cell(fmtNs(p.regNsPerPage), p.regNsPerPage ?? null),
          ...(ref
            ? [
              cell(fmtNs(p.reference?.reg.p50Ns), p.reference?.reg.p50Ns ?? null),
              cell(p.ratio ? `${p.ratio.reg.ratio.toFixed(2)}×` : "–", p.ratio?.reg.ratio ?? null),
            ]
            : []),
          cell(fmtNs(p.dereg.p50Ns), p.dereg.p50Ns),
          cell(`${sig(s.growMs)} ms`, s.growMs),
        ];
      })
    ),
    note: endText(c),
    tall: true,
  };
}

/** Aggregate registrations per second against workers, one series per probe; speed-up on the right. */
function workersFigure(r: RegscaleIn): Figure | null {
  const ws = r.workers.filter((w) => w.levels.length);
  if (!ws.length) return null;
  return {
    id: "regscale-workers",
    spec: {
      title: "Concurrent registration: aggregate rate vs workers",
      type: "line",
      x: { type: "linear", title: "workers (threads)", format: "count", ticks: r.workersPlanned },
      y: { type: "logarithmic", title: "registrations / s (all workers)", format: "count" },
      y2: { type: "linear", title: "speed-up vs one worker", format: "times" },
      datasets: ws.flatMap((w, i) => [
        {
          label: `${fmtSize(w.size)} probe`,
          style: i,
          dash: [],
          data: w.levels.map((l) => ({ x: l.workers, y: l.regsPerSec })),
        },
        {
          label: `${fmtSize(w.size)} speed-up (right axis)`,
          style: i,
          axis: "y2" as const,
          dash: [3, 3],
          data: w.levels.map((l) => ({ x: l.workers, y: l.speedup })),
        },
      ]),
    },
    head: [
      "probe",
      "workers",
      "registrations / s [range of reps]",
      "GiB/s",
      "reg p50",
      "reg p99",
      "speed-up",
      "rounds",
    ],
    rows: ws.flatMap((w) =>
      w.levels.map((l) => [
        cell(fmtSize(w.size), w.size),
        cell(String(l.workers), l.workers),
        cell(
          `${fmtCount(l.regsPerSec)} [${fmtCount(l.regsPerSecRange[0])}–${fmtCount(l.regsPerSecRange[1])}]`,
          l.regsPerSec,
        ),
        cell(sig(l.bytesPerSec / GiB), l.bytesPerSec / GiB),
        cell(fmtNs(l.reg.p50Ns), l.reg.p50Ns),
        cell(fmtNs(l.reg.p99Ns), l.reg.p99Ns),
        cell(`${l.speedup.toFixed(2)}×`, l.speedup),
        cell(String(l.rounds), l.rounds),
      ])
    ),
    note: ws.map((w) =>
      `${fmtSize(w.size)}: ${
        w.stopsScalingAt === null
          ? "scales to the last count"
          : `stops scaling at ${w.stopsScalingAt} workers`
      }${w.threadOverhead !== undefined ? `, one thread / JS loop p50 ${w.threadOverhead.toFixed(2)}×` : ""}`
    ).join("; "),
  };
}

/** The report's regscale section, or null without a record. */
export function regscaleSection(r: RegscaleIn | null | undefined): Section | null {
  if (!r) return null;
  const figures = [...r.curves.map(curveFigure), workersFigure(r)].filter((f): f is Figure => f !== null);
  const ends = r.curves.map((c) => `<li>cost vs ${esc(axisName(c))}: ${esc(endText(c))}</li>`).join("");
  const ref = r.reference.ran
    ? "The C reference ran beside memreg's figures at every step (same probe buffer, alternating blocks)."
    : `The C reference did not run${r.reference.reason ? `: ${esc(r.reference.reason)}` : ""}.`;
  const failed = r.reason ? failedHtml("Regscale", r.reason, figures.length > 0) : "";
  // A sweep that failed before any curve ended: its line alone.
  if (failed && !r.curves.length && !r.workers.length) {
    return { id: "regscale", title: "Registration at scale", intro: failed, figures, keep: true };
  }
  return {
    id: "regscale",
    title: "Registration at scale",
    intro: `${failed}<p>Before the run: ${r.plan.map(esc).join("<br>")}</p><ul>${ends}</ul><p>How: ${
      esc(r.method)
    }.</p><p>${ref} The sweep took ${sig(r.wallMs / 1000)} s.</p>`,
    figures,
    keep: !!r.reason,
  };
}
