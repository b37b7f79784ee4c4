// The table printed on stdout at the end of a run.
import type { SuiteDoc } from "../../conformance/doc.ts";
import { countsLine, detail, deviceLine, formatDuration } from "./summary.ts";

/** A conformance document as the terminal table: one line per case, then the counts. */
export function formatTable(doc: SuiteDoc, width = 180): string {
  const idW = Math.max(4, ...doc.results.map((r) => r.id.length));
  const ruleW = Math.max(4, ...doc.results.map((r) => r.rule.length));
  const lines = [
    `${"case".padEnd(idW)}  ${"result".padEnd(11)}  ${"level".padEnd(7)}  ${"rule".padEnd(ruleW)}  detail`,
  ];
  for (const r of doc.results) {
    const head = `${r.id.padEnd(idW)}  ${r.class.padEnd(11)}  ${r.level.padEnd(7)}  ${
      r.rule.padEnd(ruleW)
    }  `;
    const d = detail(r);
    lines.push(
      head + (head.length + d.length > width ? d.slice(0, Math.max(20, width - head.length - 1)) + "…" : d),
    );
  }
  lines.push("");
  lines.push(
    `${doc.results.length} cases: ${countsLine(doc.counts)} in ${formatDuration(doc.run.wallMs)} on ${
      deviceLine(doc)
    }`,
  );
  return lines.join("\n");
}
