// The body of one run's report, bench or conformance: status, the answer, then the run's metadata and its sections (a merged two-host
// document: what it holds once, then a section per pair).
import type { BenchRun, Loaded, SuiteRun } from "../load.ts";
import type { Figure, Section } from "../figure.ts";
import { pairSections } from "../bench/figures.ts";
import { howToRead } from "../bench/rank.ts";
import { docPairs, type PairPart, pairParts, partTitle } from "../pairs.ts";
import type { BenchIn, PointIn } from "../schema/bench.ts";
import { type Charts, esc, runHeader, statusBanner, table, td } from "./page.ts";
import { fmtNs, fmtSize } from "./runtime.js";
import { suiteBody } from "./conformance.ts";
import { benchAnswerHtml } from "./answer.ts";
import { failedText } from "../bench/format.ts";

type LateIn = BenchIn["revocation"][number];

/** Columns from which a figure's table does not fit one cell of a grid of small multiples. */
const WIDE_COLUMNS = 9;

/** A figure as HTML: its chart, and its table beside it. */
export function figureHtml(charts: Charts, f: Figure): string {
  const rows = f.rows.map((r) =>
    `<tr>${
      r.map((c, i) =>
        i === 0 && c.v === undefined ? `<th scope="row">${esc(c.text)}</th>` : td(c.text, c.v, c.cls, c.span)
      ).join("")
    }</tr>`
  );
  return charts.figure(f.spec, table(f.head, rows, { cls: "data", caption: f.spec.title }), {
    note: f.note,
    tall: f.tall,
    wide: f.head.length >= WIDE_COLUMNS,
  });
}

/** Sections as HTML, their ids prefixed with `prefix`, headings at `level`. */
export function sectionsHtml(charts: Charts, sections: Section[], prefix: string, level = 2): string {
  return sections.map((s) =>
    `<section id="${esc(prefix + s.id)}"><h${level}>${esc(s.title)}</h${level}>${s.intro ?? ""}${
      s.grid ? `<div class="grid">` : ""
    }${s.figures.map((f) => figureHtml(charts, f)).join("\n")}${s.grid ? "</div>" : ""}</section>`
  ).join("\n");
}

function toc(items: [string, string][]): string {
  return `<nav class="toc" aria-label="contents">${
    items.map(([id, t]) => `<a href="#${esc(id)}">${esc(t)}</a>`).join("")
  }</nav>`;
}

/** What the run's page layout and working-set sweep were (nothing for documents without them). */
function pageLayoutLine(d: BenchRun["doc"]): string {
  const c = d.config, out: string[] = [];
  if (c.layouts?.includes("pages")) {
    out.push(
      `Page layout: ${(c.pageOps ?? c.ops).join(", ")} I/Os of ${
        (c.pageSizes ?? []).map(fmtSize).join(", ")
      } as lists of 4 KiB pages drawn ${
        c.pageReuse === "rotate" ? "in order" : c.pageReuse === "random" ? "at random" : "fixed per slot"
      } from a ${
        fmtSize(c.poolBytes ?? 0)
      } pool (a memfd standing in for the page cache); data checked on every page.`,
    );
  }
  if (c.workingSets) {
    out.push(
      `Every point at working sets ${
        c.workingSets.map((w) => "buffers" in w ? `${w.buffers} buffers` : fmtSize(w.bytes)).join(", ")
      }.`,
    );
  }
  if (c.sweep) {
    out.push(
      `Sweep: ${esc(c.sweep.strategy)} ${c.sweep.op} ${fmtSize(c.sweep.size)}, ${c.sweep.reuse} buffers, at ${
        c.sweep.buffers.join(", ")
      } buffers (cache cap ${fmtSize(c.rcacheCapBytes)}).`,
    );
  }
  return out.length ? `<p>${out.join(" ")}</p>` : "";
}

/** The late accesses with the revoked key, as a section (heading `level`). */
function lateHtml(checks: BenchRun["doc"]["revocation"], id: string, level: number): string {
  if (!checks.length) return "";
  return `<section id="${
    esc(id)
  }"><h${level}>Late access with the revoked key</h${level}><p>After one full I/O the peer tries the advertised address and key again; a revoking strategy must make it fail with IBV_WC_REM_ACCESS_ERR.</p>${
    table(
      ["strategy", "op", "completion", "verdict"],
      checks.map((r) =>
        `<tr><th scope="row">${esc(r.strategy)}</th><td>${esc(r.op)}</td>${
          r.reason
            // A check that failed as a whole has no completion and no verdict: one cell says why.
            ? `<td colspan="2" class="bad">${esc(failedText(r.reason))}</td>`
            : `<td class="mono">${esc(r.status)}</td><td class="${r.revoked ? "good" : "bad"}">${
              r.revoked ? "revoked" : "NOT REVOKED"
            }</td>`
        }</tr>`
      ),
    )
  }</section>`;
}

const checksLine = (v: string) => v ? `<p>Data checks: ${esc(v)}.</p>` : "";

/**
 * A merged document's pairs, one row each, as each pair's own document recorded its run: when it ran, whether
 * it completed, the measurer's own costs and whether its regcost and calibration are in its section.
 */
function pairRunsHtml(parts: PairPart<PointIn, LateIn>[], prefix: string): string {
  const have = (x: unknown, id: string, n: number | null) =>
    x ? `<a href="#${esc(`${prefix}pair${n}-${id}`)}">in its section</a>` : "not run";
  const rows = parts.map(({ n, run }) => {
    const head = `<tr data-pair="${n}"><th scope="row">pair ${n}</th>`;
    if (!run) {
      return `${head}<td colspan="7">not recorded per pair in this document (written before pairs carried their records)</td></tr>`;
    }
    const o = run.overhead;
    return `${head}${td(`${run.startedAt ?? "?"} → ${run.finishedAt ?? "?"}`)}${
      td(run.completed === false ? `no${run.interruptedBy ? ` (${run.interruptedBy})` : ""}` : "yes")
    }${td(fmtNs(o.emptyCycleNs), o.emptyCycleNs)}${td(fmtNs(o.ffiPerCallNs), o.ffiPerCallNs)}${
      td(fmtNs(o.clockNs), o.clockNs)
    }<td>${have(run.regcost, "regcost", n)}</td><td>${have(run.calibration, "calibration", n)}</td></tr>`;
  });
  // The data checks follow from the step's command line: said once unless the pairs' documents differ.
  const checks = [...new Set(parts.map((p) => p.run?.verification ?? ""))].filter(Boolean);
  return `${
    checks.length === 1
      ? checksLine(checks[0])
      : parts.map((p) =>
        p.run?.verification ? `<p>Pair ${p.n}'s data checks: ${esc(p.run.verification)}.</p>` : ""
      )
        .join("")
  }<p>Each pair's run, from its own document (the measurer's own cost per I/O: an empty cycle, an FFI call, a clock read):</p>${
    table(
      ["pair", "ran", "completed", "empty cycle", "FFI call", "clock read", "regcost", "calibration"],
      rows,
      { cls: "data pair-runs" },
    )
  }`;
}

function benchBody(run: BenchRun, charts: Charts, prefix: string): string {
  const d = run.doc, c = d.config;
  const parts = pairParts(d);
  const merged = parts.length > 1;
  const notRun = new Map<string, { status: string; why: string; n: number }>();
  for (const part of parts) {
    for (const p of part.results.filter((p) => p.status !== "ok")) {
      const k = `${merged ? `pair ${part.n}: ` : ""}${p.strategy}${
        p.layout === "pages" ? " (page list)" : ""
      }|${p.status}|${p.reason?.message ?? ""}`;
      const e = notRun.get(k) ?? { status: p.status, why: p.reason?.message ?? "", n: 0 };
      e.n++;
      notRun.set(k, e);
    }
  }
  // The answer leads; the run's metadata (host, device, tool, then the matrix and what did not run) follows it,
  // the host and device tables collapsed.
  const answer = benchAnswerHtml(
    parts.map((p) => ({ label: merged ? partTitle(p) : "", points: p.results })),
    d.strategies,
    prefix,
  );
  const summary = `<section id="${prefix}run"><h2>Run</h2>
<details class="meta" id="${prefix}host"><summary>Host, device, tool and command line</summary>${
    runHeader(run)
  }</details>
${pageLayoutLine(d)}<p>${c.sizes.length} sizes (${c.sizes.map(fmtSize).join(", ")}) × ops ${
    c.ops.join(", ")
  } × ${c.strategies.length} strategies × depth ${c.depths.join(", ")} × pages ${c.pages.join(", ")} = ${
    c.sizes.length * c.ops.length * c.strategies.length * c.depths.length * c.pages.length
  } points${merged ? ` per pair, ${parts.length} pairs` : ""}; ${d.results.length} measured, ${
    d.results.filter((p) => p.status === "ok").length
  } ran. Buffer reuse ${
    esc(c.reuse)
  } over ${c.buffers} buffers, ${c.durationMs} ms and at most ${c.iterations} I/Os per point and repetition, ${c.reps} repetition(s), ${c.warmup} warm-up I/Os.</p>
<p>Spread: ${
    d.results.some((p) => p.spread && p.spread.n > 1)
      ? `[min–max] over ${d.results.find((p) => p.spread)!.spread!.n} repetitions, a ${
        (d.results.find((p) => p.spread)!.spread!.confidence * 100).toFixed(1)
      } % distribution-free interval for the median`
      : "not known (one repetition per point): differences between strategies below ~10 % are within the testbed's run-to-run variation"
  }.</p>
<details id="${prefix}how-to-read"><summary>How to read these figures</summary>${
    howToRead(Math.min(1000, ...d.results.filter((p) => p.status === "ok").map((p) => p.reps?.length || 1)))
      .map((l) => `<p>${esc(l)}</p>`).join("")
  }</details>
${
    merged ? pairRunsHtml(parts, prefix) : `${checksLine(d.verification)}
<p>Measurer's own cost per I/O (empty cycle): ${fmtNs(d.overhead.emptyCycleNs)}; FFI call ${
      fmtNs(d.overhead.ffiPerCallNs)
    }; clock read ${fmtNs(d.overhead.clockNs)}.</p>`
  }
${
    notRun.size
      ? `<h3 id="${prefix}not-run">Not run</h3>${
        table(
          ["strategy", "status", "why", "points"],
          [...notRun].map(([k, e]) =>
            `<tr><th scope="row">${esc(k.split("|")[0])}</th><td class="${
              e.status === "failed" ? "bad" : "muted"
            }">${esc(e.status)}</td><td>${esc(e.why)}</td>${td(String(e.n), e.n)}</tr>`
          ),
        )
      }`
      : ""
  }
${
    d.strategies.length
      ? `<details><summary>Strategies (what each does)</summary>${
        table(
          ["strategy", "layout", "revokes", "keys end", "notice", "note"],
          d.strategies.map((s) =>
            `<tr><th scope="row">${esc(s.name)}</th><td>${esc(s.layout ?? "contiguous")}</td><td>${
              s.revokes ? "yes" : "no"
            }</td><td>${esc(s.keyEnd ?? "")}</td><td>${esc(s.notice)}</td><td>${esc(s.note)}</td></tr>`
          ),
        )
      }</details>`
      : ""
  }</section>`;
  // A merged document: what it holds once, then a section per pair with that pair's figures alone.
  const items: [string, string][] = [[`${prefix}answer`, "Answer"], [`${prefix}run`, "Run"]];
  const html = pairSections(d).map(({ part, sections }) => {
    if (!part) {
      items.push(...sections.map((s) => [prefix + s.id, s.title] as [string, string]));
      const late = merged ? "" : lateHtml(d.revocation, `${prefix}revocation`, 2);
      if (late) items.push([`${prefix}revocation`, "Late access"]);
      return sectionsHtml(charts, sections, prefix) + late;
    }
    const id = `${prefix}pair${part.n}`;
    items.push([id, partTitle(part)]);
    return `<section id="${esc(id)}" class="pair" data-pair="${part.n}"><h2>${esc(partTitle(part))}</h2>${
      sectionsHtml(charts, sections, `${id}-`, 3)
    }${lateHtml(part.revocation, `${id}-revocation`, 3)}</section>`;
  }).join("\n");
  return `${statusBanner(run)}${answer}${toc(items)}${summary}${html}`;
}

/** One run's body; `prefix` keeps element ids unique when several runs share a page. */
export function runBody(run: Loaded, charts: Charts, prefix = ""): string {
  return run.kind === "bench" ? benchBody(run, charts, prefix) : suiteBody(run as SuiteRun, prefix);
}

/** A run's title: kind, device, kernel, its pairs, and whether incomplete. */
export function runTitle(run: Loaded): string {
  const pairs = docPairs(run.doc);
  const pair = pairs.length > 1
    ? ` — ${pairs.length} pairs`
    : pairs.length
    ? ` — pair, the ${run.doc.pair?.role ?? "client"}'s document`
    : "";
  return `memreg ${run.kind}: ${run.doc.device.name} (${run.doc.device.model}), kernel ${run.doc.host.kernel}${pair}${
    run.status.complete ? "" : " — incomplete"
  }`;
}
