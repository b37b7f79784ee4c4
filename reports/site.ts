// `memreg publish RUNS_DIR -o SITE_DIR`: a static site of the runs in a directory, grouped by configuration
// (reports/site_config.ts). The index lists configurations, not runs: per configuration its latest headline and
// a link to its history page (a trend chart of its headline figures over time, regressions beyond the spread
// marked, every run listed); a device × kernel matrix of conformance severities; and the compare pages worth
// reading (latest vs previous, same device across kernels, same kernel across devices). Each run has its page
// and its JSON copy. Deterministic (nothing depends on the clock or the directory order) and relative links
// only, so it can live in git or be opened from disk. The site carries a marker file, so publishing a directory
// that holds it does not read its data copies as new runs.
import { basename, join, relative } from "node:path";
import { UsageError } from "../common/mod.ts";
import type { BenchRun, Loaded, SuiteRun } from "./load.ts";
import { reportHtml } from "./html/report.ts";
import { compareRuns, pointKey } from "./compare.ts";
import { compareHtml } from "./html/compare.ts";
import { Charts, esc, page, table, td } from "./html/page.ts";
import type { ChartSpec } from "./html/runtime.js";
import { fmtCount, fmtNs, fmtSize } from "./html/runtime.js";
import { slug } from "./figure.ts";
import { transportName } from "./transport.ts";
import { pairNumber } from "../record/pair.ts";
import { pairParts } from "./pairs.ts";
import { styleOf } from "./bench/figures.ts";
import { countsLine, headline as suiteHeadline, severityWord } from "./conformance/summary.ts";
import { regscaleHeadline } from "./bench/regscale.ts";
import { type CaseResult, CLASSES, type Classification } from "../conformance/model.ts";
import { countSeverities, SEVERITIES, type Severity, severityLine } from "../conformance/severity.ts";
import {
  byDate,
  type Config,
  groupRuns,
  ingest,
  latestComplete,
  type Pairing,
  pairings,
  SITE_MARKER,
} from "./site_config.ts";

/** The pages a publish wrote and the files it skipped (with why). */
export interface PublishResult {
  pages: string[];
  skipped: string[];
}

const when = (r: Loaded) => r.doc.startedAt.replace("T", " ").replace(/(:\d\d)(\.\d+)?Z$/, "$1Z");
const dataExt = (r: Loaded) => r.path.endsWith(".jsonl") ? ".jsonl" : ".json";

function classCounts(r: SuiteRun): Record<Classification, number> {
  const c = r.doc.counts as Partial<Record<Classification, number>>;
  return Object.fromEntries(CLASSES.map((k) => [k, c[k] ?? 0])) as Record<Classification, number>;
}
const severities = (r: SuiteRun) => countSeverities(r.doc.results as unknown as CaseResult[]);

/** A run's headline in one line (severities first for conformance), and a value to sort it by. */
function headline(r: Loaded): { text: string; v: number | null } {
  if (r.kind === "conformance") {
    const sev = severities(r);
    return {
      text: suiteHeadline(r.doc.results as unknown as CaseResult[], classCounts(r)),
      v: SEVERITIES.reduce((n, s) => n + sev[s], 0),
    };
  }
  const d = r.doc;
  const reg = d.regcost?.mr.find((m) => m.status === "ok" && m.access === "remote-rw" && m.pages === "4k");
  const small = Math.min(...d.results.map((p) => p.size));
  const best =
    d.results.filter((p) => p.status === "ok" && p.size === small).sort((a, b) => b.iops - a.iops)[0];
  const parts = [
    // A regscale-only run has no points: its headline is the sweep's.
    d.results.length || !d.regscale
      ? `${d.results.filter((p) => p.status === "ok").length}/${d.results.length} points ran`
      : "",
    // A merged document's best is one pair's: it says which.
    best
      ? `best at ${small / 1024} KiB: ${best.strategy} ${fmtCount(best.iops)} IO/s${
        best.pair === undefined ? "" : ` (pair ${best.pair})`
      }`
      : "",
    // The top level's regcost is pair 0's in a merged document (each pair's own is in its section).
    reg?.reg
      ? `reg_mr ${reg.size / 1024} KiB ${fmtNs(reg.reg.p50Ns)}${
        (d.pairs?.length ?? 0) > 1 ? ` (pair ${pairNumber(d.pairs![0], 0)})` : ""
      }`
      : "",
    d.regscale ? regscaleHeadline(d.regscale) : "",
  ];
  return { text: parts.filter(Boolean).join("; "), v: best?.iops ?? null };
}

/** What changed for the worse from one run to the next of a configuration, by compare's rule. */
interface Step {
  /** Figures worse beyond the spread (bench) or cases that regressed or newly deviate (conformance). */
  worse: string[];
  /** Headline series (strategies) whose figure got worse beyond the spread at this run. */
  headline: Set<string>;
}

/**
 * Each run against the one before it (null for the first): compare's "changed beyond the spread" test
 * (reports/compare.ts), the figures that got worse; for conformance, cases that regressed or newly deviate.
 */
function steps(c: Config, headKeys: Map<string, string>): (Step | null)[] {
  return c.runs.map((r, i) => {
    if (i === 0) return null;
    const m = compareRuns([c.runs[i - 1], r]);
    const step: Step = { worse: [], headline: new Set() };
    if (m.conformance) {
      for (const d of m.conformance.diffs) {
        if (d.change === "regression" || d.change === "new deviation") {
          step.worse.push(`${d.id}: ${d.change}`);
        }
      }
    }
    for (const f of m.bench?.figures ?? []) {
      if (f.changes[1] !== (f.better === "higher" ? "down" : "up")) continue;
      step.worse.push(`${f.key}: ${f.metric}`);
      const s = headKeys.get(f.key);
      if (s && f.metric === "I/O rate") step.headline.add(s);
    }
    return step;
  });
}

/** The headline points of a bench configuration: per strategy, its first op at the smallest size (contiguous). */
function headPoints(c: Config): { op: string; size: number; keys: Map<string, string> } | null {
  // The latest complete run names the points (an interrupted one may lack some).
  const last = (latestComplete(c) ?? c.runs.at(-1)) as BenchRun;
  const op = last.doc.config.ops[0];
  const pts = pairParts(last.doc)[0].results.filter((p) =>
    (p.layout ?? "contiguous") === "contiguous" && !p.sweep && p.op === op
  );
  if (!pts.length) return null;
  const size = Math.min(...pts.map((p) => p.size));
  const keys = new Map<string, string>();
  for (const p of pts.filter((p) => p.size === size)) {
    if (![...keys.values()].includes(p.strategy)) keys.set(pointKey(p), p.strategy);
  }
  return { op, size, keys };
}

/** A configuration's history page: the trend chart with its table (one row per run), regressions marked. */
function historyPage(
  c: Config,
  names: Map<Loaded, string>,
  compares: Written[],
): { html: string; last: Step | null } {
  const charts = new Charts();
  const labels = c.runs.map(when);
  const runCell = (r: Loaded) =>
    `<td><a href="../runs/${esc(names.get(r))}.html">${esc(r.name)}</a>${
      r.status.complete ? "" : ' <span class="bad">(incomplete)</span>'
    }</td>`;
  let fig = "";
  let st: (Step | null)[];
  if (c.kind === "bench") {
    const head = headPoints(c);
    st = steps(c, head?.keys ?? new Map());
    if (head) {
      const strategies = [...head.keys.values()];
      const keyOf = new Map([...head.keys].map(([k, s]) => [s, k]));
      const value = (r: Loaded, s: string) => {
        const p = pairParts((r as BenchRun).doc)[0].results.find((q) =>
          pointKey(q) === keyOf.get(s) && q.status === "ok"
        );
        return p ? p.iops : null;
      };
      const vals = c.runs.map((r) => strategies.map((s) => value(r, s)));
      const spec: ChartSpec = {
        title: `I/O rate over time: ${head.op} ${fmtSize(head.size)}, ${c.device}, ${c.kernel}`,
        type: "line",
        labels,
        x: { type: "category", title: "run started" },
        y: { type: "logarithmic", title: "I/Os per second", format: "count" },
        datasets: [
          ...strategies.map((s, j) => ({ label: s, style: styleOf(s), data: vals.map((v) => v[j]) })),
          {
            label: "worse beyond the spread",
            style: 39,
            data: vals.map((v, i) => {
              const bad = strategies.map((s, j) => st[i]?.headline.has(s) ? v[j] : null).filter((x) =>
                x !== null
              ) as number[];
              return bad.length ? Math.min(...bad) : null;
            }),
          },
        ],
      };
      const rows = c.runs.map((r, i) =>
        `<tr>${td(labels[i], r.doc.startedAt)}${runCell(r)}${
          strategies.map((s, j) => {
            const v = vals[i][j];
            const bad = st[i]?.headline.has(s);
            return td(v === null ? "–" : `${fmtCount(v)}${bad ? " ▼" : ""}`, v, bad ? "bad" : undefined);
          }).join("")
        }${worseCell(st[i])}</tr>`
      );
      fig = charts.figure(
        spec,
        table(["started", "run", ...strategies, "worse vs previous"], rows, {
          cls: "data sortable",
          caption: `I/O rate (IO/s), ${head.op} ${
            fmtSize(head.size)
          }; ▼ worse than the run before, beyond the spread`,
        }),
        { wide: true, tall: true },
      );
    }
  } else {
    st = steps(c, new Map());
    const sev = c.runs.map((r) => severities(r as SuiteRun));
    const spec: ChartSpec = {
      title: `Deviations by severity over time: ${c.device}, ${c.kernel}`,
      type: "line",
      labels,
      x: { type: "category", title: "run started" },
      y: { type: "linear", title: "cases", format: "count", min: 0 },
      datasets: [
        ...SEVERITIES.map((s, j) => ({ label: s, style: j, data: sev.map((x) => x[s]) })),
        {
          label: "regressed or newly deviating cases",
          style: 39,
          data: st.map((x) => x?.worse.length ? x.worse.length : null),
        },
      ],
    };
    const rows = c.runs.map((r, i) =>
      `<tr>${td(labels[i], r.doc.startedAt)}${runCell(r)}${
        SEVERITIES.map((s) => td(sev[i][s], sev[i][s])).join("")
      }${td(countsLine(classCounts(r as SuiteRun)))}${worseCell(st[i])}</tr>`
    );
    fig = charts.figure(
      spec,
      table(["started", "run", ...SEVERITIES, "classes", "worse vs previous"], rows, {
        cls: "data sortable",
        caption: "Cases per severity; worse vs previous: cases that regressed or newly deviate",
      }),
      { wide: true },
    );
  }
  const mine = compares.filter((w) => c.runs.includes(w.p.a) || c.runs.includes(w.p.b));
  const last = st.at(-1);
  const summary = c.runs.length < 2
    ? "One run so far: no history yet."
    : last?.worse.length
    ? `The latest run is worse than the one before beyond the spread in ${last.worse.length} figure(s) or case(s).`
    : "The latest run is not worse than the one before beyond the spread.";
  const html = page({
    title: `${c.kind}: ${c.device}, ${c.kernel}`,
    subtitle: `${c.runs.length} run(s); firmware ${c.firmware}; ${c.mode}; matrix ${c.matrix}`,
    body: `<p>${esc(summary)}</p>${fig}${
      mine.length ? `<h2>Compare pages</h2>${comparesTable(mine, "../")}` : ""
    }<p class="note">A change is marked where compare flags it: beyond the run-to-run spread both runs measured (reports/compare.ts); runs without a spread are not flagged.</p>`,
    charts,
    links: [{ href: "../index.html", text: "all configurations" }],
  });
  return { html, last: last ?? null };
}

function worseCell(s: Step | null | undefined): string {
  if (!s) return td("–");
  if (!s.worse.length) return td("none", 0);
  const list = s.worse.slice(0, 6).join("; ") + (s.worse.length > 6 ? "; …" : "");
  return td(`${s.worse.length}: ${list}`, s.worse.length, "bad");
}

/** The index's "vs previous" cell: the latest run's step, linked to its compare page where there is one. */
function vsPrevious(s: Step | null, file: string | undefined): string {
  const text = !s ? "–" : s.worse.length ? `▼ ${s.worse.length} worse` : "none worse";
  const inner = file ? `<a href="${esc(file)}">${esc(text)}</a>` : esc(text);
  return `<td data-v="${s?.worse.length ?? ""}"${s?.worse.length ? ' class="bad"' : ""}>${inner}</td>`;
}

interface Written {
  p: Pairing;
  file: string;
}

function comparesTable(ws: Written[], prefix: string): string {
  const ref = (r: Loaded) =>
    `${r.doc.device.name} (${transportName(r.doc.device)}), ${r.doc.host.kernel}, ${when(r)}`;
  return table(
    ["kind", "why", "baseline (A)", "compared (B)", "page"],
    ws.map((w) =>
      `<tr><td>${w.p.kind}</td><td>${esc(w.p.why)}</td><td>${esc(ref(w.p.a))}</td><td>${
        esc(ref(w.p.b))
      }</td><td><a href="${esc(prefix + w.file)}">${esc(w.file.replace(/^compare\//, ""))}</a></td></tr>`
    ),
    { id: "compares" },
  );
}

/**
 * Writes a static site of every result document under `runsDir` into `siteDir`: an index of configurations, a
 * history page per configuration, a page per run, the meaningful comparisons.
 */
export function publish(runsDir: string, siteDir: string): PublishResult {
  const { runs, skipped } = ingest(runsDir);
  if (!runs.length) throw new UsageError(`${runsDir}: no memreg result files (.json, .jsonl) found`);
  runs.sort((a, b) => a.kind.localeCompare(b.kind) || byDate(a, b));
  const configs = groupRuns(runs);
  // What an earlier publish wrote is replaced, so a run removed from RUNS_DIR leaves the site too.
  for (const sub of ["runs", "compare", "data", "configs"]) {
    try {
      Deno.removeSync(join(siteDir, sub), { recursive: true });
    } catch { /* not there */ }
  }
  const pages: string[] = [];
  const write = (rel: string, text: string) => {
    const p = join(siteDir, rel);
    Deno.mkdirSync(join(p, ".."), { recursive: true });
    Deno.writeTextFileSync(p, text);
    pages.push(rel);
  };
  write(
    SITE_MARKER,
    "A site written by memreg publish: data/ holds copies of result documents; publish skips this directory.\n",
  );
  // Unique, stable names: the file name, disambiguated by its directory when two runs share one.
  const names = new Map<Loaded, string>();
  const used = new Set<string>();
  for (const r of [...runs].sort((a, b) => a.path.localeCompare(b.path))) {
    let s = slug(basename(r.path).replace(/\.jsonl?$/, ""));
    if (used.has(s)) s = slug(relative(runsDir, r.path).replace(/\.jsonl?$/, ""));
    for (let i = 2; used.has(s); i++) s = `${s}-${i}`;
    used.add(s);
    names.set(r, s);
  }
  const configOf = new Map<Loaded, Config>(configs.flatMap((c) => c.runs.map((r) => [r, c] as const)));
  for (const r of runs) {
    const n = names.get(r)!;
    write(`data/${n}${dataExt(r)}`, Deno.readTextFileSync(r.path));
    write(
      `runs/${n}.html`,
      reportHtml([r], [
        { href: "../index.html", text: "all configurations" },
        { href: `../configs/${configOf.get(r)!.slug}.html`, text: "this configuration's history" },
        { href: `../data/${n}${dataExt(r)}`, text: "JSON" },
      ]),
    );
  }
  const compares: Written[] = [];
  for (const p of pairings(configs)) {
    const file = `compare/${names.get(p.a)}--${names.get(p.b)}.html`;
    write(
      file,
      compareHtml(compareRuns([p.a, p.b]), {
        runs: [p.a, p.b],
        links: [{ href: "../index.html", text: "all configurations" }],
        runLinks: [`../runs/${names.get(p.a)}.html`, `../runs/${names.get(p.b)}.html`],
      }),
    );
    compares.push({ p, file });
  }
  const lastStep = new Map<Config, Step | null>();
  for (const c of configs) {
    const h = historyPage(c, names, compares);
    write(`configs/${c.slug}.html`, h.html);
    lastStep.set(c, h.last);
  }
  write("index.html", indexPage(runs, configs, compares, lastStep));
  return { pages: pages.sort(), skipped };
}

/** The conformance severities of the latest complete run per device and kernel. */
function severityMatrix(configs: Config[]): string {
  const suites = configs.filter((c) => c.kind === "conformance" && latestComplete(c));
  if (!suites.length) return "";
  const devices = [...new Set(suites.map((c) => c.device))].sort();
  const kernels = [...new Set(suites.map((c) => c.kernel))].sort((a, b) =>
    a.localeCompare(b, "en", { numeric: true })
  );
  const cell = (d: string, k: string) => {
    const cs = suites.filter((c) => c.device === d && c.kernel === k);
    if (!cs.length) return "<td>–</td>";
    const c = cs.sort((a, b) => byDate(latestComplete(a)!, latestComplete(b)!)).at(-1)!;
    const sev = severities(latestComplete(c) as SuiteRun);
    const worst = SEVERITIES.find((s) => sev[s] > 0) as Severity | undefined;
    const more = cs.length > 1 ? ` (latest of ${cs.length} configurations)` : "";
    return `<td class="wrap" data-v="${SEVERITIES.reduce((n, s) => n + sev[s], 0)}">${
      worst ? `<span class="sev sev-${worst}">${esc(severityWord(worst))}</span> ` : ""
    }<a href="configs/${esc(c.slug)}.html">${esc(severityLine(sev) || "no deviations")}</a>${esc(more)}</td>`;
  };
  return `<h2>Conformance: device × kernel</h2>${
    table(
      ["device", ...kernels],
      devices.map((d) => `<tr><th scope="row">${esc(d)}</th>${kernels.map((k) => cell(d, k)).join("")}</tr>`),
      {
        id: "severity-matrix",
        caption: "Deviations by severity, most severe first: the latest complete run",
      },
    )
  }`;
}

function indexPage(
  runs: Loaded[],
  configs: Config[],
  compares: Written[],
  lastStep: Map<Config, Step | null>,
): string {
  // The latest-vs-previous pages sit in their configuration's row; the table below holds the other pairs.
  const previous = new Map(
    compares.filter((w) => w.p.why === "latest vs previous").map((w) => [w.p.b, w.file] as const),
  );
  const across = compares.filter((w) => w.p.why !== "latest vs previous");
  const rows = configs.map((c) => {
    const last = c.runs.at(-1)!;
    const h = headline(last);
    const text = `${c.kind} ${c.device} ${c.firmware} ${c.kernel} ${c.mode} ${c.matrix}`.toLowerCase();
    return `<tr data-kind="${c.kind}" data-device="${esc(last.doc.device.name)}" data-kernel="${
      esc(c.kernel)
    }" data-text="${esc(text)}"><td><a href="configs/${esc(c.slug)}.html">${
      esc(c.device)
    }</a></td><td>${c.kind}</td><td>${esc(c.kernel)}${last.doc.host.testbed ? " (testbed)" : ""}</td>${
      td(c.firmware)
    }${td(c.mode)}${td(c.matrix)}${td(c.runs.length, c.runs.length)}${td(when(last), last.doc.startedAt)}${
      td(
        `${last.status.complete ? "" : "incomplete: "}${h.text}`,
        h.v,
        last.status.complete ? "left" : "left bad",
      )
    }${vsPrevious(lastStep.get(c) ?? null, previous.get(latestComplete(c)!))}</tr>`;
  });
  const opts = (vals: string[]) =>
    [...new Set(vals)].sort().map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join("");
  const filter =
    `<div class="filters" data-filter-table="configs"><label>kind <select name="kind"><option value="">all</option>${
      opts(configs.map((c) => c.kind))
    }</select></label><label>device <select name="device"><option value="">all</option>${
      opts(runs.map((r) => r.doc.device.name))
    }</select></label><label>kernel <select name="kernel"><option value="">all</option>${
      opts(configs.map((c) => c.kernel))
    }</select></label><label>search <input type="search" name="text" placeholder="device, kernel, mode…"></label><span class="shown" aria-live="polite"></span></div>`;
  const comp = across.length
    ? `<h2>Compare across kernels and devices</h2><p>Like with like only: the same device on another kernel; the same kernel on another device (same mode and matrix). Each configuration's latest run against the one before is in its row above.</p>${
      comparesTable(across, "")
    }`
    : "<p>No configurations differ in the kernel or the device alone: no compare page across them.</p>";
  return page({
    title: "memreg results",
    subtitle:
      `${runs.length} runs in ${configs.length} configurations (device, firmware, kernel, mode, matrix)`,
    body: `${severityMatrix(configs)}<h2>Configurations</h2>${filter}${
      table(
        [
          "device",
          "kind",
          "kernel",
          "firmware",
          "mode",
          "matrix",
          "runs",
          "latest",
          "latest headline",
          "vs previous",
        ],
        rows,
        {
          id: "configs",
          cls: "data sortable",
        },
      )
    }${comp}`,
    charts: new Charts(),
    chartjs: false,
  });
}
