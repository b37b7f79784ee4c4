// The table printed on stdout at the end of a run.
import type { SuiteDoc } from "../../conformance/doc.ts";
import { bySeverity, severityOf } from "../../conformance/severity.ts";
import { detail, deviceLine, formatDuration, headline, SEVERITY_STYLE, severityWord } from "./summary.ts";

/** Colour on a terminal that takes it (NO_COLOR unset, stdout a TTY): off for files, pipes and tests. */
function useColor(): boolean {
  try {
    return !Deno.noColor && Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/**
 * A conformance document as the terminal table: the headline (severities and counts), one line per case, most
 * severe first (its severity as a word, coloured on a terminal), then the headline again.
 */
export function formatTable(doc: SuiteDoc, width = 180, color = useColor()): string {
  const idW = Math.max(4, ...doc.results.map((r) => r.id.length));
  const ruleW = Math.max(4, ...doc.results.map((r) => r.rule.length));
  const sevW = Math.max(8, ...doc.results.map((r) => severityWord(severityOf(r)).length));
  // The answer first (the severities and counts), the table after it; the same line closes the table, where a
  // terminal's last screen shows it.
  const summary = `${doc.results.length} cases: ${headline(doc.results, doc.counts)} in ${
    formatDuration(doc.run.wallMs)
  } on ${deviceLine(doc)}`;
  const lines = [
    summary,
    "",
    `${"case".padEnd(idW)}  ${"result".padEnd(11)}  ${"severity".padEnd(sevW)}  ${"level".padEnd(7)}  ${
      "rule".padEnd(ruleW)
    }  detail`,
  ];
  for (const r of bySeverity(doc.results)) {
    const s = severityOf(r);
    const before = `${r.id.padEnd(idW)}  ${r.class.padEnd(11)}  `;
    const word = severityWord(s);
    const after = `${" ".repeat(sevW - word.length)}  ${r.level.padEnd(7)}  ${r.rule.padEnd(ruleW)}  `;
    const room = width - before.length - sevW - after.length;
    const d = detail(r);
    // The colour goes on after the widths are measured: escapes take no room on screen.
    const shown = color && s ? `\x1b[${SEVERITY_STYLE[s].ansi}m${word}\x1b[0m` : word;
    lines.push(before + shown + after + (d.length > room ? d.slice(0, Math.max(20, room - 1)) + "…" : d));
  }
  lines.push("", summary);
  return lines.join("\n");
}
