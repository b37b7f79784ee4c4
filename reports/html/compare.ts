// The compare model as one offline HTML page: conformance differences first, then the bench ratios as charts
// (each with its table) and every compared figure in a sortable table.
import {
  type BenchCompare,
  type CompareModel,
  type ConformanceCompare,
  deviceLine,
  type FigureDiff,
  fmtGeoMean,
  letter,
  pointName,
  runHead,
  type RunRef,
  statusRows,
  transportsLine,
} from "../compare.ts";
import { fmtRatioCell, fmtValue, HOW_TO_READ, worse } from "../compare_md.ts";
import type { ChartSpec } from "./runtime.js";
import { Charts, esc, page, runHeader, table, td } from "./page.ts";
import type { Loaded } from "../load.ts";
import { countsHtml } from "./conformance.ts";
import { styleOf } from "../bench/figures.ts";

function runsTable(runs: RunRef[], links?: (string | null)[]): string {
  const note = transportsLine(runs);
  return table(
    ["run", "file", "setup", "device · transport", "kernel", "started", "complete"],
    runs.map((r, i) =>
      `<tr><th scope="row">${letter(i)}${i === 0 ? " (baseline)" : ""}</th><td>${
        links?.[i] ? `<a href="${esc(links[i])}">${esc(r.name)}</a>` : esc(r.name)
      }</td><td>${esc(r.setup)}</td><td>${esc(deviceLine(r))}</td><td>${esc(r.kernel)}${
        r.testbed ? " (testbed)" : ""
      }</td><td>${esc(r.startedAt)}</td><td class="${r.complete ? "" : "bad"}">${
        r.complete ? "yes" : "incomplete"
      }</td></tr>`
    ),
  ) + (note ? `<p class="transports">${esc(note)}</p>` : "");
}

function conformanceHtml(c: ConformanceCompare, links?: (string | null)[]): string {
  const head = ["case", "change", ...c.runs.map((_, i) => runHead(c.runs, i)), "facts that differ", "rule"];
  const rows = c.diffs.map((d) =>
    `<tr data-change="${esc(d.change)}"><th scope="row" class="mono">${esc(d.id)}</th><td class="nowrap ${
      d.change === "regression" ? "bad" : d.change === "fixed" ? "good" : ""
    }">${esc(d.change)}</td>${
      d.classes.map((x, i) =>
        `<td class="cls-${esc(x ?? "")}">${esc(x ?? "–")}${
          d.verdicts[i] ? ` (${esc(d.verdicts[i])})` : ""
        }</td>`
      )
        .join("")
    }<td class="mono">${
      Object.entries(d.facts).map(([k, vs]) => `${esc(k)}: ${vs.map(esc).join(" → ")}`).join("<br>")
    }</td><td>${esc(d.rule)}</td></tr>`
  );
  return `<section id="conformance"><h2>Conformance: ${c.diffs.length} case(s) differ</h2>${
    runsTable(c.runs, links)
  }
<div class="grid">${
    c.runs.map((_, i) =>
      `<div><strong>${esc(runHead(c.runs, i))}</strong>${
        countsHtml(c.counts[i], Object.values(c.counts[i]).reduce((a: number, b) => a + (b ?? 0), 0))
      }</div>`
    ).join("")
  }</div>
${
    c.diffs.length
      ? table(head, rows, { id: "conformance-diffs", cls: "data sortable" })
      : "<p>No differences.</p>"
  }
${c.leftOut.map((l) => `<p class="muted">Left out: ${esc(l)}</p>`).join("")}</section>`;
}

function ratioCell(f: FigureDiff, i: number): string {
  const c = f.changes[i];
  const cls = c === "up" || c === "down"
    ? (worse(f, i) ? "bad flag-" + c : "good flag-" + c)
    : c === "unknown"
    ? "muted"
    : "";
  return td(fmtRatioCell(f, i), f.ratios[i], cls);
}

function benchHtml(b: BenchCompare, charts: Charts, links?: (string | null)[]): string {
  const n = b.runs.length;
  const out: string[] = [
    `<section id="bench"><h2>Bench</h2>${runsTable(b.runs, links)}<p>Spread: ${esc(b.spread)}.</p>${
      b.geomean?.length
        ? `<ul id="geomean">${b.geomean.map((g) => `<li>${esc(fmtGeoMean(g))}</li>`).join("")}</ul>`
        : ""
    }${b.pairing ? `<p id="pairing"><strong>Pairs:</strong> ${esc(b.pairing)}</p>` : ""}`,
  ];
  if (b.leftOut.length) {
    out.push(
      `<p>Compared where the runs overlap; left out:</p><ul>${
        b.leftOut.map((l) => `<li>${esc(l)}</li>`).join("")
      }</ul>`,
    );
  }
  if (b.statusChanges.length) {
    out.push(
      `<h3 id="status-changes">Status changes</h3>${
        table(
          [
            "point",
            ...b.runs.map((_, i) => runHead(b.runs, i)),
          ],
          statusRows(b.statusChanges).map((s) =>
            `<tr><th scope="row">${esc(pointName(s))}</th>${
              s.statuses.map((st, i) =>
                `<td class="${st === "failed" ? "bad" : st === "ok" ? "good" : "muted"}">${esc(st)}${
                  s.reasons[i] ? `: ${esc(s.reasons[i])}` : ""
                }</td>`
              ).join("")
            }</tr>`
          ),
          { id: "status-changes-table" },
        )
      }`,
    );
  }
  // I/O rate ratio per group: one line per strategy and compared run (a sweep's points differ by working set,
  // not size: they are in the table of every figure).
  const groups = [
    ...new Set(
      b.figures.filter((f) => f.metric === "I/O rate" && !f.group.endsWith("sweep")).map((f) => f.group),
    ),
  ];
  for (const g of groups) {
    const fs = b.figures.filter((f) => f.metric === "I/O rate" && f.group === g);
    const parse = (f: FigureDiff) => {
      const [strategy, , size, unit] = f.key.split(" ");
      return { strategy, sizeLabel: `${size} ${unit}` };
    };
    const strategies = [...new Set(fs.map((f) => parse(f).strategy))].sort((a, c) => styleOf(a) - styleOf(c));
    const sizes = [...new Set(fs.map((f) => parse(f).sizeLabel))];
    const spec: ChartSpec = {
      title: `I/O rate relative to A: ${g}`,
      type: "line",
      labels: sizes,
      x: { type: "category", title: "I/O size" },
      y: { type: "logarithmic", title: "run ÷ baseline", format: "ratio" },
      // 100 %: as fast as the baseline; above it faster, below slower.
      reference: { value: 1, label: "100 % = A" },
      datasets: strategies.flatMap((s) =>
        b.runs.slice(1).map((_, j) => ({
          label: n > 2 ? `${s} (${letter(j + 1)})` : s,
          style: styleOf(s),
          dash: j > 0 ? [2, 2] : undefined,
          data: sizes.map((sz) =>
            fs.find((f) => parse(f).strategy === s && parse(f).sizeLabel === sz)?.ratios[j + 1] ?? null
          ),
        }))
      ),
    };
    const rows = strategies.map((s) =>
      `<tr><th scope="row">${esc(s)}</th>${
        sizes.map((sz) => {
          const f = fs.find((x) => parse(x).strategy === s && parse(x).sizeLabel === sz);
          return f
            ? b.runs.slice(1).map((_, j) => ratioCell(f, j + 1)).join("")
            : b.runs.slice(1).map(() => "<td></td>").join("");
        }).join("")
      }</tr>`
    );
    const head = [
      "strategy",
      ...sizes.flatMap((sz) => b.runs.slice(1).map((_, j) => n > 2 ? `${sz} ${letter(j + 1)}` : sz)),
    ];
    out.push(charts.figure(spec, table(head, rows, { caption: spec.title }), { tall: true }));
  }
  // Registration cost per run, absolute: one line per run.
  const rgroups = [...new Set(b.figures.filter((f) => f.metric === "ibv_reg_mr p50").map((f) => f.group))];
  for (const g of rgroups) {
    const fs = b.figures.filter((f) => f.metric === "ibv_reg_mr p50" && f.group === g);
    const spec: ChartSpec = {
      title: `ibv_reg_mr p50 per run: ${g.replace("regcost ", "")}`,
      type: "line",
      labels: fs.map((f) => f.key.split(" ").slice(2).join(" ")),
      x: { type: "category", title: "registered size" },
      y: { type: "logarithmic", title: "time per call", format: "ns" },
      datasets: b.runs.map((_, i) => ({ label: letter(i), style: i, data: fs.map((f) => f.values[i]) })),
    };
    const rows = fs.map((f) =>
      `<tr><th scope="row">${esc(f.key)}</th>${
        f.values.map((v, i) => td(fmtValue(f, v), v) + (i ? ratioCell(f, i) : "")).join("")
      }</tr>`
    );
    const head = ["size", "A", ...b.runs.slice(1).flatMap((_, j) => [letter(j + 1), "×A"])];
    out.push(charts.figure(spec, table(head, rows, { caption: spec.title })));
  }
  const all = b.figures.map((f) =>
    `<tr data-metric="${esc(f.metric)}"${f.pair === null ? "" : ` data-pair="${f.pair}"`}><th scope="row">${
      esc(pointName(f))
    }</th><td>${esc(f.metric)}</td>${
      f.values.map((v, i) => td(fmtValue(f, v), v) + (i ? ratioCell(f, i) : "")).join("")
    }</tr>`
  );
  out.push(
    `<details open><summary>Every compared figure (${b.figures.length})</summary>${
      table(
        [
          "point",
          "figure",
          ...b.runs.flatMap((_, i) => i ? [runHead(b.runs, i), "×A"] : [runHead(b.runs, 0)]),
        ],
        all,
        {
          id: "bench-figures",
          cls: "data sortable",
        },
      )
    }</details></section>`,
  );
  return out.join("\n");
}

/** A comparison as an HTML page: conformance differences, then the bench's, with charts. */
export function compareHtml(
  m: CompareModel,
  o: { links?: { href: string; text: string }[]; runLinks?: (string | null)[]; runs?: Loaded[] } = {},
): string {
  const charts = new Charts();
  const runs = [...(m.conformance?.runs ?? []), ...(m.bench?.runs ?? [])];
  // One kernel: said once, after the devices (rxe0 (RoCE v2) vs siw0 (iWARP), 6.1.0-57-amd64).
  const oneKernel = new Set(runs.map((r) => r.kernel)).size === 1;
  const devices = [
    ...new Set(runs.map((r) => `${r.device} (${r.transport})${oneKernel ? "" : ` ${r.kernel}`}`)),
  ];
  const body = [
    `<p>Baseline (A) first; ratios are run ÷ A. ▲ ▼ mark a change beyond the run-to-run spread (red when worse); “?” means the spread is not known, so no change is claimed.</p>`,
    `<details id="how-to-read"><summary>How to read these figures</summary>${
      HOW_TO_READ.map((l) => `<p>${esc(l)}</p>`).join("")
    }</details>`,
    m.conformance ? conformanceHtml(m.conformance, o.runLinks?.slice(0, m.conformance.runs.length)) : "",
    m.bench ? benchHtml(m.bench, charts, o.runLinks?.slice(m.conformance?.runs.length ?? 0)) : "",
    o.runs?.length
      ? `<section id="headers"><h2>Run headers</h2>${
        o.runs.map((r) => `<details><summary>${esc(r.name)}</summary>${runHeader(r)}</details>`).join("")
      }</section>`
      : "",
  ].join("\n");
  return page({
    title: `memreg compare: ${devices.join(" vs ")}${oneKernel ? `, ${runs[0].kernel}` : ""}`,
    subtitle: runs.map((r) => r.name).join(" · "),
    body,
    charts,
    links: o.links,
  });
}
