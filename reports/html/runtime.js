// @ts-self-types="./runtime.d.ts"
// The one piece of code that runs both in the browser (inlined into every HTML page) and in Deno (chart files
// through @napi-rs/canvas): number formats, the chart styles, chart construction from a JSON chart spec, and the
// page's behaviour (filters, expanders, sortable tables). Plain JavaScript so the page needs no build step;
// runtime.d.ts types it for the TypeScript side.

/** Okabe–Ito, readable by colour-blind readers; every series also has its own marker and dash pattern. */
export const PALETTE = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#8C6D31",
  "#6A3D9A",
  "#7F7F7F",
];
/** Point markers: eight distinct shapes. */
export const MARKERS = ["circle", "triangle", "rect", "rectRot", "star", "crossRot", "cross", "rectRounded"];
/** Dash patterns (solid first). */
export const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4]];
/** Fill patterns of bars: none, diagonal, cross-hatch, dots, horizontal, vertical. */
export const PATTERNS = ["solid", "diag", "dots", "cross", "horiz", "vert", "back", "grid"];

/**
 * The look of series style `s`: colour, marker, dash, bar pattern. Colours repeat after ten and markers after
 * eight, so the second round of colours (s ≥ 10) also shifts its dash and draws hollow markers: no two of the
 * first 40 styles share colour, marker and dash (a host test checks every chart the fixtures give).
 */
export function seriesStyle(s) {
  const round = Math.floor(s / PALETTE.length);
  return {
    color: PALETTE[s % PALETTE.length],
    marker: MARKERS[s % MARKERS.length],
    dash: DASHES[(s + round) % DASHES.length],
    hollow: round % 2 === 1,
    pattern: PATTERNS[s % PATTERNS.length],
  };
}

const UNITS = [[1e9, "s"], [1e6, "ms"], [1e3, "µs"], [1, "ns"]];

/** 1234 → "1.23 µs"; three significant digits. */
export function fmtNs(ns) {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return "–";
  for (const [f, u] of UNITS) if (Math.abs(ns) >= f || f === 1) return `${sig(ns / f)} ${u}`;
  return `${ns} ns`;
}

/** Three significant digits, no exponent, no trailing zeros (1.50 → "1.5", 20.0 → "20"). */
export function sig(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (Math.abs(v) >= 100 || v === 0) return v.toFixed(0);
  return String(Number(v.toPrecision(3)));
}

/** 12345 → "12.3 k". */
export function fmtCount(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return `${sig(v / 1e9)} G`;
  if (a >= 1e6) return `${sig(v / 1e6)} M`;
  if (a >= 1e3) return `${sig(v / 1e3)} k`;
  return sig(v);
}

/** 4096 → "4 KiB", 1536 → "1.5 KiB". */
export function fmtSize(n) {
  for (const [v, u] of [[1024 ** 3, "GiB"], [1024 ** 2, "MiB"], [1024, "KiB"]]) {
    if (n >= v) return `${+(n / v).toFixed(2)} ${u}`;
  }
  return `${n} B`;
}

/** Bytes per second as MB/s (10^6 bytes, as perftest reports). */
export function fmtMBps(bps) {
  return bps === null || bps === undefined || !Number.isFinite(bps) ? "–" : `${sig(bps / 1e6)} MB/s`;
}

/** A fraction as a percentage. */
export function fmtRatio(r) {
  return r === null || r === undefined || !Number.isFinite(r) ? "–" : `${sig(r * 100)} %`;
}

/** The number formats by name (the `format` of an axis or dataset). */
export const FORMATS = {
  ns: fmtNs,
  count: fmtCount,
  size: fmtSize,
  mbps: (v) => fmtMBps(v * 1e6),
  ratio: fmtRatio,
  times: (v) => (v >= 2 ** 40 ? "all" : `${sig(v)}×`),
  plain: (v) => sig(v),
};

/** A small repeating tile for bar fills, so stacked bars are told apart without colour. */
function pattern(makeCanvas, kind, color) {
  if (kind === "solid" || !makeCanvas) return color;
  const c = makeCanvas(8, 8);
  const g = c.getContext("2d");
  g.fillStyle = color;
  g.globalAlpha = 0.35;
  g.fillRect(0, 0, 8, 8);
  g.globalAlpha = 1;
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = 1.5;
  g.beginPath();
  if (kind === "diag") g.moveTo(0, 8), g.lineTo(8, 0);
  if (kind === "back") g.moveTo(0, 0), g.lineTo(8, 8);
  if (kind === "horiz") g.moveTo(0, 4), g.lineTo(8, 4);
  if (kind === "vert") g.moveTo(4, 0), g.lineTo(4, 8);
  if (kind === "cross" || kind === "grid") g.moveTo(0, 4), g.lineTo(8, 4), g.moveTo(4, 0), g.lineTo(4, 8);
  g.stroke();
  if (kind === "dots") g.fillRect(2, 2, 3, 3);
  return g.createPattern(c, "repeat");
}

/**
 * Ticks of a log axis from `lo` to `hi`. A decade or more: every 1…9 × 10ⁿ for the grid, 1, 2 and 5 labelled
 * (only 1 beyond four decades). Under a decade: evenly spaced round values, every one labelled, so a narrow axis
 * (a 4 MiB WRITE's latencies) keeps its labels.
 */
export function logTicks(lo, hi) {
  const out = [];
  if (!(lo > 0) || !(hi > lo)) return out;
  const decades = Math.log10(hi / lo);
  const inside = (v) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  if (decades >= 1) {
    const labelled = decades > 4 ? [1] : [1, 2, 5];
    for (let e = Math.floor(Math.log10(lo)); 10 ** e <= hi; e++) {
      for (let m = 1; m < 10; m++) {
        const value = Number((m * 10 ** e).toPrecision(12));
        if (inside(value)) out.push({ value, major: m === 1, labelled: labelled.includes(m) });
      }
    }
    return out;
  }
  const raw = (hi - lo) / 5, p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * p).find((x) => x >= raw);
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi * (1 + 1e-9); i++) {
    out.push({ value: Number((i * step).toPrecision(12)), major: false, labelled: true });
  }
  // A round lower end (1× exposure) is labelled too, when it is not crowded by the first tick.
  if (Number(lo.toPrecision(2)) === lo && out.length && out[0].value - lo >= step / 2) {
    out.unshift({ value: lo, major: false, labelled: true });
  }
  return out;
}

function axis(a, log, ref) {
  const fmt = FORMATS[a.format] ?? FORMATS.plain;
  const out = {
    type: a.type,
    title: { display: !!a.title, text: a.title },
    stacked: !!a.stacked,
    grid: { color: "#e4e4e4" },
    ticks: {
      callback(v, i, ticks) {
        const n = typeof v === "number" ? v : Number(v);
        if (a.type === "category") return this.getLabelForValue(v);
        if (log && !a.ticks && ticks[i]?.labelled === false) return "";
        return fmt(n);
      },
    },
  };
  if (a.min !== undefined) out.min = a.min;
  if (a.max !== undefined) out.max = a.max;
  // A reference line stays inside the axis whatever the data.
  if (ref !== undefined) out.suggestedMin = out.suggestedMax = ref;
  if (a.position) out.position = a.position;
  if (a.ticks) {
    // Ticks exactly at the measured values (e.g. the I/O sizes on a log axis).
    out.afterBuildTicks = (scale) => {
      scale.ticks = a.ticks.map((value) => ({ value }));
    };
  } else if (log) {
    out.afterBuildTicks = (scale) => {
      const ticks = logTicks(scale.min, scale.max);
      if (ticks.length >= 2) scale.ticks = ticks;
    };
  }
  return out;
}

/** A horizontal reference line across the chart area (100 % on a relative chart), labelled at its right end. */
function referencePlugin(r) {
  return {
    id: "memreg-reference",
    afterDatasetsDraw(chart) {
      const y = chart.scales[r.axis ?? "y"], area = chart.chartArea, g = chart.ctx;
      const py = y.getPixelForValue(r.value);
      if (!Number.isFinite(py) || py < area.top - 1 || py > area.bottom + 1) return;
      g.save();
      g.strokeStyle = "#333333";
      g.lineWidth = 1.5;
      g.setLineDash([]);
      g.beginPath();
      g.moveTo(area.left, py);
      g.lineTo(area.right, py);
      g.stroke();
      g.fillStyle = "#333333";
      g.font = "12px sans-serif";
      g.textAlign = "right";
      g.textBaseline = "bottom";
      g.fillText(r.label, area.right - 4, py - 3);
      g.restore();
    },
  };
}

/**
 * Builds the chart.js configuration of a chart spec: styles by series index (colour, marker, dash or fill
 * pattern), formatted axes and tooltips. `env.makeCanvas(w, h)` makes the bar-pattern tiles.
 */
export function chartConfig(spec, env) {
  const line = spec.type === "line";
  const datasets = spec.datasets.map((d, i) => {
    const st = seriesStyle(d.style ?? i);
    const color = st.color;
    const common = { label: d.label, data: d.data, yAxisID: d.axis ?? "y" };
    if (d.stack) common.stack = d.stack;
    if (line || d.line) {
      return {
        ...common,
        type: "line",
        borderColor: color,
        backgroundColor: color,
        borderDash: d.dash ?? st.dash,
        borderWidth: 2,
        pointStyle: d.marker ?? st.marker,
        pointBackgroundColor: st.hollow ? "#ffffff" : color,
        pointBorderWidth: st.hollow ? 2 : 1,
        pointRadius: d.noMarkers ? 0 : d.marker === "line" ? 14 : 4,
        pointHoverRadius: 6,
        spanGaps: false,
        fill: false,
      };
    }
    return {
      ...common,
      backgroundColor: pattern(env.makeCanvas, d.pattern ?? st.pattern, color),
      borderColor: color,
      borderWidth: 1.5,
      pointStyle: "rect",
    };
  });
  const ref = spec.reference;
  const refOn = (id) => (ref && (ref.axis ?? "y") === id ? ref.value : undefined);
  const scales = {
    x: axis(spec.x, spec.x.type === "logarithmic"),
    y: axis(spec.y, spec.y.type === "logarithmic", refOn("y")),
  };
  if (spec.y2) {
    scales.y2 = { ...axis(spec.y2, spec.y2.type === "logarithmic", refOn("y2")), position: "right" };
  }
  if (scales.y2) scales.y2.grid = { drawOnChartArea: false };
  const fmtOf = (id) => FORMATS[(id === "y2" ? spec.y2 : spec.y)?.format] ?? FORMATS.plain;
  return {
    type: line ? "line" : "bar",
    data: { labels: spec.labels, datasets },
    plugins: ref ? [referencePlugin(ref)] : [],
    options: {
      animation: false,
      responsive: !!env.responsive,
      maintainAspectRatio: false,
      devicePixelRatio: env.devicePixelRatio ?? undefined,
      indexAxis: spec.horizontal ? "y" : "x",
      parsing: true,
      interaction: { mode: "nearest", intersect: false },
      plugins: {
        title: { display: !!spec.title, text: spec.title, font: { size: 14 } },
        subtitle: {
          display: !!spec.subtitle,
          text: spec.subtitle ?? "",
          color: "#5b5b5b",
          padding: { bottom: 6 },
        },
        // Point styles in the legend: markers for lines, a patterned square for bars, a dash for target lines.
        legend: { position: "bottom", labels: { usePointStyle: true, boxWidth: 28 } },
        tooltip: {
          callbacks: {
            label(ctx) {
              const v = spec.horizontal ? ctx.parsed.x : ctx.parsed.y;
              return `${ctx.dataset.label}: ${fmtOf(ctx.dataset.yAxisID)(v)}`;
            },
          },
        },
      },
      scales,
    },
  };
}

/** Draws one chart spec on a canvas (browser or @napi-rs/canvas). */
export function makeChart(Chart, canvas, spec, env) {
  return new Chart(canvas, chartConfig(spec, env));
}

/** The page's behaviour, run once in the browser. */
export function initPage(doc, Chart) {
  const data = JSON.parse(doc.getElementById("memreg-charts")?.textContent ?? "{}");
  const makeCanvas = (w, h) => Object.assign(doc.createElement("canvas"), { width: w, height: h });
  for (const canvas of doc.querySelectorAll("canvas[data-chart]")) {
    const spec = data[canvas.dataset.chart];
    if (spec) makeChart(Chart, canvas, spec, { responsive: true, makeCanvas });
  }
  for (const btn of doc.querySelectorAll("button.expand")) {
    btn.addEventListener("click", () => {
      const row = doc.getElementById(btn.getAttribute("aria-controls"));
      const open = btn.getAttribute("aria-expanded") !== "true";
      btn.setAttribute("aria-expanded", String(open));
      row.hidden = !open;
    });
  }
  for (const box of doc.querySelectorAll("[data-filter-table]")) initFilter(doc, box);
  for (const table of doc.querySelectorAll("table.sortable")) initSort(table);
}

function initFilter(doc, box) {
  const table = doc.getElementById(box.dataset.filterTable);
  const controls = [...box.querySelectorAll("select, input")];
  const shown = box.querySelector(".shown");
  const rows = [...table.tBodies[0].rows].filter((r) => !r.classList.contains("detail"));
  const apply = () => {
    let n = 0;
    for (const r of rows) {
      const ok = controls.every((c) => {
        const v = c.value.trim().toLowerCase();
        if (!v) return true;
        return c.tagName === "INPUT" ? (r.dataset.text ?? "").includes(v) : r.dataset[c.name] === v;
      });
      r.hidden = !ok;
      const detail = r.nextElementSibling?.classList.contains("detail") ? r.nextElementSibling : null;
      const btn = r.querySelector("button.expand");
      if (detail) detail.hidden = !ok || btn?.getAttribute("aria-expanded") !== "true";
      if (ok) n++;
    }
    if (shown) shown.textContent = `${n} of ${rows.length} shown`;
  };
  for (const c of controls) c.addEventListener("input", apply);
  apply();
}

function initSort(table) {
  const heads = [...table.tHead.rows[0].cells];
  heads.forEach((th, col) => {
    th.tabIndex = 0;
    th.title = "sort";
    const sort = () => {
      const asc = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      const body = table.tBodies[0];
      const key = (r) => {
        const c = r.cells[col];
        const v = c?.dataset.v;
        return v !== undefined && v !== "" && !Number.isNaN(Number(v)) ? Number(v) : (c?.textContent ?? "");
      };
      const rows = [...body.rows].sort((a, b) => {
        const x = key(a), y = key(b);
        const d = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return asc ? d : -d;
      });
      for (const r of rows) body.appendChild(r);
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && sort());
  });
}
