// Types of runtime.js (plain JavaScript because it is inlined into every page as is).

/** How an axis or a table formats its numbers. */
export type Format = "ns" | "count" | "size" | "mbps" | "ratio" | "times" | "plain";

/** A chart axis: scale, title and number format. */
export interface AxisSpec {
  type: "linear" | "logarithmic" | "category";
  title?: string;
  format?: Format;
  stacked?: boolean;
  min?: number;
  max?: number;
  /** Ticks exactly at these values. */
  ticks?: number[];
  position?: "left" | "right";
}

/** A chart series: label, points, style and axis. */
export interface DatasetSpec {
  label: string;
  data: (number | null | { x: number; y: number | null })[];
  /** Series index choosing colour, marker, dash and fill pattern (default: its position). */
  style?: number;
  axis?: "y" | "y2";
  stack?: string;
  pattern?: string;
  dash?: number[];
  marker?: string;
  noMarkers?: boolean;
  /** A line drawn in a bar chart (e.g. a target). */
  line?: boolean;
}

/** A chart as JSON: the same spec draws the HTML chart and the chart file. */
export interface ChartSpec {
  title: string;
  type: "line" | "bar";
  horizontal?: boolean;
  labels?: string[];
  x: AxisSpec;
  y: AxisSpec;
  y2?: AxisSpec;
  datasets: DatasetSpec[];
  /** A line under the title (chart files: device, kernel and date). */
  subtitle?: string;
  /** A horizontal reference line, e.g. 100 % on a relative chart. */
  reference?: { value: number; label: string; axis?: "y" | "y2" };
}

/** The look of a series style index: colour, marker, dash, hollow markers, bar fill pattern. */
export interface SeriesStyle {
  color: string;
  marker: string;
  dash: number[];
  hollow: boolean;
  pattern: string;
}

/** Where a chart is drawn: the browser, or a canvas of @napi-rs/canvas. */
export interface ChartEnv {
  responsive?: boolean;
  devicePixelRatio?: number;
  makeCanvas?: (w: number, h: number) => unknown;
}

/** Okabe–Ito colours, readable by colour-blind readers. */
export const PALETTE: string[];
/** Point markers: eight distinct shapes. */
export const MARKERS: string[];
/** Line dash patterns. */
export const DASHES: number[][];
/** The look of series style `s`: no two of the first 40 share colour, marker and dash. */
export function seriesStyle(s: number): SeriesStyle;
/** A log axis's ticks from `lo` to `hi`: which are labelled (every one when the axis spans under a decade). */
export function logTicks(lo: number, hi: number): { value: number; major: boolean; labelled: boolean }[];
/** Bar fill patterns, so stacked bars are told apart without colour. */
export const PATTERNS: string[];
/** The number formats by name. */
export const FORMATS: Record<Format, (v: number) => string>;
/** Nanoseconds in the fitting unit (ns, µs, ms, s). */
export function fmtNs(ns: number | null | undefined): string;
/** Three significant digits, no exponent, no trailing zeros. */
export function sig(v: number): string;
/** 12345 → "12.3 k". */
export function fmtCount(v: number | null | undefined): string;
/** 4096 → "4 KiB", 1536 → "1.5 KiB". */
export function fmtSize(n: number): string;
/** Bytes per second as MB/s (10^6 bytes, as perftest reports). */
export function fmtMBps(bps: number | null | undefined): string;
/** A fraction as a percentage. */
export function fmtRatio(r: number | null | undefined): string;
/** The Chart.js configuration of a chart spec. */
export function chartConfig(spec: ChartSpec, env: ChartEnv): unknown;
/** A Chart.js chart of a spec on a canvas. */
export function makeChart(Chart: unknown, canvas: unknown, spec: ChartSpec, env: ChartEnv): unknown;
/** The page's behaviour: charts, filters, expanders, sortable tables. */
export function initPage(doc: unknown, Chart: unknown): void;
