// How the bench tables write their figures: µs, exposure, key lifetime and a group's header line (the end-of-run
// table, the answer on top of it and the HTML page share them).
import { fmtSize } from "../../common/mod.ts";
import { esc } from "../html/page.ts";

const PAGE = 4096;

/** Nanoseconds as µs: one decimal under 10 µs. */
export const us = (ns: number) => (ns / 1000).toFixed(ns < 10_000 ? 1 : 0);

const fmtS = (ns: number) => ns >= 1e9 ? `${(ns / 1e9).toFixed(1)} s` : `${(ns / 1e6).toFixed(0)} ms`;

/** "1.00×", "1024×", "all memory" (an implicit ODP MR: the whole address space). */
export function fmtExposure(r: number): string {
  if (r >= 2 ** 40) return "all memory";
  return r >= 100 ? `${Math.round(r)}×` : `${r.toFixed(2)}×`;
}

/** What a point records of how long its keys stayed valid after an I/O. */
export interface KeyLife {
  ends: string;
  n: number;
  meanNs: number;
  atTeardown: number;
}

/** How long an I/O's keys stayed valid after it completed, in words and figures. */
export function fmtKeyLife(k: KeyLife): string {
  if (k.ends === "send-inv") return "0 (SEND_WITH_INV)";
  if (k.ends === "revoke") return `${us(k.meanNs)} µs (revoked)`;
  if (k.ends === "teardown") return `until teardown (${fmtS(k.meanNs)})`;
  const share = k.n ? Math.round((k.atTeardown / k.n) * 100) : 0;
  return `until evicted (${fmtS(k.meanNs)}; ${share}% at teardown)`;
}

/** "write, 4k pages, depth 1" or "write, page list (64 MiB pool, random pages), depth 1" (+ working set). */
export function groupHeader(
  p: { op: string; pages: string; depth: number; layout?: string; reuse: string; buffers: number },
  withWorkingSet: boolean,
): string {
  const pages = p.layout === "pages";
  const what = pages
    ? `page list (${fmtSize(p.buffers * PAGE)} pool, ${p.reuse === "rotate" ? "sequential" : p.reuse} pages)`
    : `${p.pages} pages`;
  const ws = withWorkingSet && !pages ? `, ${p.buffers} buffers` : "";
  return `${p.op}, ${what}, depth ${p.depth}${ws}`;
}

/** Whether the document's matrix points come at more than one working set per layout (--working-set). */
export const severalSets = (ps: readonly { sweep?: boolean; layout?: string; buffers: number }[]) =>
  new Set(ps.filter((p) => !p.sweep).map((p) => `${p.layout}|${p.buffers}`)).size >
    new Set(ps.filter((p) => !p.sweep).map((p) => p.layout)).size;

/** A step that failed as a whole (its record's `reason`), as one line of text: "failed: ibv_reg_mr failed: …". */
export const failedText = (reason: { message: string }) =>
  `failed: ${reason.message.replace(/\s*\n\s*/g, " ")}`;

/** The HTML line of a step that failed as a whole; `measured`: figures from before the failure follow. */
export const failedHtml = (what: string, reason: { message: string }, measured: boolean) =>
  `<p class="bad">${what} ${esc(failedText(reason))}${
    measured ? " (the figures below were measured before it)" : ""
  }</p>`;
