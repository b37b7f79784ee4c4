// A Markdown summary that fits a CI job summary: the headline and findings, what did not pass in full, known
// deviations, the counts, all cases.
import { CLASSES, CLEAN } from "../../conformance/model.ts";
import type { SuiteDoc } from "../../conformance/doc.ts";
import {
  detail,
  deviceLine,
  formatDuration,
  headline,
  observedLine,
  reasonOf,
  severityMarked,
} from "./summary.ts";
import { bySeverity, countSeverities, SEVERITIES, severityOf } from "../../conformance/severity.ts";
import { formatAccept } from "../../conformance/outcome.ts";

const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/**
 * A conformance document as Markdown, the answer first: the device, the headline and the findings per severity,
 * the cases not clean and the known deviations, most severe first (a coloured mark and a word), then the counts
 * per class and every case.
 */
export function formatMarkdown(doc: SuiteDoc): string {
  const out: string[] = [];
  out.push(`## memreg conformance: ${cell(deviceLine(doc))}`, "");
  out.push(
    `**${doc.results.length} cases**: ${headline(doc.results, doc.counts)} · ${
      formatDuration(doc.run.wallMs)
    } · exit ${doc.exitCode}` +
      (doc.interruptedBy ? ` · **interrupted by ${doc.interruptedBy}** (the cases that ran)` : "") +
      (doc.run.strict
        ? " · strict (profiles ignored)"
        : doc.run.profile
        ? ` · profile ${doc.run.profile.driver}`
        : ""),
  );
  const sev = countSeverities(doc.results);
  if (SEVERITIES.some((s) => sev[s])) {
    out.push("", "| severity | cases |", "|---|---|");
    for (const s of SEVERITIES) if (sev[s]) out.push(`| ${severityMarked(s)} | ${sev[s]} |`);
  }

  const sorted = bySeverity(doc.results);
  const bad = sorted.filter((r) => !CLEAN.includes(r.class));
  if (bad.length) {
    out.push(
      "",
      "### Not matching",
      "",
      "| case | severity | result | rule | expected | observed / why |",
      "|---|---|---|---|---|---|",
    );
    for (const r of bad) {
      const expected = r.expected.map((o) =>
        Object.entries(o).map(([k, a]) => `${k}: ${formatAccept(a)}`).join("; ")
      )
        .join(" **or** ");
      const why = r.class === "fail"
        ? `${r.mismatches?.join("; ")}; observed: ${observedLine(r)}`
        : r.reason ?? "";
      out.push(
        `| \`${r.id}\` | ${severityMarked(severityOf(r))} | ${r.class} | ${r.source} | ${cell(expected)} | ${
          cell(why)
        } |`,
      );
    }
  }
  const known = sorted.filter((r) => r.class === "known");
  if (known.length) {
    out.push(
      "",
      "### Known deviations (from the profile)",
      "",
      "| case | severity | verdict | reason |",
      "|---|---|---|---|",
    );
    for (const r of known) {
      out.push(
        `| \`${r.id}\` | ${severityMarked(severityOf(r))} | ${r.deviation!.verdict} | ${
          cell(reasonOf(r.deviation!))
        } |`,
      );
    }
  }
  // The counts per class after the findings: the answer leads.
  out.push("", "| result | cases |", "|---|---|");
  for (const c of CLASSES) if (doc.counts[c]) out.push(`| ${c} | ${doc.counts[c]} |`);
  out.push(
    "",
    "<details><summary>All cases</summary>",
    "",
    "| case | result | severity | level | rule | detail |",
    "|---|---|---|---|---|---|",
  );
  for (const r of sorted) {
    out.push(
      `| \`${r.id}\` | ${r.class} | ${severityMarked(severityOf(r))} | ${r.level} | ${r.source} | ${
        cell(detail(r))
      } |`,
    );
  }
  out.push("", "</details>", "");
  return out.join("\n");
}
