// --png DIR / --svg DIR: every chart of a report as a file, drawn by the same chart.js configuration as the HTML
// (runtime.js) on @napi-rs/canvas, for slides and papers. SVG comes from the canvas's SVG backend with text
// converted to paths, so a file looks the same without the fonts.
import { createCanvas, SvgExportFlag } from "@napi-rs/canvas";
import { Chart, registerables } from "chart.js";
import { join } from "node:path";
import type { Loaded } from "./load.ts";
import { pairSections } from "./bench/figures.ts";
import { chartConfig } from "./html/runtime.js";
import type { ChartSpec } from "./html/runtime.js";
import { slug } from "./figure.ts";

Chart.register(...registerables);

const WIDTH = 1100, HEIGHT = 640;

/** White behind the chart: chart.js leaves the canvas transparent, which slides and papers do not want. */
const background = {
  id: "memreg-background",
  beforeDraw(chart: Chart) {
    const g = chart.ctx;
    g.save();
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, chart.width, chart.height);
    g.restore();
  },
};

/** "2026-11-27 16:25 UTC" from an ISO time; as given when it is not one. */
const when = (iso: string) =>
  /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;

/** The line every chart file carries under its title: device, kernel and date, so a file stands alone. */
export function chartSubtitle(doc: Loaded["doc"], startedAt = doc.startedAt): string {
  return `${doc.device.name}: ${doc.device.model} · kernel ${doc.host.kernel} · ${when(startedAt)}`;
}

const xml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The chart.js chart of a spec on a canvas of chart-file size (tests read its scales and options). */
export function chartOn(spec: ChartSpec, canvas: unknown): Chart {
  const config = chartConfig(spec, {
    responsive: false,
    devicePixelRatio: 1,
    makeCanvas: (w, h) => createCanvas(w, h),
  }) as
    & Record<string, unknown>
    & { plugins?: unknown[] };
  config.plugins = [background, ...(config.plugins ?? [])];
  // deno-lint-ignore no-explicit-any
  return new Chart(canvas as any, config as any);
}

function draw(spec: ChartSpec, format: "png" | "svg"): Uint8Array {
  const svg = format === "svg" ? createCanvas(WIDTH, HEIGHT, SvgExportFlag.ConvertTextToPaths) : null;
  const png = svg ? null : createCanvas(WIDTH, HEIGHT);
  const chart = chartOn(spec, svg ?? png);
  try {
    if (!svg) return png!.toBuffer("image/png");
    // Text is drawn as paths: the title and subtitle also go in as <title> and <desc>, searchable and read aloud.
    const text = new TextDecoder().decode(svg.getContent());
    const meta = `<title>${xml(spec.title)}</title><desc>${xml(spec.subtitle ?? "")}</desc>`;
    return new TextEncoder().encode(text.replace(/(<svg\b[^>]*>)/, `$1${meta}`));
  } finally {
    chart.destroy();
  }
}

/** Writes every chart of the runs into `dir`; returns the files written. */
export function writeChartFiles(runs: Loaded[], dir: string, format: "png" | "svg"): string[] {
  Deno.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const run of runs) {
    if (run.kind !== "bench") continue;
    const base = slug(run.name.replace(/\.jsonl?$/, ""));
    // A merged document's pairs each get their own files: pair<n>- before the figure's id.
    for (const { part, sections } of pairSections(run.doc)) {
      const subtitle = chartSubtitle(run.doc, part?.run?.startedAt ?? run.doc.startedAt);
      for (const f of sections.flatMap((s) => s.figures)) {
        const file = join(dir, `${base}-${part ? `pair${part.n}-` : ""}${f.id}.${format}`);
        Deno.writeFileSync(file, draw({ ...f.spec, subtitle }, format));
        files.push(file);
      }
    }
  }
  return files;
}
