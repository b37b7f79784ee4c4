// Types of runtime.js (plain JavaScript because it is inlined into every page as is).

export type Format = "ns" | "count" | "size" | "mbps" | "ratio" | "times" | "plain";

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

export interface ChartSpec {
  title: string;
  type: "line" | "bar";
  horizontal?: boolean;
  labels?: string[];
  x: AxisSpec;
  y: AxisSpec;
  y2?: AxisSpec;
  datasets: DatasetSpec[];
}

export interface ChartEnv {
  responsive?: boolean;
  devicePixelRatio?: number;
  makeCanvas?: (w: number, h: number) => unknown;
}

export const PALETTE: string[];
export const MARKERS: string[];
export const DASHES: number[][];
export const PATTERNS: string[];
export const FORMATS: Record<Format, (v: number) => string>;
export function fmtNs(ns: number | null | undefined): string;
export function sig(v: number): string;
export function fmtCount(v: number | null | undefined): string;
export function fmtSize(n: number): string;
export function fmtMBps(bps: number | null | undefined): string;
export function fmtRatio(r: number | null | undefined): string;
export function chartConfig(spec: ChartSpec, env: ChartEnv): unknown;
export function makeChart(Chart: unknown, canvas: unknown, spec: ChartSpec, env: ChartEnv): unknown;
export function initPage(doc: unknown, Chart: unknown): void;
