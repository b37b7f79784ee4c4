// A figure is a chart spec and the table of the numbers behind it: HTML shows both side by side, the chart
// files (--png/--svg) draw the spec. One definition, so the HTML charts and the chart files look the same.
import type { ChartSpec } from "./html/runtime.js";

/** A cell of a figure's table: its text, and the raw value behind it. */
export interface Cell {
  text: string;
  /** Raw value (data-v in HTML: sorting, and the browser test compares it with the JSON). */
  v?: number | string | null;
  cls?: string;
  /** Columns the cell spans (a strategy that did not run at any size: one cell saying why). */
  span?: number;
}

/** A chart and the table of the numbers behind it. */
export interface Figure {
  /** File-name friendly and unique within a run, e.g. `rate-write-4k-qd1`. */
  id: string;
  spec: ChartSpec;
  head: string[];
  rows: Cell[][];
  note?: string;
  tall?: boolean;
}

/** A titled part of a report: its figures, after an optional introduction. */
export interface Section {
  id: string;
  title: string;
  /** HTML before the figures (explanations, tables without a chart). */
  intro?: string;
  figures: Figure[];
  /** Shown without figures too: its intro says that its step failed. */
  keep?: boolean;
  /** Small multiples: many figures of one kind in a grid. */
  grid?: boolean;
}

/** A table cell from its text, raw value and CSS class. */
export const cell = (text: string, v?: number | string | null, cls?: string): Cell => ({ text, v, cls });

/** "rate-write-4k-qd1": parts joined into a lower-case, file-name friendly id. */
export function slug(...parts: (string | number)[]): string {
  return parts.map(String).join("-").toLowerCase().replace(/[^a-z0-9.]+/g, "-").replace(/^-|-$/g, "");
}
