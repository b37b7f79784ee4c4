// The HTML page every report, compare page and site page is: self-contained (chart.js, the page script, the
// chart data and the styles inlined; a Content-Security-Policy that forbids any request), the run header, and
// the figure = chart + table layout. Output depends only on the input documents, so it is byte-reproducible.
import { pairNumber } from "../../record/pair.ts";
import { connectionText, docPairs, launcherText, type PairIn } from "../pairs.ts";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ChartSpec } from "./runtime.js";
import type { Loaded } from "../load.ts";
import { SEVERITY_CSS } from "../conformance/summary.ts";
import { fmtNs } from "./runtime.js";

// chart.js exports only its module entry points: its UMD build sits next to the CommonJS one.
const chartDist = dirname(createRequire(import.meta.url).resolve("chart.js"));
let assets: { chartjs: string; runtime: string } | undefined;

/** chart.js (UMD build) and the page runtime, read once. */
function scripts(): { chartjs: string; runtime: string } {
  if (!assets) {
    const chartjs = Deno.readTextFileSync(join(chartDist, "chart.umd.min.js"));
    const runtime = Deno.readTextFileSync(new URL("./runtime.js", import.meta.url));
    for (const [name, s] of [["chart.js", chartjs], ["runtime.js", runtime]]) {
      if (/<\/script/i.test(s)) throw new Error(`${name} contains </script and cannot be inlined`);
    }
    assets = { chartjs, runtime };
  }
  return assets;
}

const ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Text made safe for HTML (elements and attribute values). */
export const esc = (s: unknown): string => String(s ?? "").replace(/[&<>"']/g, (c) => ESC[c]);

/** A table cell; numbers carry their raw value in data-v (sorting, and tests compare it with the JSON). */
export function td(text: unknown, raw?: number | string | null, cls?: string, span?: number): string {
  const v = raw === undefined || raw === null ? "" : ` data-v="${esc(raw)}"`;
  // Long text (a reason, a key's lifetime) may wrap, so a wide table still fits its box.
  const c = [cls, String(text ?? "").length > 24 ? "wrap" : ""].filter(Boolean).join(" ");
  return `<td${v}${c ? ` class="${c}"` : ""}${span ? ` colspan="${span}"` : ""}>${esc(text)}</td>`;
}

/** An HTML data table from its header and rendered rows. */
export function table(
  head: string[],
  rows: string[],
  o: { id?: string; cls?: string; caption?: string } = {},
): string {
  return `<table${o.id ? ` id="${esc(o.id)}"` : ""} class="${o.cls ?? "data"}">${
    o.caption ? `<caption>${esc(o.caption)}</caption>` : ""
  }<thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join("")}</tr></thead><tbody>${
    rows.join("\n")
  }</tbody></table>`;
}

/** Collects the chart specs of a page; each canvas refers to its spec by id. */
export class Charts {
  readonly specs: Record<string, ChartSpec> = {};
  #n = 0;

  /** A chart with its table beside it (the numbers behind the chart, readable without it). */
  figure(
    spec: ChartSpec,
    tableHtml: string,
    o: { note?: string; tall?: boolean; wide?: boolean } = {},
  ): string {
    const id = `c${++this.#n}`;
    this.specs[id] = spec;
    // A wide table's figure takes a whole row of a grid of small multiples, so its table is not cut.
    return `<figure class="fig${o.wide ? " wide" : ""}"><div class="chart${
      o.tall ? " tall" : ""
    }"><canvas data-chart="${id}" role="img" aria-label="${
      esc(spec.title)
    }"></canvas></div><div class="numbers">${tableHtml}</div>${
      o.note ? `<figcaption>${esc(o.note)}</figcaption>` : ""
    }</figure>`;
  }

  get list(): ChartSpec[] {
    return Object.values(this.specs);
  }
}

/** The recorded command line as a shell would take it (quoted where needed). */
export function commandLine(argv: string[] | undefined): string {
  if (!argv) return "not recorded (written before memreg recorded its command line)";
  const q = (a: string) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;
  return ["memreg", ...argv].map(q).join(" ");
}

/** The header every page shows for a run: device, host, FFI path, tool, date, the command line. */
export function runHeader(run_: Loaded): string {
  const d = run_.doc, dev = d.device, h = d.host;
  const hp = h.hugepages;
  const device: [string, string][] = [
    ["device", `${dev.name}: ${dev.model}`],
    ["firmware", dev.firmware || "–"],
    ["vendor / part", `${dev.vendorId} / ${dev.vendorPartId} (hw ${dev.hwVer})`],
    ["node GUID", dev.nodeGuid],
    ["NUMA node", dev.numaNode < 0 ? "none (soft device or single node)" : String(dev.numaNode)],
    ["FFI path", `${d.ffi.path}: ${fmtNs(d.ffi.perCallNs)} per call, clock read ${fmtNs(d.ffi.clockNs)}`],
  ];
  const host: [string, string][] = [
    ["kernel", h.kernel],
    ["rdma-core", h.rdmaCore ?? "unknown"],
    ["CPU", `${h.cpu ?? "unknown"} (${h.cpus} CPUs, ${h.memoryMiB} MiB)`],
    ["hugepages", `${hp.total} × ${hp.sizeKiB} KiB, ${hp.free} free`],
    ["CPU governor", h.governor ?? "not exposed"],
    ["testbed", h.testbed ? "yes: rdma_rxe under QEMU TCG (ratios, not absolute figures)" : "no"],
  ];
  const run: [string, string][] = [
    [
      "tool",
      `memreg ${d.version}, ${d.kind} schema ${d.schemaVersion}${
        d.ffi.reason ? `; FFI: ${d.ffi.reason}` : ""
      }`,
    ],
    ["date", `${d.startedAt}${finishedAt(run_) ? ` → ${finishedAt(run_)}` : ""}`],
    ["command line", commandLine(d.argv)],
  ];
  const t = (rows: [string, string][], cls = "") =>
    `<table class="header${cls}">${
      rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")
    }</table>`;
  return `<div class="headers">${t(device)}${t(host)}${pairHtml(d, t)}${t(run, " wide")}</div>`;
}

/**
 * A two-host run: who wrote the document, how the sides were connected and launched, and each pair's two
 * sides (the header above is the writer's own), one row per pair of a merged document.
 */
function pairHtml(d: Loaded["doc"], t: (rows: [string, string][], cls?: string) => string): string {
  const pairs = docPairs(d);
  if (!pairs.length) return "";
  const p = d.pair ?? pairs[0];
  const merged = pairs.length > 1;
  const end = (e: PairIn["server"]) =>
    `${e.host.hostname} (${e.address}): ${e.device.name}, ${e.device.model}; kernel ${e.host.kernel}${
      e.host.testbed ? ", testbed" : ""
    }; FFI ${e.ffi.path}, ${fmtNs(e.ffi.perCallNs)} per call`;
  const about = t([
    [
      "written by",
      merged
        ? `pair ${pairNumber(p, 0)}'s client, merging the documents of ${pairs.length} pairs`
        : `the ${p.role} (the device and host above are the ${p.role}'s)`,
    ],
    ["connection", connectionText(p)],
    ["launched", launcherText(p, merged)],
  ], " wide");
  const rows = pairs.map((q, i) =>
    `<tr data-pair="${pairNumber(q, i)}"><th scope="row">${
      merged ? `pair ${pairNumber(q, i)}` : "pair"
    }</th>${td(end(q.server))}${td(end(q.client))}</tr>`
  );
  return about +
    table(["", "server (exposes memory)", "client (does the RDMA)"], rows, { cls: "data wide pairs" });
}

function finishedAt(run: Loaded): string {
  return run.kind === "bench" ? run.doc.finishedAt : run.doc.run.finishedAt;
}

/** The incomplete-run banner: what was measured renders, what was not is said here, once. */
export function statusBanner(run: Loaded): string {
  const s = run.status;
  const notes = s.notes.map((n) => `<li>${esc(n)}</li>`).join("");
  if (s.complete) return notes ? `<ul class="notes">${notes}</ul>` : "";
  const why = s.interruptedBy
    ? `interrupted by ${s.interruptedBy}`
    : s.source === "jsonl"
    ? "the stream ends without its end record: the run was interrupted or crashed"
    : "the document says the run did not complete";
  return `<div class="banner incomplete" role="status"><strong>Incomplete run</strong> (${esc(why)}). ` +
    `Everything measured is shown below.${
      s.missing.length ? ` Not measured: <ul>${s.missing.map((m) => `<li>${esc(m)}</li>`).join("")}</ul>` : ""
    }${notes ? `<ul class="notes">${notes}</ul>` : ""}</div>`;
}

const CSS = `
:root{--fg:#1b1b1b;--muted:#5b5b5b;--line:#d0d0d0;--bg:#fff;--head:#f3f3f3;--bad:#b00020;--good:#0b6b2f;--warn:#8a5a00}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:0 24px 48px}
header.top{border-bottom:2px solid var(--fg);margin:0 -24px 16px;padding:12px 24px;background:var(--head)}
header.top h1{font-size:20px;margin:0}
header.top .sub{color:var(--muted)}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
nav.toc{columns:3 220px;margin:8px 0 16px}
nav.toc a{display:block}
a{color:#0a58a8}
table{border-collapse:collapse;margin:6px 0}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
tbody th{white-space:nowrap;font-weight:600}
td[data-v]{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
thead th{background:var(--head);position:sticky;top:0}
.headers{display:grid;grid-template-columns:1fr 1fr;gap:0 16px;margin:8px 0}
.headers table{margin:2px 0;width:100%}.headers table.wide{grid-column:1/-1}
@media (max-width:900px){.headers{grid-template-columns:1fr}}
table.header th{background:var(--head);font-weight:600;white-space:nowrap;width:1%}
table.header td{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px;word-break:break-all}
caption{text-align:left;font-weight:600;padding:2px 0}
figure.fig{display:flex;flex-wrap:wrap;gap:16px;margin:10px 0 22px;align-items:flex-start}
figure.fig .chart{position:relative;height:340px;border:1px solid var(--line);padding:6px;flex:1.15 1 560px;min-width:0}
figure.fig .chart.tall{height:460px}
figure.fig .numbers{overflow:auto;max-height:470px;font-size:12.5px;flex:1 1 auto;max-width:100%;scrollbar-gutter:stable}
figure.fig figcaption{flex:1 1 100%;color:var(--muted);font-size:12.5px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:8px}
.grid figure.fig .chart{height:280px;flex-basis:100%}.grid figure.fig.wide{grid-column:1/-1}
td.wrap{white-space:normal;min-width:9em}
.answer-grid{display:flex;flex-wrap:wrap;gap:0 24px;align-items:flex-start}.answer td.fastest{white-space:normal;min-width:10em}table.answer tbody th[scope=rowgroup]{white-space:normal;max-width:11em}table.answer td{white-space:normal}table.answer td:not(.fastest){text-align:right;font-variant-numeric:tabular-nums}
section.answer .rule{font-size:12.5px;max-width:110em}details.meta{margin:6px 0}details.meta>summary{cursor:pointer;color:var(--muted)}
section.findings .headline{font-size:16px;font-weight:600}ul.in-short{margin:4px 0 8px;padding-left:20px}ul.in-short li{margin:1px 0}
.banner{border:2px solid var(--warn);background:#fff6e0;padding:8px 12px;margin:10px 0}
.banner.incomplete strong{color:var(--warn)}
.pill{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 8px;margin:2px 4px 2px 0;font-size:12.5px}
.cls-pass{color:var(--good)}.cls-fail,.cls-error,.cls-crashed,.cls-timeout,.cls-kernel-crash{color:var(--bad);font-weight:600}
.cls-known{color:var(--warn);font-weight:600}.cls-unsupported,.cls-observed{color:var(--muted)}
${SEVERITY_CSS}
.counts .pill strong{font-size:15px}
.nowrap{white-space:nowrap}td.left{text-align:left}.bad{color:var(--bad);font-weight:600}.good{color:var(--good)}.muted{color:var(--muted)}
.flag-up::before{content:"▲ "}.flag-down::before{content:"▼ "}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0;padding:8px;background:var(--head);border:1px solid var(--line)}
.filters label{display:flex;gap:4px;align-items:center}
button.expand{font:inherit;cursor:pointer;border:1px solid var(--line);background:#fff;padding:0 6px;min-width:26px}
button.expand[aria-expanded=true]{background:var(--head)}
button.expand::before{content:"▸"}button.expand[aria-expanded=true]::before{content:"▾"}
tr.detail td{background:#fafafa}
tr.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:4px 0}
tr.detail dt{font-weight:600}tr.detail dd{margin:0}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
th[aria-sort=ascending]::after{content:" ↑"}th[aria-sort=descending]::after{content:" ↓"}
table.sortable th{cursor:pointer}
details>summary{cursor:pointer;font-weight:600;margin:6px 0}
footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
`;

/** What a page holds: title, body, charts and the links in its top bar. */
export interface PageOptions {
  title: string;
  subtitle?: string;
  body: string;
  charts: Charts;
  /** Links in the top bar (relative), e.g. back to a site index. */
  links?: { href: string; text: string }[];
  /** Inline chart.js (default); a page without charts (a site index) may leave it out and stay small. */
  chartjs?: boolean;
}

/** A whole self-contained HTML page: the styles, Chart.js and runtime.js inlined, the chart specs as JSON. */
export function page(o: PageOptions): string {
  const { chartjs, runtime } = scripts();
  // JSON inside a script element: "</" must not appear literally.
  const data = JSON.stringify(o.charts.specs).replaceAll("</", "<\\/");
  const links = (o.links ?? []).map((l) => `<a href="${esc(l.href)}">${esc(l.text)}</a>`).join(" · ");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="memreg">
<title>${esc(o.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><h1>${esc(o.title)}</h1>${o.subtitle ? `<div class="sub">${esc(o.subtitle)}</div>` : ""}${
    links ? `<div class="links">${links}</div>` : ""
  }</header>
<main>
${o.body}
</main>
<footer>Generated by memreg from its JSON result documents; everything on this page is inlined${
    o.chartjs === false ? "" : ` (chart.js ${esc(chartJsVersion())})`
  }, it makes no network request.</footer>
<script id="memreg-charts" type="application/json">${data}</script>
${o.chartjs === false ? "" : `<script>${chartjs}</script>\n`}<script type="module">${runtime}
initPage(document, window.Chart);
</script>
</body>
</html>
`;
}

function chartJsVersion(): string {
  return JSON.parse(Deno.readTextFileSync(join(chartDist, "..", "package.json"))).version;
}
