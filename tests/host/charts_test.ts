// Charts a person can read, over every chart the fixtures give (bench, page layout, a merged pair, compare): no
// two series of a chart look alike, every log axis has labelled ticks, relative charts draw their 100 % line,
// and chart files name device, kernel and date.
import assert from "node:assert/strict";
import { createCanvas } from "@napi-rs/canvas";
import { FIXTURES } from "../helpers/fixtures.ts";
import { mergedOf, read, writeDoc } from "../helpers/pairs.ts";
import { loadResult } from "../../reports/load.ts";
import { reportHtml } from "../../reports/html/report.ts";
import { compareRuns } from "../../reports/compare.ts";
import { compareHtml } from "../../reports/html/compare.ts";
import { chartOn, writeChartFiles } from "../../reports/chart_files.ts";
import { chartConfig, type ChartSpec, logTicks, seriesStyle } from "../../reports/html/runtime.js";

/** The chart specs a page embeds (its memreg-charts JSON). */
function specsOf(html: string): ChartSpec[] {
  const m = html.match(/<script id="memreg-charts" type="application\/json">([\s\S]*?)<\/script>/);
  assert.ok(m, "the page's chart data");
  return Object.values(JSON.parse(m[1]) as Record<string, ChartSpec>);
}

/** Every page the fixtures give, by name: its chart specs. */
function pages(): Record<string, ChartSpec[]> {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-charts-" });
  try {
    const merged = writeDoc(dir, "pairs.json", mergedOf(read(FIXTURES.pairClient), read(FIXTURES.single)));
    const cmp = (...fs: string[]) => {
      const runs = fs.map(loadResult);
      return specsOf(compareHtml(compareRuns(runs), { runs }));
    };
    return {
      bench: specsOf(reportHtml([loadResult(FIXTURES.bench61)])),
      benchSid: specsOf(reportHtml([loadResult(FIXTURES.benchSid)])),
      pages: specsOf(reportHtml([loadResult(FIXTURES.benchPages)])),
      pair: specsOf(reportHtml([loadResult(merged)])),
      pairClient: specsOf(reportHtml([loadResult(FIXTURES.pairClient)])),
      compare: cmp(FIXTURES.conf61, FIXTURES.bench61, FIXTURES.confSid, FIXTURES.benchSid),
      compare3: cmp(FIXTURES.bench61, FIXTURES.benchSid, FIXTURES.benchPages),
    };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const PAGES = pages();

/** How a series looks: colour, marker (none when not drawn), dash; a bar: colour and fill pattern. */
function looks(spec: ChartSpec): string[] {
  const cfg = chartConfig(spec, {}) as {
    data: {
      datasets: {
        type?: string;
        borderColor: string;
        pointStyle: string;
        pointRadius?: number;
        borderDash?: number[];
      }[];
    };
  };
  return cfg.data.datasets.map((d, i) => {
    if (d.type === "line") {
      return `line ${d.borderColor} ${d.pointRadius === 0 ? "none" : d.pointStyle} ${
        JSON.stringify(d.borderDash)
      }`;
    }
    const s = spec.datasets[i];
    return `bar ${d.borderColor} ${s.pattern ?? seriesStyle(s.style ?? i).pattern}`;
  });
}

Deno.test("charts: the first 40 series styles differ in colour, marker and dash", () => {
  const keys = Array.from({ length: 40 }, (_, s) => {
    const st = seriesStyle(s);
    return `${st.color} ${st.marker} ${st.dash}`;
  });
  assert.equal(new Set(keys).size, 40);
});

Deno.test("charts: no two series of any chart the fixtures give share colour, marker and dash", () => {
  let charts = 0;
  for (const [name, specs] of Object.entries(PAGES)) {
    assert.ok(specs.length > 0, `${name}: charts`);
    for (const spec of specs) {
      const l = looks(spec);
      const seen = new Map<string, string>();
      for (const [i, k] of l.entries()) {
        const label = spec.datasets[i].label;
        assert.ok(!seen.has(k), `${name}: "${spec.title}": ${label} and ${seen.get(k)} both ${k}`);
        seen.set(k, label);
      }
      charts++;
    }
  }
  assert.ok(charts > 100, `${charts} charts checked`);
});

Deno.test("charts: under a decade every log tick is labelled; over one, 1, 2 and 5", () => {
  const narrow = logTicks(296e6, 386e6);
  assert.ok(narrow.length >= 3 && narrow.every((t) => t.labelled), JSON.stringify(narrow));
  const wide = logTicks(3e3, 2e5).filter((t) => t.labelled).map((t) => t.value);
  assert.deepEqual(wide, [5e3, 1e4, 2e4, 5e4, 1e5, 2e5]);
});

Deno.test("charts: every log axis of every chart has at least two tick labels", () => {
  const canvas = createCanvas(1100, 640);
  let axes = 0;
  for (const [name, specs] of Object.entries(PAGES)) {
    for (const spec of specs) {
      const chart = chartOn(spec, canvas);
      try {
        for (const [id, scale] of Object.entries(chart.scales)) {
          if (scale.type !== "logarithmic") continue;
          const labels = scale.ticks.map((t) => t.label).filter((l) => l !== "" && l !== undefined);
          assert.ok(
            labels.length >= 2,
            `${name}: "${spec.title}" axis ${id}: labels ${JSON.stringify(labels)}`,
          );
          axes++;
        }
      } finally {
        chart.destroy();
      }
    }
  }
  assert.ok(axes > 100, `${axes} log axes checked`);
});

Deno.test("charts: relative charts draw a line at 100 %", () => {
  const relative = Object.values(PAGES).flat().filter((s) =>
    s.y.format === "ratio" && /÷| \/ |relative|vs global/i.test(`${s.y.title} ${s.title}`)
  );
  assert.ok(relative.some((s) => /relative to A/.test(s.title)), "compare's relative chart");
  for (const s of relative) assert.equal(s.reference?.value, 1, s.title);
});

Deno.test("chart files: every SVG names device, kernel and date", () => {
  const dir = Deno.makeTempDirSync({ prefix: "memreg-chartfiles-" });
  try {
    const run = loadResult(FIXTURES.benchPages);
    const files = writeChartFiles([run], dir, "svg");
    assert.ok(files.length > 10);
    const { device, host, startedAt } = run.doc;
    for (const f of files) {
      const text = Deno.readTextFileSync(f);
      for (const want of [device.name, device.model, `kernel ${host.kernel}`, startedAt.slice(0, 10)]) {
        assert.ok(text.includes(want), `${f}: ${want}`);
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
