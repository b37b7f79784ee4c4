// What every conformance renderer shares: the counts line, the severities (word, colour, headline), why a case
// is what it is, the device line.
import { CLASSES, type Classification, type KnownDeviation } from "../../conformance/model.ts";
import type { CaseResult } from "../../conformance/model.ts";
import {
  countSeverities,
  SEVERITIES,
  type Severity,
  SEVERITY_WORDS,
  severityLine,
  severityOf,
} from "../../conformance/severity.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import { pairLabel } from "../../record/pair.ts";

/** "12 pass, 2 known": the cases per class, the classes that occur only. */
export function countsLine(counts: Record<Classification, number>): string {
  return CLASSES.filter((c) => counts[c] > 0).map((c) => `${counts[c]} ${c}`).join(", ") || "no cases";
}

/**
 * How each severity looks beside its word: an ANSI SGR code for the terminal, a CSS colour for HTML, a coloured
 * mark for Markdown and JUnit (where text has no colour).
 */
export const SEVERITY_STYLE: Record<Severity, { ansi: string; css: string; mark: string }> = {
  "kernel-crash": { ansi: "1;97;41", css: "#7a0019", mark: "\u{1F7E3}" },
  security: { ansi: "1;31", css: "#c4001d", mark: "\u{1F534}" },
  "data-integrity": { ansi: "35", css: "#a0377c", mark: "\u{1F7E0}" },
  bug: { ansi: "33", css: "#8a5a00", mark: "\u{1F7E1}" },
  "status-only": { ansi: "36", css: "#2f6f8f", mark: "\u{1F535}" },
};

/** The colours of the severity badges (the page's stylesheet takes them). */
export const SEVERITY_CSS =
  SEVERITIES.map((s) =>
    `.sev-${s}{background:${SEVERITY_STYLE[s].css};color:#fff;border-color:${SEVERITY_STYLE[s].css}}`
  ).join("") +
  ".sev{display:inline-block;border-radius:10px;padding:0 8px;font-weight:600;white-space:nowrap}";

/** The severity's word ("kernel crash", "status-only"…), or "" for a result without one. */
export function severityWord(s: Severity | null): string {
  return s ? SEVERITY_WORDS[s].one : "";
}

/** The severity as a coloured mark and its word ("🔴 security"), for text without colour (Markdown, JUnit). */
export function severityMarked(s: Severity | null): string {
  return s ? `${SEVERITY_STYLE[s].mark} ${severityWord(s)}` : "";
}

/**
 * The headline: the severities most severe first, then the cases per class ("1 kernel crash, 4 security, 4 bugs;
 * 54 pass, 10 known, 10 unsupported"); the counts alone when nothing deviates.
 */
export function headline(results: readonly CaseResult[], counts: Record<Classification, number>): string {
  const sev = severityLine(countSeverities(results));
  return sev ? `${sev}; ${countsLine(counts)}` : countsLine(counts);
}

/** A deviation's reason without a leading verdict word ("security: …"): the renderers name it themselves. */
export function reasonOf(d: KnownDeviation): string {
  return d.reason.replace(/^\s*(acceptable|bug|security)\s*:\s*/i, "");
}

/**
 * A known deviation's reason, after the profile's verdict when it says more than the severity ("verdict bug: …"
 * beside a security finding); each word once.
 */
export function verdictReason(r: CaseResult): string {
  const d = r.deviation!;
  return d.verdict === severityOf(r) ? reasonOf(d) : `verdict ${d.verdict}: ${reasonOf(d)}`;
}

/** "4.2 s", or "3 min 5 s" from a minute on. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** One line saying why a case is what it is (for the table and the summary), its verdict named once. */
export function detail(r: CaseResult): string {
  switch (r.class) {
    case "fail":
      return r.mismatches?.join("; ") ?? "";
    case "known":
      return verdictReason(r);
    case "pass":
      return "";
    case "observed":
      return observedLine(r);
    default:
      return r.reason ?? "";
  }
}

/** The facts of an observe case other than its setup steps. */
export function observedLine(r: CaseResult): string {
  return Object.entries(r.observed).filter(([k]) => !k.startsWith("setup.")).map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** The device, its model and kernel (and the pair) a conformance run ran on. */
export function deviceLine(doc: SuiteDoc): string {
  const pair = doc.pair ? `, pair ${pairLabel(doc.pair)}` : "";
  return `${doc.device.name} (${doc.device.model}), kernel ${doc.host.kernel}${
    doc.host.testbed ? ", QEMU testbed" : ""
  }${pair}`;
}
